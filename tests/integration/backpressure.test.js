'use strict';
// Back-pressure: when an address holds maxNumBatchRequests messages, further
// ingress requests for it wait instead of failing, while other addresses keep
// flowing; once the address drains every waiting request is accepted. When
// more senders would wait than the ingress has threads to spare, the excess
// is not held back (refused with 503 before it is logged, or taken without
// waiting) so that other addresses keep flowing.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

const MAX_BATCH = 3;
const N = 20;
// The window in which the waiting requests must stay unanswered.
const HOLD_MS = 3000;

let fns;
let node;

before(async () => {
  fns = await startTestFunctions();
  node = await h.startNode({
    module: h.testModule({ port: fns.port, call: '120s', connect: '5s', maxNumBatchRequests: MAX_BATCH }),
  });
});

after(async () => {
  if (fns) fns.gates.openAll();
  await h.cleanup();
  if (fns) await fns.close();
});

const gate = () => fns.records.gate;
const applied = (id) => gate().applied[id] || [];

// Reads test/gate:<id>'s stored count with a probe queued behind everything sent so far.
async function probe(id) {
  const reads = () => gate().reads[id] || [];
  const n = reads().length;
  await h.sendOk(node.ingress, 'test', 'gate', id, { op: 'get' }, 'test/Command');
  await h.poll(() => reads().length > n, 90000, `the probe of test/gate:${id}`);
  return reads()[n];
}

test('a full address back-pressures its ingress requests while other addresses flow', { timeout: 240000 }, async () => {
  const id = 'held';
  fns.gates.close(id);

  // N concurrent requests to the gated address; each slot records its answer.
  const answers = new Array(N).fill(null);
  const sentAt = Date.now();
  const requests = Array.from({ length: N }, (_, i) => h.send(node.ingress, 'test', 'gate', id, { label: i }, 'test/Command')
    .then((res) => {
      answers[i] = { status: res.status, text: res.text, json: res.json, at: Date.now() };
    }, (err) => {
      answers[i] = { status: 'error', text: String(err && err.stack ? err.stack : err), at: Date.now() };
    }));
  const answered = () => answers.filter(Boolean);
  const describe = () => JSON.stringify(answered().map((a) => [a.status, a.text.trim()]));

  // The first batch reaches the function and waits at the gate.
  await h.poll(() => (gate().blocked[id] || 0) >= 1, 60000, 'the first invocation to wait at the gate');
  // The address accepts the messages it has room for...
  await h.poll(() => answered().length >= 1, 60000, 'the first ingress answers');

  // ...and meanwhile other addresses are answered and processed: another id of
  // the same function type, and another function type.
  const otherId = 'free';
  const other = await Promise.all(Array.from({ length: 5 }, (_, i) => h.send(node.ingress, 'test', 'gate', otherId, { label: i }, 'test/Command')));
  assert.deepEqual(other.map((r) => r.status), [200, 200, 200, 200, 200], `answers for test/gate:${otherId}`);
  await h.poll(() => applied(otherId).length === 5, 30000,
    () => `5 messages applied on test/gate:${otherId} (got ${JSON.stringify(applied(otherId))})`);

  for (let i = 0; i < 3; i++) await h.sendOk(node.ingress, 'test', 'counter', 'neighbour', 'inc');
  await h.poll(() => fns.records.counter.counts.neighbour === 3, 30000,
    () => `3 increments on test/counter:neighbour (got ${fns.records.counter.counts.neighbour})`);

  // Keep the window open for at least HOLD_MS before looking at the gated requests.
  await h.sleep(Math.max(0, HOLD_MS - (Date.now() - sentAt)));
  const early = answered();
  assert.ok(fns.gates.isClosed(id) && gate().blocked[id] >= 1, 'the gate was still holding the first batch');
  assert.deepEqual(applied(id), [], 'nothing on the gated address was applied while the gate was closed');
  for (const a of early) {
    assert.equal(a.status, 200, `an ingress request was not back-pressured but answered: ${describe()}`);
  }
  // Room for MAX_BATCH messages (plus, at most, the one in flight); the rest wait.
  assert.ok(early.length <= MAX_BATCH + 1,
    `${early.length} of ${N} requests answered while the address was full (maxNumBatchRequests ${MAX_BATCH}): ${describe()}`);
  assert.ok(N - early.length >= N - MAX_BATCH - 1, 'requests are waiting');

  // Open the gate: every waiting request completes with 200.
  fns.gates.open(id);
  await h.poll(() => answered().length === N, 120000, () => `all ${N} ingress answers (got ${answered().length}: ${describe()})`);
  await Promise.all(requests);
  for (const a of answers) {
    assert.equal(a.status, 200, `ingress answers: ${describe()}`);
    assert.equal(a.json?.status, 'accepted', a.text);
  }
  const late = answers.filter((a) => !early.includes(a));
  assert.ok(late.length >= N - MAX_BATCH - 1, 'the waiting requests were answered after the gate opened');

  // Exactly N invocations applied, each message once, one request in flight at a time.
  await h.poll(() => applied(id).length >= N, 60000, () => `${N} messages applied on test/gate:${id} (got ${applied(id).length})`);
  assert.equal(await probe(id), N, 'the stored count');
  assert.deepEqual([...applied(id)].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i), 'every message applied once');
  assert.equal(gate().arrivals[id], N + 1, `invocations of test/gate:${id} (${N} messages and the probe)`);
  assert.equal(gate().maxInflight[id], 1, 'one invocation at a time');
  assert.equal(fns.stats.maxInflightByAddress[`test/gate/${id}`], 1, 'one request in flight per address');
  assert.equal(fns.stats.maxInflightByAddress[`test/gate/${otherId}`], 1, 'one request in flight per address');

  assert.deepEqual(await h.deadLetters(node.admin), [], 'nothing was dead-lettered');
  const res = await h.health(node.admin);
  assert.equal(res.status, 200);
  assert.equal(res.json?.status, 'ok');
});

