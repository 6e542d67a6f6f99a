import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Empty, ErrorBox, Loading, Time, Updated, Value } from '../components.jsx';
import { fmtAddress, fmtNumber } from '../format.js';
import { routes, usePoll } from '../hooks.js';
import { decodeValue } from '../values.js';

function Messages({ messages }) {
  if (!messages || messages.length === 0) return <span class="muted">none</span>;
  return (
    <ul class="messages">
      {messages.map((m, i) => (
        <li key={i}>
          <code>{m.typename}</code> <Value v={decodeValue(m.typename, m.value_base64)} />
          {m.caller ? <span class="muted"> from {typeof m.caller === 'object' ? fmtAddress(m.caller) : String(m.caller)}</span> : null}
        </li>
      ))}
    </ul>
  );
}

export function DeadLetters() {
  const { data, error, updated, reload } = usePoll(api.deadLetters, 3000);
  const [busy, setBusy] = useState(null);
  const [notice, setNotice] = useState(null);

  const act = async (d, what) => {
    if (what === 'drop' && !window.confirm(`Drop dead letter ${d.id} for ${fmtAddress(d.address)}? Its messages are lost.`)) return;
    setBusy(d.id);
    try {
      if (what === 'replay') {
        const r = await api.replayDeadLetter(d.id);
        setNotice({ ok: true, text: `Replayed ${fmtNumber(r.json.replayed)} message(s) of ${d.id} to ${fmtAddress(d.address)}.` });
      } else {
        await api.dropDeadLetter(d.id);
        setNotice({ ok: true, text: `Dropped dead letter ${d.id}.` });
      }
    } catch (e) {
      setNotice({ ok: false, text: `Could not ${what} ${d.id}: ${e.message}` });
    } finally {
      setBusy(null);
      reload();
    }
  };

  const list = data ? data.dead_letters : [];
  return (
    <>
      <h1>Dead letters</h1>
      <p class="muted">
        Batches whose function call kept failing past its budget. Replay re-delivers the messages to their address; drop deletes them.
      </p>
      <div role="status" aria-live="polite">
        {notice ? <p class={notice.ok ? 'ok' : 'error'}>{notice.text}</p> : null}
      </div>
      <ErrorBox error={error} what="Dead letters" />
      {!data ? (!error && <Loading />) : (
        <>
          <p>
            {list.length === 0 ? '' : `${fmtNumber(list.length)} dead letter${list.length === 1 ? '' : 's'}, oldest first. `}
            <Updated at={updated} />
          </p>
          {list.length === 0 ? <Empty>No dead letters.</Empty> : (
            <table class="dead-letters">
              <thead>
                <tr>
                  <th scope="col">Id</th>
                  <th scope="col">When</th>
                  <th scope="col">Address</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Messages</th>
                  <th scope="col"><span class="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {list.map((d) => (
                  <tr key={d.id}>
                    <td class="id"><code>{d.id}</code></td>
                    <td><Time ms={d.time_ms} /></td>
                    <td>{d.address ? <a href={routes.actor(d.address)}>{fmtAddress(d.address)}</a> : '–'}</td>
                    <td class="reason">{d.reason}</td>
                    <td><Messages messages={d.messages} /></td>
                    <td class="actions">
                      <button type="button" onClick={() => act(d, 'replay')} disabled={busy === d.id} aria-label={`Replay ${d.id}`}>Replay</button>
                      <button type="button" class="danger" onClick={() => act(d, 'drop')} disabled={busy === d.id} aria-label={`Drop ${d.id}`}>Drop</button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </>
  );
}
