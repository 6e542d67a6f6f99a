// Number, size, time and address formatting.

const numberFormat = new Intl.NumberFormat('en-US');

export function fmtNumber(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return '–';
  return numberFormat.format(n);
}

export function fmtRate(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return '–';
  return n >= 100 ? numberFormat.format(Math.round(n)) : n.toFixed(1);
}

export function fmtBytes(n) {
  if (n === undefined || n === null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function fmtMs(ms) {
  if (ms === undefined || ms === null) return '–';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  return fmtDuration(ms);
}

// Coarse duration: "3 d 4 h", "2 h 5 min", "4 min 10 s", "12 s".
export function fmtDuration(ms) {
  if (ms === undefined || ms === null) return '–';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${sec} s`;
  return `${sec} s`;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// Local HH:MM:SS of an epoch-ms timestamp.
export function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// Local wall-clock time of an epoch-ms timestamp; the date only when it is not today.
export function fmtTime(ms) {
  if (!ms) return '–';
  const d = new Date(ms);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

export function fmtAgo(ms, now = Date.now()) {
  if (!ms) return 'never';
  const diff = now - ms;
  if (diff < 0) return `in ${fmtDuration(-diff)}`;
  if (diff < 1000) return 'just now';
  return `${fmtDuration(diff)} ago`;
}

export function isoTime(ms) {
  return ms ? new Date(ms).toISOString() : undefined;
}

export function fmtAddress(a) {
  return a ? `${a.namespace}/${a.type}/${a.id}` : '–';
}
