'use strict';
// Idempotency-Key on the ingress: a key accepted within
// ingress.idempotency_retention is answered 200 "duplicate" with the offset
// of its first acceptance and not delivered again; once the retention has
// passed since that acceptance, the same key is a new message (a new offset,
// delivered once), and the window starts again from then. Keys are kept
// across a restart.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

const RETENTION_MS = 3000;

let fns;
let node; // retention RETENTION_MS
let durable; // retention 1 h

const startDurable = (dataDir) => h.startNode({
  module: h.testModule({ port: fns.port, call: '60s' }),
  args: ['--set', 'ingress.idempotency_retention=1h'],
  dataDir,
});

before(async () => {
  fns = await startTestFunctions();
  node = await h.startNode({
    module: h.testModule({ port: fns.port, call: '60s' }),
    args: ['--set', `ingress.idempotency_retention=${RETENTION_MS}ms`],
  });
  durable = await startDurable();
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

// PUTs "inc" to test/counter:<id> under `key`; resolves with the answer and
// when the request started and ended.
async function sendWithKey(ingress, id, key) {
  const startedAt = Date.now();
  const res = await h.request(`${ingress}/test/counter/${encodeURIComponent(id)}`, {
    method: 'PUT',
    headers: { 'Content-Type': `application/vnd.${h.STRING_TYPENAME}`, 'Idempotency-Key': key },
    body: h.encodeValue('inc', h.STRING_TYPENAME),
  });
  assert.equal(res.status, 200, `PUT test/counter:${id} (key ${key}): ${res.status} ${res.text}`);
  assert.ok(['accepted', 'duplicate'].includes(res.json?.status), res.text);
  assert.equal(typeof res.json.offset, 'number', res.text);
  return { status: res.json.status, offset: res.json.offset, startedAt, endedAt: Date.now() };
}

// The count test/counter:<id> sees, read by a probe queued behind everything
// sent to it so far: exact, not a lower bound.
async function probe(ingress, id) {
  const reads = () => fns.records.counter.reads[id] || [];
  const n = reads().length;
  await h.sendOk(ingress, 'test', 'counter', id, { op: 'get' }, 'test/Command');
  await h.poll(() => reads().length > n, 60000, `the probe of test/counter:${id}`);
  return reads()[n];
}

async function duplicatesCounted(n) {
  const res = await h.request(`${n.admin}/metrics`);
  const line = res.text.split('\n').find((l) => l.startsWith('hearth_ingress_requests{outcome="duplicate"}'));
  return line ? Number(line.split(' ')[1]) : 0;
}

test('a key repeated within the retention is a duplicate: same offset, applied once', { timeout: 120000 }, async () => {
  const id = 'within';
  const first = await sendWithKey(durable.ingress, id, 'key-within');
  assert.equal(first.status, 'accepted');
  const duplicatesBefore = await duplicatesCounted(durable);
  for (let i = 0; i < 3; i += 1) {
    const r = await sendWithKey(durable.ingress, id, 'key-within');
    assert.deepEqual([r.status, r.offset], ['duplicate', first.offset], 'the offset of the first acceptance');
  }
  assert.equal(await probe(durable.ingress, id), 1, 'applied once');
  assert.equal(fns.records.counter.invocations[id], 2, 'one increment and the probe');
  assert.equal(await duplicatesCounted(durable) - duplicatesBefore, 3, 'hearth_ingress_requests{outcome="duplicate"}');
});

test('the same key sent many times at once: one acceptance, every other answer a duplicate of it', { timeout: 120000 }, async () => {
  const id = 'concurrent';
  const COPIES = 24;
  const answers = await Promise.all(Array.from({ length: COPIES }, () => sendWithKey(durable.ingress, id, 'key-concurrent')));
  const accepted = answers.filter((a) => a.status === 'accepted');
  assert.equal(accepted.length, 1, JSON.stringify(answers));
  assert.deepEqual([...new Set(answers.map((a) => a.offset))], [accepted[0].offset], JSON.stringify(answers));
  assert.equal(await probe(durable.ingress, id), 1, 'applied once');
});

test('the same key after the retention is a new message; the window starts again', { timeout: 180000 }, async () => {
  const id = 'expiry';
  const key = 'key-expiry';
  const first = await sendWithKey(node.ingress, id, key);
  assert.equal(first.status, 'accepted');

  // Repeat the key until the node takes it as new: each answer before that
  // is a duplicate of the first acceptance.
  const answers = [];
  const renewed = await h.poll(async () => {
    const r = await sendWithKey(node.ingress, id, key);
    answers.push(r);
    return r.status === 'accepted' ? r : null;
  }, 60000, () => `the key to expire (answers: ${JSON.stringify(answers.map((a) => a.status))})`, 200);
  for (const r of answers.slice(0, -1)) {
    assert.equal(r.status, 'duplicate', JSON.stringify(r));
    assert.equal(r.offset, first.offset);
  }
  assert.ok(answers.length > 1, 'the key was a duplicate before it expired');
  assert.ok(renewed.endedAt - first.startedAt > RETENTION_MS,
    `taken as new only after the retention (${renewed.endedAt - first.startedAt} ms after the first)`);
  assert.ok(renewed.offset > first.offset, 'a new log record');

  // Renewed, the key is remembered again from its new acceptance.
  const again = await sendWithKey(node.ingress, id, key);
  if (again.endedAt - renewed.startedAt < RETENTION_MS) {
    assert.equal(again.status, 'duplicate', JSON.stringify(again));
    assert.equal(again.offset, renewed.offset);
  }
  const expected = 2 + (again.status === 'accepted' ? 1 : 0);
  assert.equal(await probe(node.ingress, id), expected, 'the first acceptance and the renewal, each applied once');
  assert.equal(fns.records.counter.counts[id], expected);
});

test('keys still within the retention are kept across a restart', { timeout: 180000 }, async () => {
  const id = 'restart';
  const first = await sendWithKey(durable.ingress, id, 'key-restart');
  assert.equal(first.status, 'accepted');
  assert.equal(await probe(durable.ingress, id), 1);
  assert.equal(await durable.stop(), 0);

  const restarted = await startDurable(durable.dataDir);
  const again = await sendWithKey(restarted.ingress, id, 'key-restart');
  assert.deepEqual([again.status, again.offset], ['duplicate', first.offset]);
  const other = await sendWithKey(restarted.ingress, id, 'key-restart-2');
  assert.equal(other.status, 'accepted');
  assert.equal(await probe(restarted.ingress, id), 2, 'the repeat was not applied, the new key was');
  assert.equal(await restarted.stop(), 0);
});
