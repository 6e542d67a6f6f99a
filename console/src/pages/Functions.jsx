import { api } from '../api.js';
import { Empty, ErrorBox, Loading } from '../components.jsx';
import { fmtMs, fmtNumber } from '../format.js';
import { routes, usePoll } from '../hooks.js';

export function Functions() {
  const { data, error } = usePoll(api.functions, 10000);
  return (
    <>
      <h1>Functions</h1>
      <ErrorBox error={error} what="Functions" />
      {!data ? (!error && <Loading />) : (
        <>
          <section aria-labelledby="endpoints-h">
            <h2 id="endpoints-h">Endpoints</h2>
            {data.endpoints.length === 0 ? <Empty>The module declares no endpoint.</Empty> : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Functions</th>
                    <th scope="col">URL template</th>
                    <th scope="col" class="num">Max batch</th>
                    <th scope="col" class="num">Call timeout</th>
                    <th scope="col" class="num">Connect timeout</th>
                  </tr>
                </thead>
                <tbody>
                  {data.endpoints.map((e) => (
                    <tr key={`${e.functions} ${e.url_template}`}>
                      <td><code>{e.functions}</code></td>
                      <td><code>{e.url_template}</code></td>
                      <td class="num">{fmtNumber(e.max_num_batch_requests)}</td>
                      <td class="num">{fmtMs(e.call_ms)}</td>
                      <td class="num">{fmtMs(e.connect_ms)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section aria-labelledby="types-h">
            <h2 id="types-h">Function types</h2>
            <p class="muted">Function types with registered state.</p>
            {data.types.length === 0 ? <Empty>No function has been called yet.</Empty> : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Type</th>
                    <th scope="col">Endpoint</th>
                    <th scope="col"><span class="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  {data.types.map((t) => (
                    <tr key={t.type}>
                      <td><code>{t.type}</code></td>
                      <td><code>{t.endpoint}</code></td>
                      <td><a href={routes.actors({ type: t.type })}>Actors of {t.type}</a></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </>
  );
}
