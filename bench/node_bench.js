'use strict';
// Node-level checkpoint benchmark: restore time of a node holding N keys
// (100-byte values), invocation latency with checkpoints running against a
// baseline without, and restore time after SIGKILL. Prints a Markdown table.
//
//   node bench/node_bench.js [--bin build/bin] [--keys 1000000] [--rate 100] [--seconds 20] [--full-every 10]
//
// Bounded: every phase has a fixed duration, every process it starts is
// stopped at the end, everything listens on 127.0.0.1.

const http = require('node:http');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { StateFun } = require('apache-flink-statefun');

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const KEYS = arg('keys', 1000000);
const RATE = arg('rate', 100);
const SECONDS = arg('seconds', 20);
const FULL_EVERY = arg('full-every', 10);
const binArg = process.argv.indexOf('--bin');
const BIN = binArg > 0 ? path.resolve(process.argv[binArg + 1]) : path.resolve(__dirname, '..', 'build', 'bin');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const latencies = [];
const statefun = new StateFun();
statefun.bind({
  typename: 'bench/blob',
  specs: [{ name: 'blob', type: StateFun.jsonType('bench/Blob') }],
  fn(context, message) {
    const { sent } = message.as(StateFun.jsonType('bench/Touch'));
    latencies.push(Date.now() - sent);
    const blob = context.storage.blob || '';
    context.storage.blob = blob.slice(0, 60) + ':' + sent; // a write, so checkpoints have work
  },
});

function startNode(dir, module, extra) {
  const t0 = Date.now();
  const child = spawn(path.join(BIN, 'hearth-node'),
    ['--module', module, '--data-dir', dir, '--admin-port', '0', '--set', 'partitions=2', ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line:\n${err}`)), 120000);
    child.stderr.on('data', (d) => {
      err += d;
      const m = /ingress=127\.0\.0\.1:(\d+)/.exec(err);
      if (m && !child.ready) {
        child.ready = true;
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), startMs: Date.now() - t0, stderr: () => err });
      }
    });
  });
}

function stop(node, signal = 'SIGTERM') {
  return new Promise((resolve) => {
    if (node.child.exitCode !== null || node.child.signalCode) return resolve();
    node.child.once('exit', resolve);
    node.child.kill(signal);
  });
}

function put(port, id, body) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: `/bench/blob/${id}`, method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.bench/Touch' } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', resolve);
    req.end(body);
  });
}

async function drive(port) {
  latencies.length = 0;
  const end = Date.now() + SECONDS * 1000;
  const inflight = [];
  let n = 0;
  while (Date.now() < end) {
    const id = `k${Math.floor(Math.random() * KEYS)}`;
    inflight.push(put(port, id, JSON.stringify({ sent: Date.now() })));
    n += 1;
    await sleep(1000 / RATE);
  }
  await Promise.all(inflight);
  await sleep(2000);
  const s = [...latencies].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { sent: n, seen: s.length, p50: q(0.5), p99: q(0.99), max: s[s.length - 1] };
}

async function main() {
  const server = http.createServer(statefun.handler());
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-node-bench-'));
  const module = path.join(work, 'module.yaml');
  fs.writeFileSync(module, `kind: io.statefun.endpoints.v2/http
spec:
  functions: bench/*
  urlPathTemplate: http://127.0.0.1:${server.address().port}/
---
kind: io.statefun.playground.v1/ingress
spec:
  port: 0
`);
  const rows = [];
  try {
    const data = path.join(work, 'data');
    execFileSync(path.join(BIN, 'hearth-bench-checkpoint'),
      ['--node-data', data, '--keys', String(KEYS), '--partitions', '2'], { stdio: 'inherit' });
    // Baseline: no checkpoint during the run.
    let node = await startNode(data, module, ['--set', 'checkpoint.interval=1h']);
    rows.push(['start: restore of the checkpoint', `${node.startMs} ms`]);
    const base = await drive(node.port);
    await stop(node);
    // The default checkpoint settings (every second, a full one every 10),
    // or harsher ones from the command line (--full-every N).
    node = await startNode(data, module, ['--set', 'checkpoint.interval=1s', '--set', `checkpoint.full_every=${FULL_EVERY}`]);
    const withCp = await drive(node.port);
    const kill = Date.now();
    await stop(node, 'SIGKILL');
    node = await startNode(data, module, []);
    rows.push(['restart after SIGKILL: restore + log replay', `${Date.now() - kill} ms (process start to ready: ${node.startMs} ms)`]);
    await stop(node);
    rows.push([`invocation latency, no checkpoint (${base.seen} calls at ${RATE}/s)`, `p50 ${base.p50} ms, p99 ${base.p99} ms, max ${base.max} ms`]);
    rows.push([`invocation latency, checkpoint every 1 s, full every ${FULL_EVERY} (${withCp.seen} calls)`, `p50 ${withCp.p50} ms, p99 ${withCp.p99} ms, max ${withCp.max} ms`]);
    rows.push(['extra p99 latency from running checkpoints', `${withCp.p99 - base.p99} ms`]);
  } finally {
    server.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(`\n| node, ${KEYS} keys of 100 bytes, 2 partitions | |\n|---|---|`);
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
