import { Chart } from '../Chart.jsx';
import { ErrorBox, Loading, Stat, Time } from '../components.jsx';
import { fmtBytes, fmtDuration, fmtMs, fmtNumber, fmtRate } from '../format.js';
import { HISTORY_SECONDS, column } from '../history.js';
import { routes } from '../hooks.js';

const BLUE = '#2563eb';
const GREEN = '#059669';
const ORANGE = '#d97706';
const RED = '#dc2626';
const PURPLE = '#7c3aed';

const ms = (v) => fmtMs(v);
const WINDOW = HISTORY_SECONDS;
const perSecond = (v) => `${fmtRate(v)}/s`;

function Charts({ history }) {
  const t = column(history, 't');
  const last = history[history.length - 1] || {};
  return (
    <div class="charts">
      <Chart
        title="Invocations per second"
        series={[{ label: 'invocations/s', color: BLUE, fill: 'rgba(37,99,235,0.08)', format: fmtRate }]}
        data={[t, column(history, 'invRate')]}
        summary={perSecond(last.invRate)}
        windowSeconds={WINDOW}
      />
      <Chart
        title="Latency of recent function calls"
        series={[
          { label: 'p50', color: GREEN, format: ms },
          { label: 'p99', color: ORANGE, format: ms },
        ]}
        data={[t, column(history, 'p50'), column(history, 'p99')]}
        summary={`p50 ${ms(last.p50)}, p99 ${ms(last.p99)}`}
        yFormat={ms}
        windowSeconds={WINDOW}
      />
      <Chart
        title="Pending invocations (in flight and queued)"
        series={[{ label: 'pending', color: PURPLE, fill: 'rgba(124,58,237,0.08)', format: fmtNumber }]}
        data={[t, column(history, 'pending')]}
        summary={fmtNumber(last.pending)}
        windowSeconds={WINDOW}
      />
      <Chart
        title="Failures and dead letters per second"
        series={[
          { label: 'failures/s', color: ORANGE, format: fmtRate },
          { label: 'dead letters/s', color: RED, format: fmtRate },
        ]}
        data={[t, column(history, 'failRate'), column(history, 'deadRate')]}
        summary={`failures ${perSecond(last.failRate)}, dead letters ${perSecond(last.deadRate)}`}
        windowSeconds={WINDOW}
      />
    </div>
  );
}

function Partitions({ partitions }) {
  return (
    <table>
      <caption class="sr-only">Partitions</caption>
      <thead>
        <tr>
          <th scope="col">Partition</th>
          <th scope="col">Key groups</th>
          <th scope="col" class="num">Live addresses</th>
          <th scope="col" class="num">Pending</th>
          <th scope="col" class="num">Invocations</th>
          <th scope="col" class="num">Dead letters</th>
        </tr>
      </thead>
      <tbody>
        {partitions.map((p) => (
          <tr key={p.partition}>
            <td>{p.partition}</td>
            <td>{p.key_groups ? `${p.key_groups[0]}–${p.key_groups[1] - 1}` : '–'}</td>
            <td class="num">{fmtNumber(p.live_addresses)}</td>
            <td class="num">{fmtNumber(p.pending_invocations)}</td>
            <td class="num">{fmtNumber(p.invocations_completed)}</td>
            <td class="num">{fmtNumber(p.dead_letters_written)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function LastCheckpoint({ checkpoint, error, restored }) {
  return (
    <>
      {error ? (
        <p class="bad" role="alert">The last checkpoint is not known: {error}</p>
      ) : checkpoint ? (
        <dl class="stats">
          <Stat label="Checkpoint" value={`#${checkpoint.id}`} />
          <Stat label="Completed" value={<Time ms={checkpoint.time_ms} />} />
          <Stat label="Duration" value={fmtMs(checkpoint.duration_ms)} />
          <Stat label="Size" value={fmtBytes(checkpoint.bytes)} />
          <Stat label="Messages in it" value={fmtNumber(checkpoint.messages)} />
          <Stat label="Ingress position" value={fmtNumber(checkpoint.ingress_position)} />
        </dl>
      ) : (
        <p class="muted">No checkpoint has completed since the node started.</p>
      )}
      <p class="muted">
        {restored ? `The node started from checkpoint #${restored}. ` : 'The node started without a checkpoint to restore. '}
        <a href={routes.checkpoints()}>All checkpoints</a>
      </p>
    </>
  );
}

export function Overview({ status, history }) {
  const s = status.data;
  const c = (s && s.counters) || {};
  const lat = (s && s.latency_ms) || {};
  const last = history[history.length - 1] || {};
  return (
    <>
      <h1>Overview</h1>
      <ErrorBox error={status.error} what="Status" />
      {!s ? <Loading /> : (
        <>
          <dl class="stats">
            <Stat label="Invocations/s" value={fmtRate(last.invRate)} />
            <Stat label={`Latency p50${lat.count !== undefined ? ` (last ${fmtNumber(lat.count)} calls)` : ''}`} value={fmtMs(lat.p50)} />
            <Stat label="Latency p95" value={fmtMs(lat.p95)} />
            <Stat label="Latency p99" value={fmtMs(lat.p99)} />
            <Stat label="Pending invocations" value={fmtNumber(c.pending_invocations)} />
            <Stat label="Live addresses" value={fmtNumber(c.live_addresses)} />
            <Stat label="Invocations" value={fmtNumber(c.invocations_completed)} />
            <Stat label="Failed calls" value={fmtNumber(c.invocation_failures)} />
            <Stat label="Dead letters written" value={<a href={routes.deadLetters()}>{fmtNumber(c.dead_letters_written)}</a>} />
            <Stat label="Uptime" value={fmtDuration(s.uptime_ms)} />
          </dl>
          <Charts history={history} />
          <section aria-labelledby="partitions-h">
            <h2 id="partitions-h">Partitions</h2>
            <p class="muted">{fmtNumber((s.partitions || []).length)} partitions over {fmtNumber(s.max_key_groups)} key groups.</p>
            <Partitions partitions={s.partitions || []} />
          </section>
          <section aria-labelledby="checkpoint-h">
            <h2 id="checkpoint-h">Last checkpoint</h2>
            <LastCheckpoint checkpoint={s.last_checkpoint} error={s.last_checkpoint_error} restored={s.restored_checkpoint} />
          </section>
          {s.ports ? (
            <section aria-labelledby="ports-h">
              <h2 id="ports-h">Ports</h2>
              <dl class="stats">
                {Object.entries(s.ports).map(([k, v]) => <Stat key={k} label={k} value={v || '–'} />)}
              </dl>
            </section>
          ) : null}
        </>
      )}
    </>
  );
}