test('after draining, the address accepts new messages without waiting', { timeout: 120000 }, async () => {
  const id = 'held';
  fns.gates.open(id);
  const before = applied(id).length;
  for (let i = 0; i < MAX_BATCH + 2; i++) {
    await h.sendOk(node.ingress, 'test', 'gate', id, { label: N + i }, 'test/Command');
  }
  await h.poll(() => applied(id).length === before + MAX_BATCH + 2, 60000, 'the later messages');
  assert.equal(await probe(id), N + MAX_BATCH + 2, 'the stored count');
  assert.equal(fns.stats.maxInflightByAddress[`test/gate/${id}`], 1);
});

test('more senders for a full address than ingress threads: the excess is not held back, other addresses keep flowing', { timeout: 240000 }, async (t) => {
  const THREADS = 8; // up to 6 (three quarters) may wait for room
  const MANY = 40;
  const small = await h.startNode({
    module: h.testModule({ port: fns.port, call: '120s', connect: '5s', maxNumBatchRequests: MAX_BATCH }),
    args: ['--set', `ingress.threads=${THREADS}`],
  });
  const id = 'crowded';
  fns.gates.close(id);
  const answers = new Array(MANY).fill(null);
  const requests = Array.from({ length: MANY }, (_, i) => h.send(small.ingress, 'test', 'gate', id, { label: i }, 'test/Command')
    .then((res) => { answers[i] = { status: res.status, json: res.json, text: res.text }; },
      (e) => { answers[i] = { status: 'error', text: String(e) }; }));
  try {
    // At most three quarters of the threads wait; every other request is
    // answered at once: refused before logging (503), or taken (200)...
    await h.poll(() => answers.filter(Boolean).length >= MANY - (THREADS - THREADS / 4), 60000,
      () => `the requests beyond those waiting to be answered (${JSON.stringify(answers.map((a) => a && a.status))})`);
    // ...and other addresses (with room: one message each) are answered and
    // applied while this one is full.
    const other = await Promise.all(Array.from({ length: 5 }, (_, i) =>
      h.send(small.ingress, 'test', 'gate', `uncrowded-${i}`, { label: i }, 'test/Command')));
    assert.deepEqual(other.map((r) => r.status), [200, 200, 200, 200, 200], JSON.stringify(other.map((r) => r.text)));
    await h.poll(() => [0, 1, 2, 3, 4].every((i) => applied(`uncrowded-${i}`).length === 1), 30000,
      'the other addresses applied');
    assert.deepEqual(applied(id), [], 'the crowded address applied nothing while its gate was closed');
  } finally {
    fns.gates.open(id);
  }
  await Promise.all(requests);
  const taken = answers.map((a, i) => (a.status === 200 ? i : null)).filter((i) => i !== null);
  const refused = answers.map((a, i) => (a.status === 503 ? i : null)).filter((i) => i !== null);
  assert.equal(taken.length + refused.length, MANY, `only 200 and 503: ${JSON.stringify(answers.map((a) => a.status))}`);
  t.diagnostic(`${taken.length} taken, ${refused.length} refused before logging`);
  for (const i of refused) assert.match(answers[i].json.error, /maxNumBatchRequests.*retry later/);
  // The refused messages were never logged: only the taken ones are applied...
  await h.poll(() => applied(id).length >= taken.length, 60000, 'the taken messages applied');
  assert.deepEqual([...applied(id)].sort((a, b) => a - b), taken, 'exactly the messages answered 200');
  // ...and sent again, they are taken now.
  for (const i of refused) await h.sendOk(small.ingress, 'test', 'gate', id, { label: i }, 'test/Command');
  await h.assertStoredCounts(small.admin, 'test', 'gate', { [id]: MANY });
  assert.equal(fns.stats.maxInflightByAddress[`test/gate/${id}`], 1, 'one request in flight per address');
  assert.equal(await small.stop('SIGTERM'), 0);
});
