'use strict';
// partition.max_pending: once a partition holds that many invocations
// (received, not yet completed), a further ingress request is logged and its
// message handed to its address, but the sender gets no answer until the
// partition is back at max_pending (or its own message is applied): it
// waits, with no 4xx or 5xx. At most three quarters of ingress.threads
// senders wait; a sender beyond them is not held back, and must not grow the
// partition without bound either (the setting bounds memory). Nothing is
// lost: every message taken is applied exactly once.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

const MAX_PENDING = 4;
const N = 12; // distinct addresses, one message each
// The window in which the held requests must stay unanswered.
const HOLD_MS = 2000;

let fns;
let node;

before(async () => {
  fns = await startTestFunctions();
  node = await h.startNode({
    module: h.testModule({ port: fns.port, call: '120s' }),
    args: ['--set', 'partitions=1', '--set', `partition.max_pending=${MAX_PENDING}`],
  });
});

after(async () => {
  if (fns) fns.gates.openAll();
  await h.cleanup();
  if (fns) await fns.close();
});

const gate = () => fns.records.gate;
const blocked = (ids) => ids.reduce((sum, id) => sum + (gate().blocked[id] || 0), 0);

async function pendingInvocations() {
  const res = await h.health(node.admin);
  assert.equal(res.status, 200, `the node is healthy while senders wait: ${res.text}`);
  assert.equal(res.json.partitions.length, 1);
  return res.json.partitions[0].pending_invocations;
}

test(`at partition.max_pending (${MAX_PENDING}) further senders wait for room; nothing is lost`, { timeout: 240000 }, async () => {
  const ids = Array.from({ length: N }, (_, i) => `p${i}`);
  for (const id of ids) fns.gates.close(id);

  const answers = new Array(N).fill(null);
  const requests = ids.map((id, i) => h.send(node.ingress, 'test', 'gate', id, { label: i }, 'test/Command')
    .then((res) => {
      answers[i] = { status: res.status, text: res.text, json: res.json };
    }, (err) => {
      answers[i] = { status: 'error', text: String(err && err.stack ? err.stack : err) };
    }));
  const answered = () => answers.filter(Boolean);
  const describe = () => JSON.stringify(answers.map((a) => a && [a.status, a.text.trim()]));

  // Every message reached its address (each is at its function's gate), so
  // the partition holds N invocations; only MAX_PENDING senders have been
  // answered, and the others wait.
  await h.poll(() => blocked(ids) === N, 60000, () => `all ${N} invocations at the gate (${blocked(ids)})`);
  await h.poll(() => answered().length >= MAX_PENDING, 60000, () => `${MAX_PENDING} answers (${describe()})`);
  assert.equal(await pendingInvocations(), N);
  await h.sleep(HOLD_MS); // absence of answers: nothing to wait for
  assert.equal(answered().length, MAX_PENDING, `answered while the partition held ${N}: ${describe()}`);
  for (const a of answered()) {
    assert.equal(a.status, 200, describe());
    assert.equal(a.json?.status, 'accepted', describe());
  }

  const answeredIds = () => ids.filter((id, i) => answers[i] !== null);
  const first = answeredIds();
  const held = ids.filter((id) => !first.includes(id));

  // The answered senders' messages complete: the partition holds N - 4,
  // still over max_pending, and the held senders keep waiting.
  for (const id of first) fns.gates.open(id);
  await h.assertStoredCounts(node.admin, 'test', 'gate', Object.fromEntries(first.map((id) => [id, 1])));
  await h.poll(async () => (await pendingInvocations()) === N - MAX_PENDING, 60000, `${N - MAX_PENDING} pending`);
  await h.sleep(HOLD_MS); // absence of answers again
  assert.deepEqual(answeredIds(), first, `answered while the partition held ${N - MAX_PENDING}: ${describe()}`);

  // Three held messages complete: their senders are answered (the message is
  // applied), the partition holds MAX_PENDING + 1 and the others still wait.
  const done = held.slice(0, N - 2 * MAX_PENDING - 1);
  for (const id of done) fns.gates.open(id);
  await h.assertStoredCounts(node.admin, 'test', 'gate', Object.fromEntries(done.map((id) => [id, 1])));
  await h.poll(async () => (await pendingInvocations()) === MAX_PENDING + 1, 60000, `${MAX_PENDING + 1} pending`);
  await h.poll(() => answeredIds().length === first.length + done.length, 60000,
    () => `the senders of the applied messages answered (${describe()})`);
  await h.sleep(HOLD_MS); // absence of answers for the rest
  assert.deepEqual(answeredIds().sort(), [...first, ...done].sort(),
    `answered while the partition held ${MAX_PENDING + 1}: ${describe()}`);

  // One more completes: back at MAX_PENDING, every waiting sender is
  // answered, though the messages of MAX_PENDING of them are still pending.
  const still = held.slice(done.length + 1);
  assert.equal(still.length, MAX_PENDING);
  fns.gates.open(held[done.length]);
  await h.poll(() => answered().length === N, 60000, () => `all ${N} answers (${describe()})`);
  assert.equal(blocked(still), MAX_PENDING, 'their messages are still at the gate');
  await Promise.all(requests);
  for (const a of answers) {
    assert.equal(a.status, 200, describe());
    assert.equal(a.json?.status, 'accepted', describe());
  }
  assert.equal(new Set(answers.map((a) => a.json.offset)).size, N, `one log record each: ${describe()}`);

  // The rest complete; every message applied exactly once.
  fns.gates.openAll();
  await h.assertStoredCounts(node.admin, 'test', 'gate', Object.fromEntries(ids.map((id) => [id, 1])));
  ids.forEach((id, i) => assert.deepEqual(gate().applied[id], [i], `test/gate:${id}`));
  assert.equal(await pendingInvocations(), 0);
  assert.deepEqual(await h.deadLetters(node.admin), []);
});

