import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Empty, ErrorBox, Loading, Time, Updated } from '../components.jsx';
import { fmtAddress, fmtNumber } from '../format.js';
import { routes, usePoll } from '../hooks.js';

const PAGE_SIZES = [20, 50, 100, 200];
const DEFAULT_LIMIT = 50;

function readQuery(query) {
  const limit = Number(query.get('limit')) || DEFAULT_LIMIT;
  return {
    type: query.get('type') || '',
    prefix: query.get('prefix') || '',
    offset: Math.max(0, Number(query.get('offset')) || 0),
    limit: Math.min(1000, Math.max(1, limit)),
  };
}

// Live address actors, filtered and paged on the node: only one page is
// ever fetched, so the list stays quick with any number of addresses.
export function Actors({ query }) {
  const params = readQuery(query);
  const key = JSON.stringify(params);
  const { data, error, updated } = usePoll(() => api.actors(params), 5000, key);
  const functions = usePoll(api.functions, 0);
  const [type, setType] = useState(params.type);
  const [prefix, setPrefix] = useState(params.prefix);
  const typing = useRef(null);

  // The fields follow the URL when it changes from outside (links, back).
  useEffect(() => {
    setType(params.type);
    setPrefix(params.prefix);
  }, [params.type, params.prefix]);

  const go = (next, replace = false) => {
    const href = routes.actors({ ...params, ...next, limit: next.limit ?? (params.limit === DEFAULT_LIMIT ? 0 : params.limit) });
    if (replace) window.location.replace(href);
    else window.location.hash = href;
  };

  const search = (e) => {
    e.preventDefault();
    clearTimeout(typing.current);
    go({ type: type.trim(), prefix, offset: 0 });
  };

  // Searching as one types, without a history entry per keystroke.
  const onInput = (setter, field) => (e) => {
    const value = e.currentTarget.value;
    setter(value);
    clearTimeout(typing.current);
    typing.current = setTimeout(() => {
      const next = { type: type.trim(), prefix, offset: 0, [field]: field === 'type' ? value.trim() : value };
      if (next.type && !/^[^/]+\/[^/]+$/.test(next.type)) return;
      go(next, true);
    }, 400);
  };
  useEffect(() => () => clearTimeout(typing.current), []);

  const typeOk = type.trim() === '' || /^[^/]+\/[^/]+$/.test(type.trim());
  const canOpen = /^[^/]+\/[^/]+$/.test(type.trim()) && prefix !== '';
  const open = () => {
    const [namespace, name] = type.trim().split('/');
    window.location.hash = routes.actor({ namespace, type: name, id: prefix });
  };

  const total = data ? data.total : 0;
  const first = data && data.actors.length > 0 ? data.offset + 1 : 0;
  const lastShown = data ? data.offset + data.actors.length : 0;
  const types = (functions.data && functions.data.types) || [];
  // The member owning each address; null on a single node.
  const showNode = data ? data.actors.some((a) => a.node) : false;

  return (
    <>
      <h1>Actors</h1>
      <form class="filters" onSubmit={search} role="search" aria-label="Find actors">
        <div class="field">
          <label for="actors-type">Function type</label>
          <input
            id="actors-type"
            name="type"
            list="actors-types"
            placeholder="namespace/name"
            value={type}
            onInput={onInput(setType, 'type')}
            aria-invalid={typeOk ? undefined : 'true'}
            aria-describedby="actors-type-hint"
            autocomplete="off"
            spellcheck={false}
          />
          <datalist id="actors-types">
            {types.map((t) => <option key={t.type} value={t.type} />)}
          </datalist>
          <span id="actors-type-hint" class={`hint${typeOk ? '' : ' bad'}`}>
            {typeOk ? 'Empty for every type.' : 'Write it as namespace/name.'}
          </span>
        </div>
        <div class="field">
          <label for="actors-prefix">Id starts with</label>
          <input
            id="actors-prefix"
            name="prefix"
            value={prefix}
            onInput={onInput(setPrefix, 'prefix')}
            autocomplete="off"
            spellcheck={false}
          />
        </div>
        <div class="field">
          <label for="actors-limit">Per page</label>
          <select id="actors-limit" value={params.limit} onChange={(e) => go({ limit: Number(e.currentTarget.value), offset: 0 })}>
            {[...new Set([...PAGE_SIZES, params.limit])].sort((a, b) => a - b).map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </div>
        <div class="field buttons">
          <button type="submit">Search</button>
          <button type="button" onClick={open} disabled={!canOpen} title="Open the address with exactly this id, live or not">
            Open {canOpen ? `${type.trim()}/${prefix}` : 'address'}
          </button>
        </div>
      </form>
      <ErrorBox error={error} what="Actors" />
      {!data ? (!error && <Loading />) : (
        <>
          <div class="pager" role="navigation" aria-label="Pages">
            <p aria-live="polite">
              {total === 0 ? 'No live actors match.' : `Showing ${fmtNumber(first)}–${fmtNumber(lastShown)} of ${fmtNumber(total)} live actors`}
            </p>
            <button type="button" onClick={() => go({ offset: Math.max(0, params.offset - params.limit) })} disabled={params.offset === 0}>
              Previous page
            </button>
            <button type="button" onClick={() => go({ offset: params.offset + params.limit })} disabled={lastShown >= total}>
              Next page
            </button>
            <Updated at={updated} />
          </div>
          {data.actors.length === 0 ? (
            <Empty>
              {total > 0 ? 'This page is past the end. ' : ''}
              Passivated addresses are not listed; open one by its type and exact id.
            </Empty>
          ) : (
            <table class="actors">
              <thead>
                <tr>
                  <th scope="col">Address</th>
                  {showNode ? <th scope="col">Node</th> : null}
                  <th scope="col" class="num">Pending</th>
                  <th scope="col">Busy</th>
                  <th scope="col" class="num">Invocations</th>
                  <th scope="col" class="num">Failures</th>
                  <th scope="col">Last invocation</th>
                </tr>
              </thead>
              <tbody>
                {data.actors.map((a) => (
                  <tr key={fmtAddress(a.address)}>
                    <td><a href={routes.actor(a.address)}>{fmtAddress(a.address)}</a></td>
                    {showNode ? <td class="node">{a.node || '–'}</td> : null}
                    <td class="num">{fmtNumber(a.pending)}</td>
                    <td>{a.busy ? 'busy' : 'idle'}</td>
                    <td class="num">{fmtNumber(a.invocations)}</td>
                    <td class={`num${a.failures ? ' bad' : ''}`}>{fmtNumber(a.failures)}</td>
                    <td><Time ms={a.last_invocation_ms} /></td>
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
