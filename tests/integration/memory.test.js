'use strict';
// Bounded memory (docs/memory.md): 1,000 messages of 1 MiB to one address,
// then 10,000 distinct addresses; the node's anonymous resident memory stays
// within the documented bound computed from its settings, and every message
// is applied exactly once.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const { Readable } = require('node:stream');
const { StateFun } = require('apache-flink-statefun');
const h = require('./harness');

const MiB = 1 << 20;
const KiB = 1 << 10;
const PARTITIONS = 2;
const THREADS = 16;       // ingress.threads
const MAX_BODY = 2 * MiB; // ingress.max_body_bytes
const MAX_BATCH = 4;      // maxNumBatchRequests
const MAX_LIVE = 1000;    // passivation.max_live, per partition
const BIG = Number(process.env.MEMORY_BIG || 1000);
const DISTINCT = 10000;

// The bound of docs/memory.md, for these settings. `base` is the node's own
// measured size once ready, `payload` the size of the messages in flight.
function bound(base, payload) {
  const http = 3 * (THREADS * MAX_BODY + 16 * MiB) + 3 * 1024 * (64 * KiB + 16 * KiB);
  const messages = (MAX_BATCH + 1 + THREADS) * payload + 2 * MAX_BATCH * payload;
  const addresses = PARTITIONS * MAX_LIVE * 16 * KiB;
  return base + http + messages + addresses + 64 * MiB;
}

let server;
let node;
let shmDir;
const applied = {}; // id -> invocations seen by the function

before(async () => {
  // A lean SDK server (no request decoding of its own): the test measures
  // the node, not the test's own JavaScript.
  const statefun = new StateFun();
  statefun.bind({
    typename: 'test/counter',
    specs: [{ name: 'count', type: StateFun.intType() }],
    fn(context) {
      context.storage.count = (context.storage.count || 0) + 1;
      applied[context.self.id] = (applied[context.self.id] || 0) + 1;
    },
  });
  server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => statefun.handle(Readable.from([Buffer.concat(chunks)]), res).catch(() => res.destroy()));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fns = { port: server.address().port };
  // The data on tmpfs where there is one: a gigabyte of fsynced log would
  // measure the disk, not the node's memory (tmpfs pages are not the node's
  // anonymous memory).
  const dataDir = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/hearth-memory-') : undefined;
  if (dataDir) shmDir = dataDir;
  node = await h.startNode({
    dataDir,
    module: h.testModule({ port: fns.port, call: '120s', connect: '5s', maxNumBatchRequests: MAX_BATCH }),
    args: ['--set', `partitions=${PARTITIONS}`, '--set', `ingress.threads=${THREADS}`,
      '--set', `ingress.max_body_bytes=${MAX_BODY}`, '--set', `passivation.max_live=${MAX_LIVE}`],
  });
});

after(async () => {
  await h.cleanup();
  if (shmDir) fs.rmSync(shmDir, { recursive: true, force: true });
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function rssAnon(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^RssAnon:\s+(\d+) kB/m.exec(status);
  return Number(m[1]) * KiB;
}

// Samples the node's RssAnon every 100 ms while `work` runs; the largest.
async function peakDuring(work) {
  let peak = rssAnon(node.pid);
  const timer = setInterval(() => { peak = Math.max(peak, rssAnon(node.pid)); }, 100);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rssAnon(node.pid));
}

const mb = (n) => `${(n / MiB).toFixed(1)} MiB`;

test(`${BIG} messages of 1 MiB to one address, then ${DISTINCT} addresses, within the memory bound`, { timeout: 600000 }, async () => {
  const base = rssAnon(node.pid);
  const body = h.encodeValue('x'.repeat(MiB), h.STRING_TYPENAME); // encoded once
  const t0 = Date.now();
  const bigPeak = await peakDuring(async () => {
    await h.runParallel(BIG, THREADS, async () => {
      for (;;) {
        const res = await h.send(node.ingress, 'test', 'counter', 'big', body);
        if (res.status === 200) return;
        // 503: the address is full and enough senders wait already; retry.
        assert.equal(res.status, 503, res.text);
        await h.sleep(50);
      }
    });
    await h.assertStoredCounts(node.admin, 'test', 'counter', { big: BIG }, 300000);
  });
  const limitBig = bound(base, MiB);
  console.log(`base ${mb(base)}, peak with 1 MiB messages ${mb(bigPeak)}, bound ${mb(limitBig)} (${Date.now() - t0} ms)`);
  const t1 = Date.now();
  assert.ok(bigPeak <= limitBig, `peak ${mb(bigPeak)} over the bound ${mb(limitBig)}`);

  const smallPeak = await peakDuring(async () => {
    await h.runParallel(DISTINCT, 32, (i) => h.sendOk(node.ingress, 'test', 'counter', `d${i}`, 'inc'));
    await h.poll(() => Object.keys(applied).length === DISTINCT + 1, 300000,
      () => `${DISTINCT} addresses applied (got ${Object.keys(applied).length - 1})`);
  });
  const limitSmall = bound(base, MiB); // the bound holds throughout the run
  console.log(`peak with ${DISTINCT} addresses ${mb(smallPeak)}, bound ${mb(limitSmall)} (${Date.now() - t1} ms)`);
  assert.ok(smallPeak <= limitSmall, `peak ${mb(smallPeak)} over the bound ${mb(limitSmall)}`);
  const sample = {};
  for (let i = 0; i < DISTINCT; i += 997) sample[`d${i}`] = 1;
  await h.assertStoredCounts(node.admin, 'test', 'counter', sample);
});
