'use strict';
// The side-by-side benchmark: Hearth and Restate on the same machine, in the
// same run, with the same load generator (wrk) and the same workload (a
// durable keyed counter). Prints tables and writes results.json, the data
// files and the plots (gnuplot) into --out.
//
//   node bench/compare.js [--out build/bench] [--seconds 5] [--repeats 3]
//                         [--addresses 1000000] [--skip-restate] [--skip-scale]
//
// Every point is run --repeats times; tables show the median with [min, max].
// Everything listens on 127.0.0.1; every process started here is stopped by
// its pid at the end, also on failure. Hearth runs with its defaults
// (checkpoints every second, fsync before every ingress answer) except
// `ingress.threads` (one HTTP thread serves one connection at a time).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const flag = (name) => argv.includes(`--${name}`);
const BIN = path.resolve(opt('bin', path.join(ROOT, 'build', 'bin')));
const OUT = path.resolve(opt('out', path.join(ROOT, 'build', 'bench')));
const SECONDS = Number(opt('seconds', 5));
const REPEATS = Number(opt('repeats', 3));
const ADDRESSES = Number(opt('addresses', 1000000));
const KEYS = 1000;
const CONCURRENCY = [1, 16, 64, 256];
const procs = require('./procs.js');
const { sleep, start, stop, cpuSeconds, get } = procs;

/// A size field of /proc/<pid>/status (VmRSS: now, VmHWM: peak), in bytes.
function statusBytes(pid, field) {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}
const rssBytes = (pid) => statusBytes(pid, 'VmRSS');
const peakRssBytes = (pid) => statusBytes(pid, 'VmHWM');

function duBytes(dir) {
  try {
    return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------- wrk

/// One wrk run of SECONDS unless told otherwise.
const wrk = (url, script, o) => procs.wrk(url, script, { seconds: SECONDS, ...o });
const median = procs.median;

/// {median, min, max} of one figure over repeated runs.
const stat = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs });

/// Runs `once` REPEATS times and summarizes every numeric field it returns.
async function repeat(once) {
  const runs = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await once(i));
  const out = { runs };
  for (const k of Object.keys(runs[0])) {
    if (typeof runs[0][k] === 'number') out[k] = stat(runs.map((r) => r[k]));
  }
  // The latency CDF of the median-throughput run.
  if (runs[0].cdf) {
    const byRate = [...runs].sort((a, b) => a.rate - b.rate);
    out.cdf = byRate[Math.floor(byRate.length / 2)].cdf;
  }
  return out;
}

// ---------------------------------------------------------------- systems

async function startJsCounter() {
  const { child, match } = await start('node', [path.join(__dirname, 'functions', 'statefun_counter.js'), '0'],
    /listening (\d+)\n/, { logFile: path.join(OUT, 'js-counter.log') });
  return { child, url: `http://127.0.0.1:${match[1]}/` };
}

async function startCppCounter() {
  const { child, match } = await start(path.join(BIN, 'hearth-bench-counter'), ['--port', '0', '--threads', '1100'],
    /listening (\d+)\n/, { logFile: path.join(OUT, 'cpp-counter.log') });
  return { child, url: `http://127.0.0.1:${match[1]}/` };
}

let nodeSeq = 0;
async function startHearth(functionUrl, settings = []) {
  const dir = path.join(OUT, `hearth-${++nodeSeq}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const module = path.join(dir, 'module.yaml');
  fs.writeFileSync(module, [
    'kind: io.statefun.endpoints.v2/http',
    'spec:',
    '  functions: bench/*',
    `  urlPathTemplate: ${functionUrl}`,
    '  transport:',
    '    type: io.statefun.transports.v1/async',
    '    call: 60s',
    '---',
    'kind: io.statefun.playground.v1/ingress',
    'spec:',
    '  port: 0',
    '',
  ].join('\n'));
  const args = ['--module', module, '--data-dir', path.join(dir, 'data'), '--admin-port', '0',
    '--set', 'ingress.threads=320', ...settings.flatMap((s) => ['--set', s])];
  const { child, match } = await start(path.join(BIN, 'hearth-node'), args,
    /ingress=127\.0\.0\.1:(\d+) admin=127\.0\.0\.1:(\d+)/, { logFile: path.join(dir, 'node.log') });
  return {
    child, dir,
    ingress: `http://127.0.0.1:${match[1]}`,
    admin: `http://127.0.0.1:${match[2]}`,
  };
}

