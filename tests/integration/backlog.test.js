'use strict';
// maxNumBatchRequests bounds every message to an address, not only ingress
// ones: function-to-function messages beyond it wait in the address's backlog
// on disk, so a cycle of functions never deadlocks and never piles messages up
// in memory. Spokes flood one hub that answers every message back (a cycle
// through two full addresses); every message is applied exactly once, no call
// carries more than maxNumBatchRequests invocations, also across a SIGKILL.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { StateFun, messageBuilder } = require('apache-flink-statefun');
const h = require('./harness');
const { serveStateFun } = require('../functions/servers');

const MAX_BATCH = 2;
const SPOKES = 40;
const PER_SPOKE = 25;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let server;
let moduleYaml;

before(async () => {
  const statefun = new StateFun();
  // On "go:<n>" a spoke sends n messages to the hub; each "ack" counts.
  statefun.bind({
    typename: 'cyc/spoke',
    specs: [{ name: 'count', type: StateFun.intType() }],
    fn(context, message) {
      const text = message.asString();
      if (text.startsWith('go:')) {
        const n = Number(text.slice(3));
        for (let i = 0; i < n; i += 1) {
          context.send(messageBuilder({ typename: 'cyc/hub', id: 'hub', value: context.self.id }));
        }
        return;
      }
      context.storage.count = (context.storage.count || 0) + 1;
    },
  });
  // The hub counts every message and answers its spoke.
  statefun.bind({
    typename: 'cyc/hub',
    specs: [{ name: 'count', type: StateFun.intType() }],
    async fn(context, message) {
      await sleep(3);
      context.storage.count = (context.storage.count || 0) + 1;
      context.send(messageBuilder({ typename: 'cyc/spoke', id: message.asString(), value: 'ack' }));
    },
  });
  server = await serveStateFun(statefun);
  moduleYaml = h.testModule({ port: server.port, functions: 'cyc/*', call: '60s', maxNumBatchRequests: MAX_BATCH });
});

after(async () => {
  await h.cleanup();
  if (server) await server.close();
});

async function spilled(admin) {
  const res = await h.request(`${admin}/metrics`);
  const m = /^hearth_backlog_spilled(?:_total)? (\d+)/m.exec(res.text);
  assert.ok(m, 'the metric hearth_backlog_spilled is exposed');
  return Number(m[1]);
}

async function onDisk(admin) {
  const res = await h.health(admin);
  return res.json.partitions.reduce((sum, p) => sum + p.backlog_messages, 0);
}

function largestBatch() {
  const sizes = server.stats.log.filter((e) => e.fn === 'cyc/hub' || e.fn === 'cyc/spoke').map((e) => e.invocations);
  return Math.max(0, ...sizes);
}

async function flood(node, round) {
  await h.runParallel(SPOKES, 8, async (i) => {
    const res = await h.sendKeyed(node.ingress, 'cyc', 'spoke', `s${i}`, `go:${PER_SPOKE}`, `${round}-${i}`);
    assert.equal(res.status, 200, res.text);
  });
}

async function assertExact(node, rounds) {
  const hub = SPOKES * PER_SPOKE * rounds;
  await h.assertStoredCounts(node.admin, 'cyc', 'hub', { hub }, 180000);
  const expected = {};
  for (let i = 0; i < SPOKES; i += 1) expected[`s${i}`] = PER_SPOKE * rounds;
  await h.assertStoredCounts(node.admin, 'cyc', 'spoke', expected, 180000);
  assert.deepEqual(await h.deadLetters(node.admin), [], 'no dead letters');
}

test('a cycle through full addresses completes: every message once, no batch over maxNumBatchRequests', { timeout: 300000 }, async () => {
  const node = await h.startNode({ module: moduleYaml });
  await flood(node, 'a');
  await assertExact(node, 1);
  assert.ok(largestBatch() <= MAX_BATCH, `largest batch ${largestBatch()} exceeds ${MAX_BATCH}`);
  assert.ok(await spilled(node.admin) > 0, 'messages waited on disk');
  // Drained: nothing waits any more.
  const health = await h.health(node.admin);
  assert.equal(health.status, 200);
  assert.ok(health.json.partitions.length > 0);
  for (const p of health.json.partitions) assert.equal(p.backlog_messages, 0, JSON.stringify(p));
  assert.equal(await node.stop('SIGTERM'), 0);
});

test('messages waiting on disk survive a SIGKILL: applied exactly once after the restart', { timeout: 300000 }, async () => {
  const dataDir = h.makeTempDir('hearth-backlog-');
  const args = ['--set', 'checkpoint.interval=300ms'];
  let node = await h.startNode({ module: moduleYaml, dataDir, args });
  await flood(node, 'b');
  // Killed while messages wait on disk and checkpoints run.
  await h.poll(async () => await h.storedInt(node.admin, 'cyc', 'hub', 'hub') > 100
    && await onDisk(node.admin) > 0, 120000, 'the hub under way with messages on disk');
  await node.stop('SIGKILL');
  node = await h.startNode({ module: moduleYaml, dataDir, args });
  // The client retries every message (it may not have seen all answers).
  await flood(node, 'b');
  await assertExact(node, 1);
  assert.ok(largestBatch() <= MAX_BATCH, `largest batch ${largestBatch()} exceeds ${MAX_BATCH}`);
  assert.equal(await node.stop('SIGTERM'), 0);
});
