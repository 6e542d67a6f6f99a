'use strict';
// The cluster benchmark: one node and a three-node cluster on this machine,
// measured side by side in one run, with the same load generator (wrk), the
// same durable keyed counter (1,000 keys) behind the minimal C++ endpoint, and
// the ingress load spread over the nodes; then the pause of a live rescale
// (a node joining, one drained) with 100,000 keys of state.
//
//   node bench/cluster_bench.js [--bin build-release/bin] [--out DIR]
//                               [--seconds 5] [--repeats 3] [--keys 100000]
//
// Fire-and-forget at 64 requests in flight in all: applied invocations/s over
// the time until the last one was applied, summed over the nodes (each node's
// /status counts what its own partitions applied). The pause is the one the
// coordinator logs: from the new view until the epoch runs on every member.
// Every process started here is stopped by its pid at the end.

const fs = require('node:fs');
const path = require('node:path');
const procs = require('./procs.js');
const { sleep, stop, get, median } = procs;

const ROOT = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const BIN = path.resolve(opt('bin', path.join(ROOT, 'build-release', 'bin')));
const OUT = path.resolve(opt('out', path.join(ROOT, 'build-release', 'bench', 'cluster')));
const SECONDS = Number(opt('seconds', 5));
const REPEATS = Number(opt('repeats', 3));
const STATE_KEYS = Number(opt('keys', 100000));
const KEYS = 1000;
const IN_FLIGHT = 64;

/// Starts `cmd`; resolves once its output matches `ready`. Output goes to `logFile`.
const start = (cmd, args, ready, logFile) => procs.start(cmd, args, ready, { logFile, timeoutMs: 120000 });

const wrk = (url, connections, env, seconds = SECONDS) =>
  procs.wrk(url, path.join(__dirname, 'lua', 'ingress.lua'), { connections, seconds, env });

// ---------------------------------------------------------------- Hearth