test('with room again, senders are answered at once', { timeout: 120000 }, async () => {
  for (let i = 0; i < 2 * MAX_PENDING; i += 1) {
    await h.sendOk(node.ingress, 'test', 'counter', `after-${i}`, 'inc');
  }
  await h.assertStoredCounts(node.admin, 'test', 'counter',
    Object.fromEntries(Array.from({ length: 2 * MAX_PENDING }, (_, i) => [`after-${i}`, 1])));
  const res = await h.health(node.admin);
  assert.equal(res.status, 200, res.text);
});

test('beyond the senders the ingress lets wait (three quarters of ingress.threads) the others are not held back; nothing is lost', { timeout: 240000 }, async (t) => {
  const THREADS = 8; // up to 6 senders wait for room
  const WAITING = THREADS - THREADS / 4;
  const MANY = 20;
  const small = await h.startNode({
    module: h.testModule({ port: fns.port, call: '120s' }),
    args: ['--set', 'partitions=1', '--set', 'partition.max_pending=2', '--set', `ingress.threads=${THREADS}`],
  });
  const ids = Array.from({ length: MANY }, (_, i) => `crowd-${i}`);
  for (const id of ids) fns.gates.close(id);
  // The partition is filled first (max_pending=2, both held at the gate), so
  // every sender of the crowd waits for room: none is let go by an accept
  // racing with the others' arrival, and exactly WAITING are held.
  const fill = ['fill-0', 'fill-1'];
  for (const id of fill) fns.gates.close(id);
  for (const id of fill) await h.sendOk(small.ingress, 'test', 'gate', id, { label: 0 }, 'test/Command');
  await h.poll(() => blocked(fill) === fill.length, 60000, 'the partition filled');
  const answers = new Array(MANY).fill(null);
  const requests = ids.map((id, i) => h.send(small.ingress, 'test', 'gate', id, { label: i }, 'test/Command')
    .then((res) => {
      answers[i] = { status: res.status, text: res.text, json: res.json };
    }, (err) => {
      answers[i] = { status: 'error', text: String(err && err.stack ? err.stack : err) };
    }));
  const describe = () => JSON.stringify(answers.map((a) => a && [a.status, a.text.trim()]));
  const refusedIds = () => ids.filter((id, i) => answers[i] && answers[i].status === 503);
  try {
    // WAITING senders wait; every other one is answered: taken (200) or
    // refused before its message is logged (503, retry later).
    await h.poll(() => answers.filter(Boolean).length >= MANY - WAITING, 60000,
      () => `${MANY - WAITING} answers (${describe()})`);
    await h.poll(() => blocked(ids) === MANY - refusedIds().length, 60000,
      () => `the taken messages at the gate (${blocked(ids)})`);
    await h.sleep(HOLD_MS); // absence of answers for the waiting senders
    assert.equal(answers.filter(Boolean).length, MANY - WAITING, `${WAITING} senders wait: ${describe()}`);
    for (const a of answers.filter(Boolean)) {
      assert.ok(a.status === 200 || a.status === 503, describe());
      if (a.status === 503) assert.match(a.json?.error, /retry/i, describe());
    }
    // The ingress answers others meanwhile, and the node is healthy.
    const extra = await h.send(small.ingress, 'test', 'counter', 'crowd-extra', 'inc');
    assert.ok(extra.status === 200 || extra.status === 503, `${extra.status} ${extra.text}`);
    assert.equal((await h.health(small.admin)).status, 200);
  } finally {
    for (const id of [...fill, ...ids]) fns.gates.open(id);
  }
  await Promise.all(requests);
  const refused = refusedIds();
  const taken = ids.filter((id) => !refused.includes(id));
  t.diagnostic(`${taken.length} taken, ${refused.length} refused before logging`);
  for (const [i, a] of answers.entries()) {
    assert.ok(a.status === 200 || refused.includes(ids[i]), describe());
    if (a.status === 200) assert.equal(a.json?.status, 'accepted', describe());
  }
  // The taken messages are applied once, the refused ones not at all; sent
  // again, they are taken.
  await h.assertStoredCounts(small.admin, 'test', 'gate', Object.fromEntries(taken.map((id) => [id, 1])));
  for (const id of refused) assert.equal(await h.storedInt(small.admin, 'test', 'gate', id), 0, id);
  for (const id of refused) await h.sendOk(small.ingress, 'test', 'gate', id, { label: ids.indexOf(id) }, 'test/Command');
  await h.assertStoredCounts(small.admin, 'test', 'gate', Object.fromEntries(ids.map((id) => [id, 1])));
  ids.forEach((id, i) => assert.deepEqual(gate().applied[id], [i], `test/gate:${id}`));
  assert.deepEqual(await h.deadLetters(small.admin), []);
  assert.equal(await small.stop(), 0);
});

