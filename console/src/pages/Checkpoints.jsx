import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Chart } from '../Chart.jsx';
import { Empty, ErrorBox, Loading, Time, Updated } from '../components.jsx';
import { fmtBytes, fmtMs, fmtNumber, fmtTime } from '../format.js';
import { usePoll } from '../hooks.js';

const SHORT_LIST = 20;

export function Checkpoints() {
  const { data, error, updated, reload } = usePoll(api.checkpoints, 2000);
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState(null);
  const [showAll, setShowAll] = useState(false);

  const now = async () => {
    setRunning(true);
    setResult(null);
    try {
      const r = await api.checkpointNow();
      setResult({ ok: true, c: r.json });
    } catch (e) {
      setResult({ ok: false, text: e.message });
    } finally {
      setRunning(false);
      reload();
    }
  };

  const list = data ? data.checkpoints : [];
  const newestFirst = [...list].reverse();
  const shown = showAll ? newestFirst : newestFirst.slice(0, SHORT_LIST);
  const t = list.map((c) => c.time_ms / 1000);
  const last = list[list.length - 1];
  return (
    <>
      <h1>Checkpoints</h1>
      <div class="toolbar">
        <button type="button" onClick={now} disabled={running}>{running ? 'Checkpointing…' : 'Checkpoint now'}</button>
        <Updated at={updated} />
      </div>
      <div role="status" aria-live="polite">
        {result ? (
          result.ok ? (
            <p class="ok">
              Checkpoint #{result.c.id} completed at {fmtTime(result.c.time_ms)} in {fmtMs(result.c.duration_ms)}: {fmtBytes(result.c.bytes)}, {fmtNumber(result.c.messages)} messages.
            </p>
          ) : <p class="error">Checkpoint failed: {result.text}</p>
        ) : null}
      </div>
      <ErrorBox error={error} what="Checkpoints" />
      {!data ? (!error && <Loading />) : list.length === 0 ? <Empty>No checkpoint has completed since the node started.</Empty> : (
        <>
          <div class="charts">
            <Chart
              title="Checkpoint duration"
              series={[{ label: 'duration', color: '#2563eb', format: (v) => fmtMs(v) }]}
              data={[t, list.map((c) => c.duration_ms)]}
              summary={last ? `last ${fmtMs(last.duration_ms)}` : 'none'}
              yFormat={fmtMs}
              bars
            />
            <Chart
              title="Checkpoint size"
              series={[{ label: 'size', color: '#059669', format: (v) => fmtBytes(v) }]}
              data={[t, list.map((c) => c.bytes)]}
              summary={last ? `last ${fmtBytes(last.bytes)}` : 'none'}
              yFormat={fmtBytes}
              bars
            />
          </div>
          <h2>Recent checkpoints</h2>
          <p class="muted">
            {shown.length < list.length
              ? `The ${fmtNumber(shown.length)} newest of the ${fmtNumber(list.length)} kept since the node started. `
              : `The ${fmtNumber(list.length)} most recent since the node started, newest first. `}
            {list.length > SHORT_LIST ? (
              <button type="button" onClick={() => setShowAll(!showAll)} aria-expanded={showAll ? 'true' : 'false'}>
                {showAll ? `Show the ${SHORT_LIST} newest` : `Show all ${fmtNumber(list.length)}`}
              </button>
            ) : null}
          </p>
          <table class="checkpoints">
            <thead>
              <tr>
                <th scope="col" class="num">Id</th>
                <th scope="col">Completed</th>
                <th scope="col" class="num">Duration</th>
                <th scope="col" class="num">Size</th>
                <th scope="col" class="num">Full parts</th>
                <th scope="col" class="num">Messages</th>
                <th scope="col" class="num">Ingress position</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((c) => (
                <tr key={c.id}>
                  <td class="num">{c.id}</td>
                  <td>{fmtTime(c.time_ms)} <span class="muted">(<Time ms={c.time_ms} />)</span></td>
                  <td class="num">{fmtMs(c.duration_ms)}</td>
                  <td class="num">{fmtBytes(c.bytes)}</td>
                  <td class="num">{fmtNumber(c.full_parts)}</td>
                  <td class="num">{fmtNumber(c.messages)}</td>
                  <td class="num">{fmtNumber(c.ingress_position)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}
