import { render } from 'preact';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import { api } from './api.js';
import { fmtDuration } from './format.js';
import { record } from './history.js';
import { TokenForm } from './components.jsx';
import { routes, usePoll, useRoute, useTokenPrompt } from './hooks.js';
import { Overview } from './pages/Overview.jsx';
import { Cluster } from './pages/Cluster.jsx';
import { Functions } from './pages/Functions.jsx';
import { Actors } from './pages/Actors.jsx';
import { Actor } from './pages/Actor.jsx';
import { DeadLetters } from './pages/DeadLetters.jsx';
import { Checkpoints } from './pages/Checkpoints.jsx';
import './style.css';

const NAV = [
  { key: 'overview', label: 'Overview', href: routes.overview() },
  { key: 'cluster', label: 'Cluster', href: routes.cluster() },
  { key: 'functions', label: 'Functions', href: routes.functions() },
  { key: 'actors', label: 'Actors', href: routes.actors() },
  { key: 'dead-letters', label: 'Dead letters', href: routes.deadLetters() },
  { key: 'checkpoints', label: 'Checkpoints', href: routes.checkpoints() },
];

// True on a cluster member (GET /cluster answers), false on a single node
// (404); any other failure is asked again 2 s later.
async function isClusterMember() {
  for (;;) {
    try {
      await api.cluster();
      return true;
    } catch (e) {
      if (e.status === 404) return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function page(route, status, history) {
  const [first, ...rest] = route.parts;
  switch (first) {
    case undefined:
      return { key: 'overview', title: 'Overview', body: <Overview status={status} history={history} /> };
    case 'cluster':
      return { key: 'cluster', title: 'Cluster', body: <Cluster history={history} /> };
    case 'functions':
      return { key: 'functions', title: 'Functions', body: <Functions /> };
    case 'actors':
      if (rest.length === 0) return { key: 'actors', title: 'Actors', body: <Actors query={route.query} /> };
      if (rest.length === 3) {
        const address = { namespace: rest[0], type: rest[1], id: rest[2] };
        return { key: 'actors', title: `${rest.join('/')}`, body: <Actor address={address} /> };
      }
      break;
    case 'dead-letters':
      return { key: 'dead-letters', title: 'Dead letters', body: <DeadLetters /> };
    case 'checkpoints':
      return { key: 'checkpoints', title: 'Checkpoints', body: <Checkpoints /> };
    default:
      break;
  }
  return {
    key: '',
    title: 'Not found',
    body: (
      <>
        <h1>Not found</h1>
        <p>There is no page at this address. <a href={routes.overview()}>Go to the overview</a>.</p>
      </>
    ),
  };
}

function NodeLine({ status, locked }) {
  if (locked) return <p class="node-line muted">Waiting for the admin token…</p>;
  if (status.error && !status.data) {
    return <p class="node-line bad" role="alert">Cannot reach the node: {status.error.message}</p>;
  }
  if (!status.data) return <p class="node-line muted">Connecting…</p>;
  const s = status.data;
  return (
    <p class={`node-line${status.error ? ' bad' : ''}`} role={status.error ? 'alert' : undefined}>
      {status.error ? `Cannot reach the node (${status.error.message}); last seen: ` : ''}
      Hearth {s.version} · up {fmtDuration(s.uptime_ms)} · {(s.partitions || []).length} partitions
    </p>
  );
}

function App() {
  const route = useRoute();
  const tokenPrompt = useTokenPrompt();
  const locked = tokenPrompt !== null;
  const history = useRef([]);
  const status = usePoll(async () => {
    const s = await api.status();
    record(history.current, s);
    return s;
  }, 1000);
  const clustered = usePoll(isClusterMember, 0).data === true;
  const nav = NAV.filter((n) => n.key !== 'cluster' || clustered);
  const current = page(route, status, history.current);
  const routeKey = route.parts.join('/');
  const main = useRef(null);
  const firstRender = useRef(true);

  // The title changes with the page's content, in the same commit (an
  // effect would run after the paint: a page could show one title and another
  // heading for a while).
  const title = `${locked ? 'Admin token' : current.title} · Hearth console`;
  useLayoutEffect(() => {
    document.title = title;
  }, [title]);

  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    if (locked) return; // the token form takes the focus
    // Move focus to the heading of the new page (or of the page the token
    // form covered), as a full page load would.
    const heading = main.current && main.current.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }, [routeKey, locked]);

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); main.current.focus(); }}>Skip to content</a>
      <header class="top">
        <div class="wrap top-inner">
          <a class="brand" href={routes.overview()}>Hearth</a>
          <nav aria-label="Main">
            <ul>
              {nav.map((n) => (
                <li key={n.key}>
                  <a href={n.href} aria-current={current.key === n.key ? 'page' : undefined}>{n.label}</a>
                </li>
              ))}
            </ul>
          </nav>
          <NodeLine status={status} locked={locked} />
        </div>
      </header>
      <main id="main" ref={main} tabindex="-1" class="wrap">
        {locked ? <TokenForm key={tokenPrompt.key} prompt={tokenPrompt} /> : null}
        <div hidden={locked}>{current.body}</div>
      </main>
    </>
  );
}

render(<App />, document.getElementById('app'));