/// Invocations completed by a Hearth node so far (admin /status).
async function hearthCompleted(node) {
  const r = await get(`${node.admin}/status`);
  return JSON.parse(r.body).counters.invocations_completed;
}

/// Function calls made so far (the count of the call-latency histogram).
async function hearthCalls(node) {
  const r = await get(`${node.admin}/metrics`);
  let n = 0;
  for (const m of r.body.matchAll(/^hearth_remoteInvocationLatency_count\{[^}]*\} (\S+)$/gm)) n += Number(m[1]);
  return n;
}

/// Touches KEYS keys once each (the first call of a key registers its state).
async function warmHearth(node, keys = KEYS) {
  await wrk(node.ingress, path.join(__dirname, 'lua', 'ingress.lua'),
    { connections: 16, seconds: 2, env: { KEYS: String(keys), WAIT: 'true' } });
}

/// Request-response against Hearth: every request answers once applied.
function hearthPoint(node, connections, keys = KEYS) {
  return repeat(async () => {
    const cpu0 = cpuSeconds(node.child.pid);
    const calls0 = await hearthCalls(node);
    const r = await wrk(node.ingress, path.join(__dirname, 'lua', 'ingress.lua'),
      { connections, env: { KEYS: String(keys), WAIT: 'true' } });
    const cpu = cpuSeconds(node.child.pid) - cpu0;
    const calls = (await hearthCalls(node)) - calls0;
    return {
      rate: r.rate, p50_ms: r.p50_us / 1000, p99_ms: r.p99_us / 1000, p999_ms: r.p999_us / 1000,
      errors: r.errors, cpu_us: (cpu * 1e6) / Math.max(1, r.requests),
      per_call: r.requests / Math.max(1, calls), cdf: r.cdf,
    };
  });
}

