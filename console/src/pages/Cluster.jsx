import { api } from '../api.js';
import { ErrorBox, Loading, Stat, Updated } from '../components.jsx';
import { fmtNumber, fmtRate } from '../format.js';
import { usePoll } from '../hooks.js';

// One colour per member, in the order of the view (sorted by id).
const COLORS = ['#2563eb', '#059669', '#d97706', '#7c3aed', '#dc2626', '#0891b2', '#db2777', '#65a30d'];
const color = (i) => COLORS[i % COLORS.length];

// A key-group range [first, end) as "first-last"; a member's ranges joined by spaces.
const fmtRange = ([first, end]) => `${first}-${end - 1}`;
const fmtRanges = (ranges) => (ranges.length > 0 ? ranges.map(fmtRange).join(' ') : 'none');

// The key groups 0..max-1 as one bar, each range in its member's colour.
function KeyGroupBar({ members, max }) {
  const pct = (n) => `${(100 * n) / max}%`;
  const label = `Key groups 0 to ${max - 1}: ${members.map((m) => `${m.id} ${fmtRanges(m.key_groups)}`).join('; ')}`;
  return (
    <>
      <div class="kg-bar" role="img" aria-label={label}>
        {members.flatMap((m, i) => m.key_groups.map((r) => (
          <span
            key={`${m.id} ${r[0]}`}
            style={{ left: pct(r[0]), width: pct(r[1] - r[0]), background: color(i) }}
            title={`${m.id}: ${fmtRange(r)}`}
          >
            {m.id}
          </span>
        )))}
      </div>
      <div class="kg-scale" aria-hidden="true"><span>0</span><span>{max - 1}</span></div>
    </>
  );
}

// The view of the cluster this node holds (GET /cluster): every member with
// its key groups; invocations per second only for this node, whose /status
// the header polls (`history`).
export function Cluster({ history }) {
  const { data, error, updated } = usePoll(api.cluster, 2000);
  const rate = (history[history.length - 1] || {}).invRate;
  return (
    <>
      <h1>Cluster</h1>
      <ErrorBox error={error} what="Cluster" />
      {!data ? (!error && <Loading />) : (
        <>
          {data.problem ? <p class="error" role="alert">Problem: {data.problem}</p> : null}
          {data.member ? null : <p class="notice">This node ({data.node}, incarnation {data.incarnation}) is not a member of the view it holds.</p>}
          <dl class="stats">
            <Stat label="This node" value={data.node} hint={`incarnation ${data.incarnation}`} />
            <Stat label="Epoch" value={fmtNumber(data.epoch)} />
            <Stat label="Coordinator" value={data.coordinator} />
            {data.running_epoch === null
              ? <Stat label="Running epoch" value="–" hint="known on the coordinator" />
              : <Stat label="Running epoch" value={data.running_epoch ? fmtNumber(data.running_epoch) : 'none'} />}
            <Stat label="Members" value={fmtNumber(data.members.length)} />
            <Stat label="Key groups" value={fmtNumber(data.max_key_groups)} />
            <Stat label="Invocations/s (this node)" value={fmtRate(rate)} />
          </dl>
          <section aria-labelledby="placement-h">
            <h2 id="placement-h">Key groups</h2>
            <KeyGroupBar members={data.members} max={data.max_key_groups} />
          </section>
          <section aria-labelledby="members-h">
            <h2 id="members-h">Members</h2>
            <p class="muted">
              Sorted by id. Invocations per second are known here for this node only; each node's own console shows its own.{' '}
              <Updated at={updated} />
            </p>
            <table class="members">
              <thead>
                <tr>
                  <th scope="col">Node</th>
                  <th scope="col" class="num">Incarnation</th>
                  <th scope="col">Address</th>
                  <th scope="col">State</th>
                  <th scope="col" class="num">Partitions</th>
                  <th scope="col">Key groups</th>
                  <th scope="col" class="num">Invocations/s</th>
                </tr>
              </thead>
              <tbody>
                {data.members.map((m, i) => {
                  const self = m.id === data.node;
                  return (
                    <tr key={m.id} data-node={m.id} class={self ? 'self' : undefined}>
                      <th scope="row">
                        <span class="swatch" style={{ background: color(i) }} aria-hidden="true" />
                        {m.id}
                        {m.coordinator ? <span class="tag">coordinator</span> : null}
                        {self ? <span class="tag">this node</span> : null}
                      </th>
                      <td class="num">{fmtNumber(m.incarnation)}</td>
                      <td><code>{m.address}</code></td>
                      <td>{m.state}</td>
                      <td class="num">{fmtNumber(m.partitions)}</td>
                      <td class="key-groups">{fmtRanges(m.key_groups)}</td>
                      <td class="num">{self ? fmtRate(rate) : <span class="muted">–</span>}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </section>
        </>
      )}
    </>
  );
}
