'use strict';
// Graceful shutdown loses nothing: messages buffered at an address and the
// batch in flight when SIGTERM arrives are persisted, and a new node on the
// same data directory processes them. The function may see the batch that
// was in flight a second time (as after a StateFun recovery), so the checks
// are on stored state, which must count every message exactly once.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

let fns;
let node;
let dataDir;
let moduleYaml;

before(async () => {
  fns = await startTestFunctions();
  dataDir = h.makeTempDir('hearth-shutdown-');
  moduleYaml = h.testModule({ port: fns.port, call: '120s', connect: '5s' });
  node = await h.startNode({ module: moduleYaml, dataDir });
});

after(async () => {
  if (fns) fns.gates.openAll();
  await h.cleanup();
  if (fns) await fns.close();
});

// Reads the stored count of <type>:<id> ({op:"get"} only reads), with a probe
// queued behind everything sent so far.
async function probe(type, id) {
  const reads = () => fns.records[type].reads[id] || [];
  const n = reads().length;
  await h.sendOk(node.ingress, 'test', type, id, { op: 'get' }, 'test/Command');
  await h.poll(() => reads().length > n, 90000, `the probe of test/${type}:${id}`);
  return reads()[n];
}

// Probes until the stored count reaches `expected` (the re-sent messages may
// still be on their way), then checks it is exactly that, twice.
async function assertStoredCount(type, id, expected) {
  let last;
  await h.poll(async () => {
    last = await probe(type, id);
    return last >= expected;
  }, 120000, () => `stored count ${expected} on test/${type}:${id} (last read ${last})`, 200);
  assert.equal(last, expected, `stored count of test/${type}:${id}`);
  assert.equal(await probe(type, id), expected, `stored count of test/${type}:${id}, read again`);
}

// Stops the node with SIGTERM; checks exit code 0 and the persisted-messages
// log line(s); returns the number of persisted messages the node reported.
async function stopGracefully(expectedPersisted) {
  const code = await node.stop('SIGTERM');
  const stderr = node.stderr();
  assert.equal(code, 0, `exit code after SIGTERM\n${stderr.slice(-4000)}`);
  assert.ok(stderr.includes('unfinished message'), `the node logged the unfinished messages it persisted\n${stderr.slice(-4000)}`);
  const counts = [...stderr.matchAll(/persisted (\d+) unfinished message/g)].map((m) => Number(m[1]));
  if (counts.length > 0) {
    const total = counts.reduce((a, b) => a + b, 0);
    assert.equal(total, expectedPersisted, `persisted messages reported on stderr\n${stderr.slice(-4000)}`);
  }
}

async function sendAll(type, id, count, makeBody) {
  const answers = await Promise.all(Array.from({ length: count },
    (_, i) => h.send(node.ingress, 'test', type, id, makeBody(i), 'test/Command')));
  assert.deepEqual(answers.map((r) => r.status), Array(count).fill(200), `ingress answers for test/${type}:${id}`);
}

test('buffered messages and the batch in flight survive SIGTERM and a restart', { timeout: 240000 }, async () => {
  const gate = fns.records.gate;
  const sent = { main: 15, 'side-a': 3, 'side-b': 2 };
  for (const id of Object.keys(sent)) fns.gates.close(id);

  // Processed before the shutdown: must be kept, not repeated.
  for (let i = 0; i < 4; i++) await h.sendOk(node.ingress, 'test', 'counter', 'done-before', 'inc');
  await h.poll(() => fns.records.counter.counts['done-before'] === 4, 60000, 'test/counter:done-before to reach 4');

  for (const [id, n] of Object.entries(sent)) await sendAll('gate', id, n, (i) => ({ label: i }));
  for (const id of Object.keys(sent)) {
    await h.poll(() => (gate.blocked[id] || 0) >= 1, 60000, `a batch of test/gate:${id} in flight at the gate`);
  }
  assert.deepEqual(gate.applied, {}, 'nothing applied while the gates were closed');

  const total = Object.values(sent).reduce((a, b) => a + b, 0);
  await stopGracefully(total);

  // The function comes back: the held invocations of the stopped node finish
  // into closed connections and change nothing.
  fns.gates.openAll();
  await h.poll(() => Object.keys(sent).every((id) => (gate.blocked[id] || 0) === 0
    && (fns.stats.inflightByAddress[`test/gate/${id}`] || 0) === 0), 30000, 'the held invocations to finish');

  node = await h.startNode({ module: moduleYaml, dataDir });
  for (const [id, n] of Object.entries(sent)) {
    await assertStoredCount('gate', id, n);
    const labels = new Set(gate.applied[id] || []);
    assert.deepEqual([...labels].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i),
      `every message of test/gate:${id} reached the function`);
  }
  await assertStoredCount('counter', 'done-before', 4);
  assert.equal(fns.stats.maxInflightByAddress['test/gate/main'], 1, 'one request in flight per address');

  assert.deepEqual(await h.deadLetters(node.admin), [], 'nothing was dead-lettered');
  const res = await h.health(node.admin);
  assert.equal(res.status, 200);
  assert.equal(res.json?.status, 'ok');
});

test('messages sent while the function server refuses connections survive SIGTERM and a restart', { timeout: 240000 }, async () => {
  const sent = { 'refused-main': 15, 'refused-side': 3 };
  const requestsBefore = fns.stats.requests;

  await fns.down('refuse');
  for (const [id, n] of Object.entries(sent)) await sendAll('counter', id, n, () => ({ op: 'inc' }));
  // Give the node time to start calling the server, so a batch is in flight
  // (being retried) when the signal arrives.
  const res = await h.health(node.admin);
  assert.equal(res.status, 200);
  await h.sleep(1000);

  const total = Object.values(sent).reduce((a, b) => a + b, 0);
  await stopGracefully(total);
  assert.equal(fns.stats.requests, requestsBefore, 'no call reached the function while it was down');

  await fns.up();
  node = await h.startNode({ module: moduleYaml, dataDir });
  for (const [id, n] of Object.entries(sent)) await assertStoredCount('counter', id, n);
  // State from the first part of this file is still there.
  await assertStoredCount('gate', 'main', 15);

  assert.deepEqual(await h.deadLetters(node.admin), [], 'nothing was dead-lettered');
  const health = await h.health(node.admin);
  assert.equal(health.status, 200);
  assert.equal(health.json?.status, 'ok');
});