/// Waits until `count()` reaches `target`; resolves to the time it did (ms).
async function until(count, target, timeoutMs = 300000) {
  const t0 = Date.now();
  for (;;) {
    if ((await count()) >= target) return Date.now();
    if (Date.now() - t0 > timeoutMs) throw new Error(`only ${await count()} of ${target} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/// Fire-and-forget against Hearth: requests answer once durable and accepted;
/// the rate is invocations applied over the time until the last was applied.
function hearthFireAndForget(node, connections) {
  return repeat(async () => {
    const done0 = await hearthCompleted(node);
    const cpu0 = cpuSeconds(node.child.pid);
    const t0 = Date.now();
    const r = await wrk(node.ingress, path.join(__dirname, 'lua', 'ingress.lua'),
      { connections, env: { KEYS: String(KEYS) } });
    const t1 = await until(async () => (await hearthCompleted(node)) - done0, r.requests);
    const cpu = cpuSeconds(node.child.pid) - cpu0;
    return { accepted_rate: r.rate, rate: r.requests / ((t1 - t0) / 1000), cpu_us: (cpu * 1e6) / r.requests };
  });
}

async function restatePoint(restate, connections) {
  return repeat(async () => {
    const cpu0 = cpuSeconds(restate.serverPid);
    const r = await wrk(restate.ingressUrl, path.join(__dirname, 'restate', 'counter.lua'),
      { connections, env: { KEYS: String(KEYS), MODE: 'rr' } });
    const cpu = cpuSeconds(restate.serverPid) - cpu0;
    return {
      rate: r.rate, p50_ms: r.p50_us / 1000, p99_ms: r.p99_us / 1000, p999_ms: r.p999_us / 1000,
      errors: r.errors, cpu_us: (cpu * 1e6) / Math.max(1, r.requests), cdf: r.cdf,
    };
  });
}

async function restateFireAndForget(restate, connections) {
  const executed = async () => Number((await get(restate.countUrl)).body);
  return repeat(async () => {
    const done0 = await executed();
    const cpu0 = cpuSeconds(restate.serverPid);
    const t0 = Date.now();
    const r = await wrk(restate.ingressUrl, path.join(__dirname, 'restate', 'counter.lua'),
      { connections, env: { KEYS: String(KEYS), MODE: 'send' } });
    const t1 = await until(async () => (await executed()) - done0, r.requests);
    const cpu = cpuSeconds(restate.serverPid) - cpu0;
    return { accepted_rate: r.rate, rate: r.requests / ((t1 - t0) / 1000), cpu_us: (cpu * 1e6) / r.requests };
  });
}

/// The function endpoint alone: wrk posting the recorded ToFunction.
function endpointAlone(url, body, connections) {
  return repeat(async () => {
    const r = await wrk(url, path.join(__dirname, 'lua', 'to_function.lua'),
      { connections, env: { BODY_FILE: body } });
    return { rate: r.rate, p50_ms: r.p50_us / 1000, p99_ms: r.p99_us / 1000, errors: r.errors };
  });
}

/// One million distinct addresses: a first pass creates them (each gets its
/// state), a second pass touches random ones among them again while most
/// actors are passivated.
async function scale(cppUrl) {
  const node = await startHearth(cppUrl, ['passivation.idle_ms=2000', 'passivation.max_live=20000']);
  try {
    const t0 = Date.now();
    const done0 = await hearthCompleted(node);
    let peak = 0;
    const sampler = setInterval(() => { peak = Math.max(peak, rssBytes(node.child.pid)); }, 200);
    // wrk stops on SIGINT (and still reports) once every address was applied.
    let load;
    const running = wrk(node.ingress, path.join(__dirname, 'lua', 'ingress.lua'), {
      connections: 64, seconds: 3600, started: (c) => (load = c),
      env: { SEQUENTIAL: '1', START: '0', COUNT: String(ADDRESSES) },
    });
    await until(async () => (await hearthCompleted(node)) - done0, ADDRESSES, 1800000);
    const createSeconds = (Date.now() - t0) / 1000;
    load.kill('SIGINT');
    const r = await running;
    await sleep(3000); // passivation of the idle actors
    const afterCreate = { rss: rssBytes(node.child.pid), lmdb: duBytes(path.join(node.dir, 'data', 'partitions')) };
    const done1 = await hearthCompleted(node);
    const t1 = Date.now();
    const again = await wrk(node.ingress, path.join(__dirname, 'lua', 'ingress.lua'),
      { connections: 64, seconds: SECONDS * 2, env: { KEYS: String(ADDRESSES) } });
    await until(async () => (await hearthCompleted(node)) - done1, again.requests);
    const touchSeconds = (Date.now() - t1) / 1000;
    clearInterval(sampler);
    const status = JSON.parse((await get(`${node.admin}/status`)).body);
    return {
      addresses: ADDRESSES,
      create_rate: ADDRESSES / createSeconds,
      touch_rate: again.requests / touchSeconds,
      rss_after_create_mb: afterCreate.rss / 2 ** 20,
      rss_peak_mb: Math.max(peak, peakRssBytes(node.child.pid)) / 2 ** 20,
      lmdb_mb: afterCreate.lmdb / 2 ** 20,
      live_actors_at_end: status.counters.live_addresses,
      errors: r.errors + again.errors,
    };
  } finally {
    await stop(node.child);
    fs.rmSync(node.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report

const fmt = (x, digits = 0) => (x === undefined || x === null || Number.isNaN(x) ? '-' : x.toFixed(digits));
const cell = (s, digits = 0) => (s ? `${fmt(s.median, digits)} [${fmt(s.min, digits)}, ${fmt(s.max, digits)}]` : '-');
const ratio = (a, b) => (a && b && b.median ? `${(a.median / b.median).toFixed(1)}x` : '-');

function table(headers, rows) {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

function machine() {
  const cpu = os.cpus();
  return `${cpu.length} x ${cpu[0].model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}`;
}

function commit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function writePlots(res) {
  const tp = ['# connections hearth_js hearth_js_min hearth_js_max restate restate_min restate_max hearth_cpp hearth_cpp_min hearth_cpp_max'];
  for (const c of CONCURRENCY) {
    const h = res.hearth_js.rr[c], r = res.restate?.rr?.[c], x = res.hearth_cpp?.rr?.[c];
    const f = (p) => (p ? `${p.rate.median} ${p.rate.min} ${p.rate.max}` : 'NaN NaN NaN');
    tp.push(`${c} ${f(h)} ${f(r)} ${f(x)}`);
  }
  fs.writeFileSync(path.join(OUT, 'throughput.dat'), tp.join('\n') + '\n');
  const cdf = (p) => (p?.cdf || []).map(([pct, us]) => `${us / 1000} ${pct / 100}`).join('\n');
  fs.writeFileSync(path.join(OUT, 'cdf_hearth.dat'), cdf(res.hearth_js.rr[64]) + '\n');
  fs.writeFileSync(path.join(OUT, 'cdf_restate.dat'), (res.restate?.rr ? cdf(res.restate.rr[64]) : '') + '\n');
  try {
    execFileSync('gnuplot', ['-e', `outdir='${OUT}'`, path.join(__dirname, 'plots.gp')], { stdio: 'inherit' });
  } catch (e) {
    console.log(`plots not rendered: ${e.message}`);
  }
}

function report(res) {
  const out = [];
  out.push(`Hearth ${res.commit}, ${res.date}, ${res.machine}; ${REPEATS} runs of ${SECONDS} s per point, ${KEYS} keys; median [min, max].`);
  out.push('');
  out.push('Keyed counter, request-response (answer once applied), official SDKs:');
  const rows = [];
  for (const c of CONCURRENCY) {
    const h = res.hearth_js.rr[c], r = res.restate?.rr?.[c];
    rows.push([c, cell(h.rate), cell(r?.rate), ratio(h.rate, r?.rate),
      cell(h.p50_ms, 2), cell(r?.p50_ms, 2), cell(h.p99_ms, 1), cell(r?.p99_ms, 1),
      cell(h.p999_ms, 1), cell(r?.p999_ms, 1), cell(h.cpu_us), cell(r?.cpu_us)]);
  }
  out.push(table(['in flight', 'Hearth /s', 'Restate /s', 'Hearth/Restate', 'Hearth p50 ms', 'Restate p50 ms',
    'Hearth p99 ms', 'Restate p99 ms', 'Hearth p99.9 ms', 'Restate p99.9 ms', 'Hearth CPU µs/inv', 'Restate CPU µs/inv'], rows));
  out.push('');
  out.push('Fire-and-forget, 64 in flight (rate = invocations applied / time until the last was applied):');
  const hf = res.hearth_js.ff, rf = res.restate?.ff;
  out.push(table(['system', 'accepted /s', 'applied /s', 'CPU µs/inv', 'Hearth/Restate'], [
    ['Hearth + JS SDK', cell(hf.accepted_rate), cell(hf.rate), cell(hf.cpu_us), ratio(hf.rate, rf?.rate)],
    ['Restate + TS SDK', cell(rf?.accepted_rate), cell(rf?.rate), cell(rf?.cpu_us), ''],
  ]));
  if (!res.restate) out.push(`\nRestate not measured: ${res.restate_skipped}`);
  out.push('');
  out.push('Runtime ceiling (the endpoint alone: wrk posting a recorded one-invocation ToFunction):');
  const ej = res.endpoint_js, ec = res.endpoint_cpp;
  const hj = res.hearth_js.rr[64], hc = res.hearth_cpp.rr[64];
  out.push(table(['endpoint', 'alone /s (64)', 'behind Hearth /s (64)', 'fraction', 'Hearth CPU µs/inv',
    'behind Hearth, fire-and-forget /s', 'CPU µs/inv (fire-and-forget)'], [
    ['JS SDK', cell(ej.rate), cell(hj.rate), `${((hj.rate.median / ej.rate.median) * 100).toFixed(0)}%`,
      cell(hj.cpu_us), cell(hf.rate), cell(hf.cpu_us)],
    ['minimal C++', cell(ec.rate), cell(hc.rate), `${((hc.rate.median / ec.rate.median) * 100).toFixed(0)}%`,
      cell(hc.cpu_us), cell(res.hearth_cpp.ff.rate), cell(res.hearth_cpp.ff.cpu_us)],
  ]));
  out.push('');
  const hot = res.hot;
  out.push('Batching: 10 hot keys, 256 in flight, request-response, JS SDK:');
  out.push(table(['applied /s', 'messages per function call', 'p50 ms', 'p99 ms', 'x endpoint alone'], [
    [cell(hot.rate), cell(hot.per_call, 1), cell(hot.p50_ms, 1), cell(hot.p99_ms, 1),
      `${(hot.rate.median / ej.rate.median).toFixed(2)}x`],
  ]));
  if (res.scale) {
    const s = res.scale;
    out.push('');
    out.push(`Scale: ${s.addresses} distinct addresses (minimal C++ endpoint, fire-and-forget, 64 in flight):`);
    out.push(table(['create /s', 'touch again /s', 'RSS after create MiB', 'peak RSS MiB', 'LMDB MiB', 'live actors at end'], [
      [fmt(s.create_rate), fmt(s.touch_rate), fmt(s.rss_after_create_mb), fmt(s.rss_peak_mb), fmt(s.lmdb_mb), s.live_actors_at_end],
    ]));
  }
  out.push('');
  out.push('Targets:');
  const t = res.targets = [
    ['keyed counter, 64 in flight: applied/s >= 85% of the JS endpoint alone',
      hj.rate.median >= 0.85 * ej.rate.median, `${((hj.rate.median / ej.rate.median) * 100).toFixed(0)}%`],
    ['10 hot keys, 256 in flight: applied/s >= 3x the endpoint alone',
      hot.rate.median >= 3 * ej.rate.median, `${(hot.rate.median / ej.rate.median).toFixed(2)}x`],
    ['p50 ingress-to-applied < 1 ms at 1 in flight', res.hearth_js.rr[1].p50_ms.median < 1,
      `${res.hearth_js.rr[1].p50_ms.median.toFixed(2)} ms`],
    ['p99 ingress-to-applied < 10 ms at 64 in flight', res.hearth_js.rr[64].p99_ms.median < 10,
      `${res.hearth_js.rr[64].p99_ms.median.toFixed(1)} ms; the JS endpoint alone at 64: ${ej.p99_ms.median.toFixed(1)} ms`],
    ['minimal C++ endpoint: Hearth CPU <= 20 µs per invocation', hc.cpu_us.median <= 20 || res.hearth_cpp.ff.cpu_us.median <= 20,
      `${hc.cpu_us.median.toFixed(0)} µs request-response, ${res.hearth_cpp.ff.cpu_us.median.toFixed(0)} µs fire-and-forget`],
    ['minimal C++ endpoint: >= 40,000 applied/s', Math.max(hc.rate.median, res.hearth_cpp.ff.rate.median) >= 40000,
      `${fmt(Math.max(hc.rate.median, res.hearth_cpp.ff.rate.median))}/s`],
    ['1M addresses touched with RSS < 1 GiB', res.scale ? res.scale.rss_peak_mb < 1024 : false,
      res.scale ? `${fmt(res.scale.rss_peak_mb)} MiB peak` : 'not run'],
  ];
  for (const [what, met, value] of t) out.push(`- ${met ? 'met' : 'MISSED'}: ${what} (${value})`);
  return out.join('\n');
}

// ---------------------------------------------------------------- main

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const res = { date: new Date().toISOString().slice(0, 10), commit: commit(), machine: machine(),
    seconds: SECONDS, repeats: REPEATS, keys: KEYS };
  const body = path.join(OUT, 'to_function.bin');
  execFileSync(path.join(BIN, 'hearth-bench-counter'), ['--write-request', body]);

  const js = await startJsCounter();
  const cpp = await startCppCounter();
  try {
    console.log('== function endpoints alone (recorded ToFunction, 64 in flight)');
    res.endpoint_js = await endpointAlone(js.url, body, 64);
    res.endpoint_cpp = await endpointAlone(cpp.url, body, 64);
    console.log(`   JS SDK ${fmt(res.endpoint_js.rate.median)}/s, C++ ${fmt(res.endpoint_cpp.rate.median)}/s`);

    console.log('== Hearth + JS SDK counter');
    let node = await startHearth(js.url);
    await warmHearth(node);
    res.hearth_js = { rr: {} };
    for (const c of CONCURRENCY) {
      res.hearth_js.rr[c] = await hearthPoint(node, c);
      console.log(`   ${c} in flight: ${fmt(res.hearth_js.rr[c].rate.median)}/s p50 ${fmt(res.hearth_js.rr[c].p50_ms.median, 2)} ms`);
    }
    res.hearth_js.ff = await hearthFireAndForget(node, 64);
    console.log(`   fire-and-forget: ${fmt(res.hearth_js.ff.rate.median)}/s applied`);
    await stop(node.child);

    console.log('== Hearth + JS SDK counter, 10 hot keys, 256 in flight');
    node = await startHearth(js.url);
    await warmHearth(node, 10);
    res.hot = await hearthPoint(node, 256, 10);
    console.log(`   ${fmt(res.hot.rate.median)}/s, ${fmt(res.hot.per_call.median, 1)} messages per call`);
    await stop(node.child);

    console.log('== Hearth + minimal C++ counter');
    node = await startHearth(cpp.url);
    await warmHearth(node);
    res.hearth_cpp = { rr: {} };
    for (const c of [64, 256]) {
      res.hearth_cpp.rr[c] = await hearthPoint(node, c);
      console.log(`   ${c} in flight: ${fmt(res.hearth_cpp.rr[c].rate.median)}/s, ${fmt(res.hearth_cpp.rr[c].cpu_us.median)} µs CPU/inv`);
    }
    res.hearth_cpp.ff = await hearthFireAndForget(node, 256);
    console.log(`   fire-and-forget: ${fmt(res.hearth_cpp.ff.rate.median)}/s, ${fmt(res.hearth_cpp.ff.cpu_us.median)} µs CPU/inv`);
    await stop(node.child);

    if (flag('skip-restate')) {
      res.restate_skipped = 'skipped (--skip-restate)';
    } else {
      console.log('== Restate + TypeScript SDK counter');
      let restate;
      try {
        const { startRestate } = require('./restate/restate.js');
        restate = await startRestate({ workDir: path.join(OUT, 'restate'), log: () => {} });
      } catch (e) {
        restate = { ok: false, reason: e.message };
      }
      if (!restate.ok) {
        res.restate_skipped = restate.reason;
        console.log(`   Restate cannot run here: ${restate.reason}; the rest runs without it`);
      } else {
        try {
          res.restate = { rr: {} };
          for (const c of CONCURRENCY) {
            res.restate.rr[c] = await restatePoint(restate, c);
            console.log(`   ${c} in flight: ${fmt(res.restate.rr[c].rate.median)}/s p50 ${fmt(res.restate.rr[c].p50_ms.median, 2)} ms`);
          }
          res.restate.ff = await restateFireAndForget(restate, 64);
          console.log(`   fire-and-forget: ${fmt(res.restate.ff.rate.median)}/s executed`);
        } finally {
          await restate.stop();
        }
      }
    }

    if (!flag('skip-scale')) {
      console.log(`== scale: ${ADDRESSES} distinct addresses`);
      res.scale = await scale(cpp.url);
      console.log(`   ${fmt(res.scale.create_rate)}/s, peak RSS ${fmt(res.scale.rss_peak_mb)} MiB`);
    }
  } finally {
    await stop(js.child);
    await stop(cpp.child);
  }

  const text = report(res);
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(res, null, 1) + '\n');
  fs.writeFileSync(path.join(OUT, 'results.md'), text + '\n');
  writePlots(res);
  console.log('');
  console.log(text);
  console.log(`\nresults: ${path.join(OUT, 'results.md')}, results.json, throughput.png, latency_cdf.png`);
}

main().catch((e) => {
  console.error(e.stack || e.message);
  process.exit(1); // the 'exit' hook kills whatever is still running
});
