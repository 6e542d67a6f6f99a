import { useEffect, useRef, useState, useCallback } from 'preact/hooks';
import { queryString, setTokenPrompt } from './api.js';

// Calls `load` now and then every `intervalMs` after the previous call ended
// (never two at once); `intervalMs` 0 or null loads once. Data is reset when
// `key` changes. Returns {data, error, updated, loading, reload}.
export function usePoll(load, intervalMs, key = '') {
  const [state, setState] = useState({ key, data: undefined, error: undefined, updated: 0 });
  const [nonce, setNonce] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    let stopped = false;
    let timer;
    async function run() {
      try {
        const data = await loadRef.current();
        if (!stopped) setState({ key, data, error: undefined, updated: Date.now() });
      } catch (error) {
        if (!stopped) setState((s) => (s.key === key ? { ...s, error } : { key, data: undefined, error, updated: 0 }));
      }
      if (!stopped && intervalMs) timer = setTimeout(run, intervalMs);
    }
    run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [key, intervalMs, nonce]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const current = state.key === key;
  return {
    data: current ? state.data : undefined,
    error: current ? state.error : undefined,
    updated: current ? state.updated : 0,
    loading: !current || (state.data === undefined && state.error === undefined),
    reload,
  };
}

// Connects the API client's token prompt to the app. Returns null, or while
// the node waits for its admin token {key, error, checking, submit(token)}:
// key changes with every question, error is why the last token was refused
// ('' the first time), checking is true once a token was submitted and until
// the node answers.
export function useTokenPrompt() {
  const [asked, setAsked] = useState(null);
  useEffect(() => {
    let count = 0;
    setTokenPrompt({
      ask: (error) => new Promise((resolve) => {
        count += 1;
        setAsked({ key: count, error, checking: false, resolve });
      }),
      done: () => setAsked(null),
    });
    return () => setTokenPrompt(null);
  }, []);
  if (!asked) return null;
  return {
    key: asked.key,
    error: asked.error,
    checking: asked.checking,
    submit: (token) => {
      if (asked.checking) return;
      setAsked({ ...asked, checking: true });
      asked.resolve(token);
    },
  };
}

// The hash route: {parts: decoded path segments, query: URLSearchParams}.
export function parseHash(hash) {
  const h = (hash || '').replace(/^#/, '') || '/';
  const q = h.indexOf('?');
  const path = q < 0 ? h : h.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch (e) {
      return p;
    }
  });
  return { parts, query };
}

export function useRoute() {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return parseHash(hash);
}

const enc = encodeURIComponent;

export const routes = {
  overview: () => '#/',
  cluster: () => '#/cluster',
  functions: () => '#/functions',
  actors: ({ type, prefix, offset, limit } = {}) => {
    const s = queryString({ type, prefix, offset: offset || undefined, limit: limit || undefined });
    return s ? `#/actors?${s}` : '#/actors';
  },
  actor: ({ namespace, type, id }) => `#/actors/${enc(namespace)}/${enc(type)}/${enc(id)}`,
  deadLetters: () => '#/dead-letters',
  checkpoints: () => '#/checkpoints',
};
