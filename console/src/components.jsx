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
