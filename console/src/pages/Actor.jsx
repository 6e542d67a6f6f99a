import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Empty, ErrorBox, Loading, Time, Updated, Value } from '../components.jsx';
import { fmtAddress, fmtMs, fmtNumber, fmtTime } from '../format.js';
import { routes, usePoll } from '../hooks.js';
import { STRING_TYPE, encodeMessage } from '../values.js';

function States({ states, specs }) {
  const names = Object.keys(states || {}).sort();
  if (names.length === 0) {
    return <Empty>No state value is set{specs && specs.length ? ` (${specs.length} declared)` : ''}.</Empty>;
  }
  return (
    <table class="states">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Value</th>
          <th scope="col">Type</th>
          <th scope="col">Written</th>
          <th scope="col">Read</th>
        </tr>
      </thead>
      <tbody>
        {names.map((name) => {
          const s = states[name];
          return (
            <tr key={name} data-state={name}>
              <th scope="row">{name}</th>
              <td class="state-value"><Value v={s} /></td>
              <td><code>{s.typename}</code></td>
              <td><Time ms={s.written_ms} /></td>
              <td><Time ms={s.accessed_ms} /></td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function expiry(spec) {
  if (!spec.expire || spec.expire === 'none' || !spec.expire_after_ms) return 'never';
  const mode = spec.expire.replace(/_/g, ' ').replace(/-/g, ' ');
  return `${fmtMs(spec.expire_after_ms)} (${mode})`;
}

function Specs({ specs }) {
  if (!specs || specs.length === 0) return <Empty>No state is declared for this type yet.</Empty>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Type</th>
          <th scope="col">Expires</th>
        </tr>
      </thead>
      <tbody>
        {specs.map((s) => (
          <tr key={s.name}>
            <th scope="row">{s.name}</th>
            <td><code>{s.typename}</code></td>
            <td>{expiry(s)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Caller({ caller }) {
  if (!caller) return <span class="muted">ingress</span>;
  if (typeof caller === 'string') return <code>{caller}</code>;
  return <a href={routes.actor(caller)}>{fmtAddress(caller)}</a>;
}

function Pending({ messages }) {
  if (!messages || messages.length === 0) return <Empty>No message is waiting.</Empty>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col" class="num">#</th>
          <th scope="col">Type</th>
          <th scope="col">Value</th>
          <th scope="col">From</th>
        </tr>
      </thead>
      <tbody>
        {messages.map((m, i) => (
          <tr key={i}>
            <td class="num">{i + 1}</td>
            <td><code>{m.typename}</code></td>
            <td><Value v={m} /></td>
            <td><Caller caller={m.caller} /></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Delayed({ messages }) {
  if (!messages || messages.length === 0) return <Empty>No delayed message is due.</Empty>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Due</th>
          <th scope="col">To</th>
          <th scope="col">Type</th>
          <th scope="col">Value</th>
          <th scope="col">Cancellation token</th>
        </tr>
      </thead>
      <tbody>
        {messages.map((m, i) => (
          <tr key={`${m.due_ms}-${i}`}>
            <td><time title={fmtTime(m.due_ms)}>{fmtTime(m.due_ms)}</time> (<Time ms={m.due_ms} />)</td>
            <td>{m.target && typeof m.target === 'object' ? <a href={routes.actor(m.target)}>{fmtAddress(m.target)}</a> : <code>{String(m.target || '–')}</code>}</td>
            <td><code>{m.typename || '–'}</code></td>
            <td><Value v={m} /></td>
            <td>{m.cancellation_token ? <code>{m.cancellation_token}</code> : <span class="muted">none</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Effects({ e }) {
  const changed = e.states_changed || [];
  return (
    <>
      {changed.length > 0 ? `states changed: ${changed.join(', ')}` : 'no state changed'}
      {`; messages sent: ${fmtNumber(e.messages_sent)}; delayed: ${fmtNumber(e.delayed)}; egress records: ${fmtNumber(e.egress_records)}`}
    </>
  );
}

function Invocations({ list }) {
  if (!list || list.length === 0) return <Empty>No recent invocation recorded.</Empty>;
  const newestFirst = [...list].reverse();
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col" class="num">Messages</th>
          <th scope="col">Result</th>
          <th scope="col">Effects</th>
        </tr>
      </thead>
      <tbody>
        {newestFirst.map((r, i) => (
          <tr key={`${r.time_ms}-${i}`} class={r.failed ? 'failed' : undefined}>
            <td><time title={fmtTime(r.time_ms)}>{fmtTime(r.time_ms)}</time></td>
            <td class="num">{fmtNumber(r.invocations)}</td>
            <td>{r.failed ? <span class="bad">failed{r.failure ? `: ${r.failure}` : ''}</span> : 'ok'}</td>
            <td><Effects e={r} /></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SendForm({ address, onSent }) {
  const [typename, setTypename] = useState(STRING_TYPE);
  const [body, setBody] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);

  const submit = async (e) => {
    e.preventDefault();
    let message;
    try {
      message = encodeMessage(typename, body);
    } catch (err) {
      setResult({ error: `the value is not a valid ${typename.trim()}: ${err.message}.` });
      return;
    }
    setBusy(true);
    setResult({ sending: true });
    try {
      const r = await api.send(address, message);
      setResult({ answer: r.json, status: r.status });
    } catch (err) {
      setResult({ error: err.message });
    } finally {
      setBusy(false);
      onSent();
    }
  };

  const a = result && result.answer;
  return (
    <form class="send" onSubmit={submit} aria-labelledby="send-h">
      <div class="field">
        <label for="send-type">Type name</label>
        <input
          id="send-type"
          name="typename"
          value={typename}
          onInput={(e) => setTypename(e.currentTarget.value)}
          aria-describedby="send-type-hint"
          autocomplete="off"
          spellcheck={false}
          required
        />
        <span id="send-type-hint" class="hint">
          Strings are sent as text; int, long, float, double and bool values are encoded as the SDKs do; other types send the text as is (JSON, for example).
        </span>
      </div>
      <div class="field">
        <label for="send-body">Message</label>
        <textarea id="send-body" name="body" rows="4" value={body} onInput={(e) => setBody(e.currentTarget.value)} spellcheck={false} />
      </div>
      <div class="field buttons">
        <button type="submit" disabled={busy}>{busy ? 'Sending…' : 'Send and wait for effects'}</button>
      </div>
      <div class="send-result" role="status" aria-live="polite">
        {!result ? null : result.sending ? <p class="muted">Sending…</p> : result.error ? (
          <p class="error">Not sent: {result.error}</p>
        ) : a.applied && typeof a.applied === 'object' ? (
          <p class={a.applied.failed ? 'error' : 'ok'}>
            {a.status === 'duplicate' ? 'Duplicate (already accepted)' : 'Accepted'} at offset {fmtNumber(a.offset)}.{' '}
            {a.applied.failed ? 'The invocation failed. ' : 'Applied: '}
            <Effects e={a.applied} />.
          </p>
        ) : (
          <p class="ok">
            Accepted at offset {fmtNumber(a.offset)}; not applied yet{a.reason ? ` (${a.reason})` : ''}.
          </p>
        )}
      </div>
    </form>
  );
}

export function Actor({ address }) {
  const key = fmtAddress(address);
  const [auto, setAuto] = useState(true);
  const { data, error, updated, reload } = usePoll(() => api.actor(address), auto ? 1000 : 0, key);
  const notFound = error && error.status === 404;

  return (
    <>
      <p class="crumbs">
        <a href={routes.actors()}>Actors</a> ›{' '}
        <a href={routes.actors({ type: `${address.namespace}/${address.type}` })}>{address.namespace}/{address.type}</a>
      </p>
      <h1 class="address">{key}</h1>
      <div class="toolbar">
        <label class="check">
          <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.currentTarget.checked)} />
          Refresh every second
        </label>
        <button type="button" onClick={reload}>Refresh now</button>
        <Updated at={updated} />
      </div>
      {notFound ? (
        <p class="notice" role="status">
          No such address yet: it has no actor, no state and no delayed message. Sending it a message creates it.
        </p>
      ) : <ErrorBox error={error} what="Address" />}
      {!data && !error ? <Loading /> : null}
      {data ? (
        <dl class="stats">
          <div class="stat"><dt>Actor</dt><dd>{data.live ? 'live' : 'passivated'}</dd></div>
          <div class="stat"><dt>Now</dt><dd>{data.busy ? 'busy' : 'idle'}</dd></div>
          <div class="stat"><dt>Pending</dt><dd>{fmtNumber(data.pending)}</dd></div>
          <div class="stat"><dt>Invocations</dt><dd>{fmtNumber(data.invocations)}</dd></div>
          <div class="stat"><dt>Failures</dt><dd class={data.failures ? 'bad' : undefined}>{fmtNumber(data.failures)}</dd></div>
          <div class="stat"><dt>Last invocation</dt><dd><Time ms={data.last_invocation_ms} /></dd></div>
        </dl>
      ) : null}
      <div class="columns">
        <section aria-labelledby="state-h">
          <h2 id="state-h">State</h2>
          {data ? <States states={data.states} specs={data.specs} /> : null}
        </section>
        <section aria-labelledby="send-h">
          <h2 id="send-h">Send a message</h2>
          <SendForm key={key} address={address} onSent={reload} />
        </section>
      </div>
      {data ? (
        <>
          <section aria-labelledby="pending-h">
            <h2 id="pending-h">Pending messages ({fmtNumber((data.pending_messages || []).length)})</h2>
            <Pending messages={data.pending_messages} />
          </section>
          <section aria-labelledby="delayed-h">
            <h2 id="delayed-h">Delayed messages ({fmtNumber((data.delayed_messages || []).length)})</h2>
            <Delayed messages={data.delayed_messages} />
          </section>
          <section aria-labelledby="recent-h">
            <h2 id="recent-h">Recent invocations</h2>
            <Invocations list={data.recent_invocations} />
          </section>
          <section aria-labelledby="specs-h">
            <h2 id="specs-h">Declared state</h2>
            <Specs specs={data.specs} />
          </section>
        </>
      ) : null}
    </>
  );
}