test('senders that are not held back do not grow the partition past max_pending and the waiting senders', { timeout: 240000 }, async (t) => {
  // partition.max_pending bounds a partition's memory: once WAITING senders
  // wait for room, a further message must not be taken without bound
  // (refused before logging, 503 retry later, as for a full address).
  const THREADS = 8;
  const WAITING = THREADS - THREADS / 4;
  const MAX = 2;
  const EXTRA = 100;
  const small = await h.startNode({
    module: h.testModule({ port: fns.port, call: '120s' }),
    args: ['--set', 'partitions=1', '--set', `partition.max_pending=${MAX}`, '--set', `ingress.threads=${THREADS}`],
  });
  const ids = Array.from({ length: MAX + WAITING + EXTRA }, (_, i) => `bound-${i}`);
  for (const id of ids) fns.gates.close(id);
  const first = ids.slice(0, MAX + WAITING);
  const statuses = {};
  let held = [];
  let pending;
  try {
    // MAX messages are taken at once; then WAITING senders wait for room.
    // (Sent in this order: were they all sent at once, a sender could find
    // WAITING others waiting already and be refused, as the loop below
    // expects of the extra ones.)
    for (const id of first.slice(0, MAX)) {
      const res = await h.send(small.ingress, 'test', 'gate', id, {}, 'test/Command');
      assert.equal(res.status, 200, `${id}: ${res.text}`);
      statuses[id] = res.status;
    }
    held = first.slice(MAX).map((id) => h.send(small.ingress, 'test', 'gate', id, {}, 'test/Command')
      .then((res) => { statuses[id] = res.status; }));
    await h.poll(() => blocked(first) === first.length, 60000, () => `${first.length} at the gate (${blocked(first)})`);
    assert.equal(Object.keys(statuses).length, MAX, 'the waiting senders are not answered');
    // One sender after the other: each is answered at once (none is held:
    // WAITING wait already), taken or refused.
    for (const id of ids.slice(first.length)) {
      const res = await h.send(small.ingress, 'test', 'gate', id, {}, 'test/Command');
      statuses[id] = res.status;
      assert.ok(res.status === 200 || res.status === 503, `${id}: ${res.status} ${res.text}`);
    }
    const res = await h.health(small.admin);
    pending = res.json.partitions[0].pending_invocations;
    t.diagnostic(`pending_invocations ${pending} after ${EXTRA} more senders, `
      + `${Object.values(statuses).filter((s) => s === 200).length} of ${ids.length} taken`);
  } finally {
    for (const id of ids) fns.gates.open(id);
  }
  await Promise.all(held);
  const taken = ids.filter((id) => statuses[id] === 200);
  await h.assertStoredCounts(small.admin, 'test', 'gate', Object.fromEntries(taken.map((id) => [id, 1])));
  assert.equal(await small.stop(), 0);
  assert.ok(pending <= MAX + WAITING,
    `the partition holds ${pending} invocations, over partition.max_pending (${MAX}) and the ${WAITING} waiting senders`);
});
