// Samples of GET /status kept in the browser for the overview charts.

export const HISTORY_SECONDS = 120;

// Adds a sample; rates come from the counters' change since the previous
// sample, over the node's own uptime. A node restart (uptime going back)
// starts a new history.
export function record(samples, status, nowMs = Date.now()) {
  const c = status.counters || {};
  const lat = status.latency_ms || {};
  const sample = {
    t: nowMs / 1000,
    uptime: status.uptime_ms,
    invocations: c.invocations_completed,
    failures: c.invocation_failures,
    deadLetters: c.dead_letters_written,
    pending: c.pending_invocations,
    p50: lat.p50,
    p95: lat.p95,
    p99: lat.p99,
    invRate: null,
    failRate: null,
    deadRate: null,
  };
  const prev = samples[samples.length - 1];
  if (prev && sample.uptime < prev.uptime) samples.length = 0;
  else if (prev) {
    const dt = (sample.uptime - prev.uptime) / 1000;
    if (dt > 0) {
      const rate = (a, b) => (a === undefined || b === undefined ? null : Math.max(0, (a - b) / dt));
      sample.invRate = rate(sample.invocations, prev.invocations);
      sample.failRate = rate(sample.failures, prev.failures);
      sample.deadRate = rate(sample.deadLetters, prev.deadLetters);
    }
  }
  samples.push(sample);
  const cutoff = sample.t - HISTORY_SECONDS;
  while (samples.length > 0 && samples[0].t < cutoff) samples.shift();
  return sample;
}

export function column(samples, name) {
  return samples.map((s) => (s[name] === undefined ? null : s[name]));
}
