import { useEffect, useRef } from 'preact/hooks';
import { fmtAgo, fmtTime, isoTime } from './format.js';

// A decoded value as the API gives it: {value}, {json}, {text}, {hex} or only {base64}.
export function Value({ v }) {
  if (!v) return <span class="muted">–</span>;
  if ('value' in v) return <code class="value">{String(v.value)}</code>;
  if ('json' in v) {
    const compact = JSON.stringify(v.json);
    if (compact.length <= 80) return <code class="value">{compact}</code>;
    return <pre class="value">{JSON.stringify(v.json, null, 2)}</pre>;
  }
  if ('text' in v) return <code class="value">{v.text}</code>;
  if ('hex' in v) return <code class="value hex" title="hex">{v.hex}</code>;
  if ('base64' in v) return <code class="value hex" title="base64">{v.base64}</code>;
  return <span class="muted">–</span>;
}

export function Time({ ms }) {
  if (!ms) return <span class="muted">never</span>;
  return <time datetime={isoTime(ms)} title={fmtTime(ms)}>{fmtAgo(ms)}</time>;
}

export function ErrorBox({ error, what }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {what ? `${what}: ` : ''}{error.message || String(error)}
    </p>
  );
}

export function Loading() {
  return <p class="muted">Loading…</p>;
}

export function Updated({ at }) {
  return at ? <span class="muted updated">updated {fmtTime(at)}</span> : null;
}

export function Stat({ label, value, hint }) {
  return (
    <div class="stat">
      <dt>{label}</dt>
      <dd>{value}{hint ? <span class="stat-hint"> {hint}</span> : null}</dd>
    </div>
  );
}

export function Empty({ children }) {
  return <p class="muted empty">{children}</p>;
}

// The form that asks for the node's admin token (see useTokenPrompt).
export function TokenForm({ prompt }) {
  const input = useRef(null);
  useEffect(() => {
    if (input.current) input.current.focus();
  }, [prompt.key]);
  const submit = (e) => {
    e.preventDefault();
    const token = input.current.value.trim();
    if (token) prompt.submit(token);
  };
  return (
    <section class="token" aria-labelledby="token-h">
      <h1 id="token-h">This node needs its admin token</h1>
      <p>
        The node was started with <code>--admin-token-file</code>: its admin API answers only requests
        that carry that token. The console keeps it for this tab only.
      </p>
      {prompt.error ? <p class="error" role="alert" id="admin-token-error">The token was refused: {prompt.error}</p> : null}
      <form class="token-form" onSubmit={submit}>
        <div class="field">
          <label for="admin-token">Admin token</label>
          <input
            id="admin-token"
            ref={input}
            type="password"
            required
            autocomplete="off"
            spellcheck={false}
            aria-invalid={prompt.error ? 'true' : undefined}
            aria-describedby={prompt.error ? 'admin-token-error' : undefined}
          />
        </div>
        <div class="field buttons">
          <button type="submit" disabled={prompt.checking}>{prompt.checking ? 'Checking…' : 'Use this token'}</button>
        </div>
      </form>
    </section>
  );
}