function writeModule(dir, functionUrl) {
  const file = path.join(dir, 'module.yaml');
  fs.writeFileSync(file, [
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
  return file;
}

/// Starts a node; `cluster`: {shared, id, join} or null for a single node.
async function startNode(dir, module, cluster) {
  const args = ['--module', module, '--data-dir', path.join(dir, cluster ? cluster.id : 'single'),
    '--admin-port', '0', '--set', 'ingress.threads=320'];
  if (cluster) {
    args.push('--checkpoint-dir', cluster.shared, '--cluster-port', '0', '--node-id', cluster.id);
    if (cluster.join) args.push('--join', cluster.join);
  }
  const { child, match, output } = await start(path.join(BIN, 'hearth-node'), args,
    /ingress=127\.0\.0\.1:(\d+) admin=127\.0\.0\.1:(\d+)(?: cluster=(\S+))?/,
    path.join(dir, `${cluster ? cluster.id : 'single'}.log`));
  return {
    child, output, id: cluster ? cluster.id : 'single',
    ingress: `http://127.0.0.1:${match[1]}`,
    admin: `http://127.0.0.1:${match[2]}`,
    cluster: match[3],
  };
}

async function completed(node) {
  return JSON.parse((await get(`${node.admin}/status`)).body).counters.invocations_completed;
}

async function running(nodes) {
  const t0 = Date.now();
  for (;;) {
    const states = await Promise.all(nodes.map(async (n) => {
      const [c, h] = await Promise.all([get(`${n.admin}/cluster`), get(`${n.admin}/health`)]);
      return `${JSON.parse(c.body).epoch}/${JSON.parse(h.body).pipeline}`;
    }));
    if (new Set(states).size === 1 && states[0].endsWith('/running')) return;
    if (Date.now() - t0 > 180000) throw new Error(`no running epoch: ${states}`);
    await sleep(50);
  }
}

/// Fire-and-forget, IN_FLIGHT requests in flight spread over `nodes`' ingress.
async function fireAndForget(nodes) {
  const runs = [];
  for (let i = 0; i < REPEATS; i++) {
    const done0 = (await Promise.all(nodes.map(completed))).reduce((a, b) => a + b, 0);
    const t0 = Date.now();
    const per = Math.max(1, Math.floor(IN_FLIGHT / nodes.length));
    const results = await Promise.all(nodes.map((n) => wrk(n.ingress, per, { KEYS: String(KEYS) })));
    const sent = results.reduce((a, r) => a + r.requests, 0);
    for (;;) {
      const done = (await Promise.all(nodes.map(completed))).reduce((a, b) => a + b, 0) - done0;
      if (done >= sent) break;
      if (Date.now() - t0 > 300000) throw new Error(`only ${done} of ${sent} applied`);
      await sleep(20);
    }
    runs.push(sent / ((Date.now() - t0) / 1000));
  }
  return { median: median(runs), runs };
}

/// The pause the coordinator logged for `epoch`'s assembly, in ms.
async function pauseOf(coordinator, after) {
  const t0 = Date.now();
  for (;;) {
    const found = [...coordinator.output().slice(after).matchAll(/epoch (\d+) runs on every member \((\d+) ms after its view\)/g)];
    if (found.length > 0) return Number(found[found.length - 1][2]);
    if (Date.now() - t0 > 180000) throw new Error('no pause logged');
    await sleep(50);
  }
}

// ---------------------------------------------------------------- main

async function main() {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  const counter = await start(path.join(BIN, 'hearth-bench-counter'), ['--port', '0', '--threads', '1100'],
    /listening (\d+)\n/, path.join(OUT, 'counter.log'));
  const module = writeModule(OUT, `http://127.0.0.1:${counter.match[1]}/`);
  const res = { seconds: SECONDS, repeats: REPEATS, in_flight: IN_FLIGHT, keys: KEYS };

  // Side by side: one node, then three, each warmed the same way.
  const single = await startNode(OUT, module, null);
  await wrk(single.ingress, 16, { KEYS: String(KEYS), WAIT: 'true' }, 2);
  res.single = await fireAndForget([single]);
  await stop(single.child);

  const shared = path.join(OUT, 'checkpoints');
  const n1 = await startNode(OUT, module, { shared, id: 'n1' });
  const n2 = await startNode(OUT, module, { shared, id: 'n2', join: n1.cluster });
  const n3 = await startNode(OUT, module, { shared, id: 'n3', join: n1.cluster });
  await running([n1, n2, n3]);
  await Promise.all([n1, n2, n3].map((n) => wrk(n.ingress, 6, { KEYS: String(KEYS), WAIT: 'true' }, 2)));
  res.cluster = await fireAndForget([n1, n2, n3]);
  res.ratio = res.cluster.median / res.single.median;

  // A live rescale with STATE_KEYS keys of state: a fourth node joins, then is drained.
  await Promise.all([n1, n2, n3].map((n, i) => wrk(n.ingress, 16, {
    KEYS: String(STATE_KEYS), SEQUENTIAL: '1', START: String(i * Math.ceil(STATE_KEYS / 3)),
    COUNT: String(Math.ceil(STATE_KEYS / 3)),
  }, Math.max(10, Math.ceil(STATE_KEYS / 3 / 2000)))));
  await sleep(3000); // a checkpoint holds them
  let mark = n1.output().length;
  const n4 = await startNode(OUT, module, { shared, id: 'n4', join: n1.cluster });
  res.join_pause_ms = await pauseOf(n1, mark);
  await running([n1, n2, n3, n4]);
  mark = n1.output().length;
  await get(`${n1.admin}/cluster/drain/n4`, 'POST');
  res.drain_pause_ms = await pauseOf(n1, mark);
  await new Promise((r) => (n4.child.exitCode !== null ? r() : n4.child.once('exit', r)));
  const cps = JSON.parse((await get(`${n1.admin}/checkpoints`)).body);
  res.last_checkpoint = cps.checkpoints ? cps.checkpoints[cps.checkpoints.length - 1] : cps;
  for (const n of [n1, n2, n3]) await stop(n.child);
  await stop(counter.child);

  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  console.log(`| point (fire-and-forget, ${IN_FLIGHT} in flight, C++ endpoint) | applied/s (median of ${REPEATS}) | runs |`);
  console.log('|---|---|---|');
  console.log(`| one node | ${fmt(res.single.median)} | ${res.single.runs.map(fmt).join(', ')} |`);
  console.log(`| three nodes, ingress spread | ${fmt(res.cluster.median)} | ${res.cluster.runs.map(fmt).join(', ')} |`);
  console.log(`three nodes / one node: ${res.ratio.toFixed(2)}`);
  console.log(`- ${res.ratio >= 0.7 ? 'met' : 'MISSED'}: a 3-node cluster on the same box keeps >= 70% of one node's throughput (${(res.ratio * 100).toFixed(0)}%)`);
  console.log(`live rescale with ${fmt(STATE_KEYS)} keys: join pause ${res.join_pause_ms} ms, drain pause ${res.drain_pause_ms} ms`);
  fs.writeFileSync(path.join(OUT, 'results.json'), `${JSON.stringify(res, null, 2)}\n`);
}

main().catch((e) => {
  console.error(e.stack || e);
  process.exit(1);
});
