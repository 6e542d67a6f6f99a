'use strict';
// Crash recovery: SIGKILL of the node right after messages were acknowledged,
// retries with an Idempotency-Key across the crash, egress released only with
// its checkpoint, and a damaged checkpoint refused with a clear message.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

let fns;
let moduleYaml;

before(async () => {
  fns = await startTestFunctions({ counterEgressTopic: 'counts' });
  moduleYaml = h.testModule({ port: fns.port, call: '60s', egressTopics: ['counts'] });
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

const counts = () => fns.records.counter.counts;

// PUT with an Idempotency-Key.
function sendKeyed(node, id, key) {
  return h.request(`${node.ingress}/test/counter/${id}`, {
    method: 'PUT',
    headers: { 'Content-Type': `application/vnd.${h.STRING_TYPENAME}`, 'Idempotency-Key': key },
    body: h.encodeValue('inc', h.STRING_TYPENAME),
  });
}

// Reads test/counter:<id> through Hearth (a probe queued behind everything sent).
async function probe(node, id) {
  const reads = () => fns.records.counter.reads[id] || [];
  const n = reads().length;
  await h.sendOk(node.ingress, 'test', 'counter', id, { op: 'get' }, 'test/Command');
  await h.poll(() => reads().length > n, 90000, `the probe of test/counter:${id}`);
  return reads()[n];
}

test('acknowledged messages survive a SIGKILL right after their 2xx', { timeout: 240000 }, async () => {
  const dataDir = h.makeTempDir('hearth-crash-');
  // A long interval: no checkpoint covers the messages when the node dies,
  // so they come back from the ingress log alone.
  let node = await h.startNode({ module: moduleYaml, dataDir, args: ['--set', 'checkpoint.interval=1h'] });
  for (let i = 0; i < 30; i++) await h.sendOk(node.ingress, 'test', 'counter', 'k1', 'inc');
  await node.stop('SIGKILL');
  node = await h.startNode({ module: moduleYaml, dataDir, args: ['--set', 'checkpoint.interval=200ms'] });
  assert.equal(await probe(node, 'k1'), 30, 'count after the crash');
  await node.stop('SIGTERM');
});

test('a retry with the same Idempotency-Key after a crash is not applied twice', { timeout: 240000 }, async () => {
  const dataDir = h.makeTempDir('hearth-crash-');
  let node = await h.startNode({ module: moduleYaml, dataDir, args: ['--set', 'checkpoint.interval=200ms'] });
  for (let i = 0; i < 10; i++) {
    const res = await sendKeyed(node, 'k2', `key-${i}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.status, 'accepted');
  }
  await node.stop('SIGKILL');
  node = await h.startNode({ module: moduleYaml, dataDir, args: ['--set', 'checkpoint.interval=200ms'] });
  // The client never saw answers (say), so it sends all ten again, plus two new.
  for (let i = 0; i < 12; i++) {
    const res = await sendKeyed(node, 'k2', `key-${i}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.status, i < 10 ? 'duplicate' : 'accepted', `key-${i}`);
  }
  assert.equal(await probe(node, 'k2'), 12, 'count after retries');
  await node.stop('SIGTERM');
});

test('exactly-once egress records appear once, only after their checkpoint, across a crash', { timeout: 240000 }, async () => {
  const dataDir = h.makeTempDir('hearth-crash-');
  let node = await h.startNode({ module: moduleYaml, dataDir, args: ['--set', 'checkpoint.interval=1h'] });
  for (let i = 0; i < 5; i++) await h.sendOk(node.ingress, 'test', 'counter', 'k3', 'inc');
  await h.poll(() => counts().k3 === 5, 60000, 'five increments');
  // Processed, but no checkpoint has completed: nothing is visible yet.
  assert.equal(await h.popEgress(node.egress, 'counts'), null, 'a record before its checkpoint');
  await node.stop('SIGKILL');
  node = await h.startNode({ module: moduleYaml, dataDir, args: ['--set', 'checkpoint.interval=200ms'] });
  const seen = [];
  await h.poll(async () => {
    for (let r = await h.popEgress(node.egress, 'counts'); r !== null; r = await h.popEgress(node.egress, 'counts')) {
      seen.push(JSON.parse(r.toString()));
    }
    return seen.length >= 5;
  }, 60000, () => `5 egress records (got ${seen.length})`);
  await h.sleep(1500); // a few more checkpoints: nothing else may appear
  for (let r = await h.popEgress(node.egress, 'counts'); r !== null; r = await h.popEgress(node.egress, 'counts')) {
    seen.push(JSON.parse(r.toString()));
  }
  assert.deepEqual(seen.filter((x) => x.id === 'k3').map((x) => x.count), [1, 2, 3, 4, 5]);
  await node.stop('SIGTERM');
});

test('a damaged checkpoint file stops the start with a message naming it', { timeout: 240000 }, async () => {
  const dataDir = h.makeTempDir('hearth-crash-');
  let node = await h.startNode({ module: moduleYaml, dataDir, args: ['--set', 'checkpoint.interval=200ms'] });
  await h.sendOk(node.ingress, 'test', 'counter', 'k4', 'inc');
  assert.equal(await node.stop('SIGTERM'), 0);
  const dir = path.join(dataDir, 'checkpoints');
  const parts = fs.readdirSync(dir).filter((f) => f.startsWith('part-')).sort();
  const victim = path.join(dir, parts[parts.length - 1]);
  fs.truncateSync(victim, Math.floor(fs.statSync(victim).size / 2));
  const run = await h.runNode({ module: moduleYaml, dataDir });
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, new RegExp(parts[parts.length - 1]));
});

test('an at-least-once egress shows records at once, before any checkpoint', { timeout: 120000 }, async () => {
  const dataDir = h.makeTempDir('hearth-crash-');
  const yaml = moduleYaml.replace(/topics: \[counts\]/, 'topics: [counts]\n  deliverySemantic: at-least-once');
  assert.notEqual(yaml, moduleYaml);
  const node = await h.startNode({ module: yaml, dataDir, args: ['--set', 'checkpoint.interval=1h'] });
  await h.sendOk(node.ingress, 'test', 'counter', 'k5', 'inc');
  const records = await h.collectEgress(node.egress, 'counts', 1, 30000);
  assert.deepEqual(JSON.parse(records[0].toString()), { id: 'k5', count: 1 });
  await node.stop('SIGTERM');
});

test('egress-only batches keep their records across a restore', { timeout: 240000 }, async () => {
  // Batches whose only effect is an egress record write no state; the numbers
  // their records carry must still be in every later checkpoint, or records
  // made after a restore would be taken for ones already released.
  const smoke = require('../functions/smoke');
  const server = await smoke.serveSmoke();
  const yaml = [
    'kind: io.statefun.endpoints.v2/http', 'spec:', '  functions: smoke/*',
    `  urlPathTemplate: http://127.0.0.1:${server.port}/`,
    '---', 'kind: io.statefun.playground.v1/ingress', 'spec:', '  port: 0',
    '---', 'kind: io.statefun.playground.v1/egress', 'spec:', '  port: 0', `  topics: [${smoke.TOPICS.effects}]`,
  ].join('\n');
  const dataDir = h.makeTempDir('hearth-crash-');
  const emit = (n, rid) => h.sendOk(n.ingress, 'smoke', 'interpreter', '7',
    { c: [{ t: 'egress', rid }] }, smoke.COMMANDS_TYPENAME);
  const drain = async (n, want) => {
    const got = [];
    await h.poll(async () => {
      for (let r = await h.popEgress(n.egress, smoke.TOPICS.effects); r !== null;
        r = await h.popEgress(n.egress, smoke.TOPICS.effects)) got.push(JSON.parse(r).rid);
      return got.length >= want.length;
    }, 30000, () => `records ${want} (got ${got})`);
    assert.deepEqual(got.sort(), [...want].sort());
  };
  try {
    let node = await h.startNode({ module: yaml, dataDir, args: ['--set', 'checkpoint.interval=100ms'] });
    for (let i = 0; i < 5; i++) await emit(node, `a${i}`);
    await drain(node, ['a0', 'a1', 'a2', 'a3', 'a4']);
    await h.sleep(500); // more checkpoints, with nothing new in them
    await node.stop('SIGKILL');
    node = await h.startNode({ module: yaml, dataDir, args: ['--set', 'checkpoint.interval=100ms'] });
    for (let i = 0; i < 5; i++) await emit(node, `b${i}`);
    await drain(node, ['b0', 'b1', 'b2', 'b3', 'b4']);
    await node.stop('SIGTERM');
  } finally {
    await server.close();
  }
});
