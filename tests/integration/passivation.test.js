'use strict';
// Passivation: an address actor idle for passivation.idle_ms, or beyond
// passivation.max_live live actors per partition (least recently used first),
// is stopped; its state stays in the partition's LMDB store. The admin API
// no longer lists it as live; the next message spawns it again with its
// stored state, and every message is applied exactly once across any number
// of passivations.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

let fns;

before(async () => {
  fns = await startTestFunctions();
});

after(async () => {
  if (fns) fns.gates.openAll();
  await h.cleanup();
  if (fns) await fns.close();
});

// The live actors of `type` (admin API), as ids.
async function liveIds(node, type, prefix = '') {
  const res = await h.request(`${node.admin}/actors?type=${encodeURIComponent(type)}&prefix=${encodeURIComponent(prefix)}&limit=1000`);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.total, res.json.actors.length, res.text);
  return res.json.actors.map((a) => a.address.id);
}

async function detail(node, type, id) {
  const res = await h.request(`${node.admin}/actors/${type}/${encodeURIComponent(id)}`);
  assert.equal(res.status, 200, res.text);
  return res.json;
}

async function metric(node, name) {
  const res = await h.request(`${node.admin}/metrics`);
  assert.equal(res.status, 200);
  const line = res.text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

// PUTs a command and waits until it is applied; fails unless it was.
async function sendApplied(node, type, id, body) {
  const res = await h.request(`${node.ingress}/test/${type}/${encodeURIComponent(id)}?wait=true&timeout_ms=120000`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/vnd.test/Command' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, `test/${type}:${id}: ${res.status} ${res.text}`);
  assert.equal(res.json?.applied?.failed, false, res.text);
  return res.json;
}

const gate = () => fns.records.gate;

test('an idle address is passivated and reloaded from the store: its state continues exactly', { timeout: 180000 }, async () => {
  const node = await h.startNode({
    module: h.testModule({ port: fns.port, call: '60s' }),
    args: ['--set', 'partitions=1', '--set', 'passivation.idle_ms=300'],
  });
  const id = 'sleepy';
  const passivationsBefore = await metric(node, 'hearth_passivations');

  // Busy (its first message held at the function): live, whatever the idle time.
  fns.gates.close(id);
  const first = h.sendOk(node.ingress, 'test', 'gate', id, { label: 0 }, 'test/Command');
  await h.poll(() => gate().blocked[id] === 1, 60000, 'the first invocation at the gate');
  assert.deepEqual(await liveIds(node, 'test/gate'), [id], 'listed as live while busy');
  const busy = await detail(node, 'test/gate', id);
  assert.equal(busy.live, true);
  assert.equal(busy.busy, true);
  for (let i = 1; i < 5; i += 1) await h.sendOk(node.ingress, 'test', 'gate', id, { label: i }, 'test/Command');
  fns.gates.open(id);
  await first;
  await h.assertStoredCounts(node.admin, 'test', 'gate', { [id]: 5 });

  // Idle: passivated within a sweep or two.
  await h.poll(async () => (await liveIds(node, 'test/gate')).length === 0, 60000, `test/gate:${id} to be passivated`);
  const idle = await detail(node, 'test/gate', id);
  assert.equal(idle.live, false, JSON.stringify(idle));
  assert.equal(idle.states.count.value, 5, 'the state stays in the store');
  assert.ok(await metric(node, 'hearth_passivations') > passivationsBefore, 'hearth_passivations counts it');

  // The next messages spawn it again with the stored state.
  const logBefore = fns.stats.log.length;
  for (let i = 5; i < 8; i += 1) await sendApplied(node, 'gate', id, { label: i });
  await h.assertStoredCounts(node.admin, 'test', 'gate', { [id]: 8 });
  assert.equal(gate().counts[id], 8, 'the function counted on from the stored state');
  assert.deepEqual(gate().applied[id], [0, 1, 2, 3, 4, 5, 6, 7], 'every message applied once, in order');
  const reloaded = fns.stats.log.slice(logBefore).filter((e) => e.fn === 'test/gate' && e.id === id);
  assert.ok(reloaded.length >= 1);
  assert.deepEqual(reloaded[0].state, [{ name: 'count', hasValue: true }],
    'the first call after the reload carries the stored state (no new handshake)');
  assert.equal(reloaded[0].response, 'result');
  assert.deepEqual(await h.deadLetters(node.admin), []);
  assert.equal(await node.stop(), 0);
});

test('a delayed message wakes its passivated target, which continues from its stored state', { timeout: 180000 }, async () => {
  const node = await h.startNode({
    module: h.testModule({ port: fns.port, call: '60s' }),
    args: ['--set', 'partitions=1', '--set', 'passivation.idle_ms=300'],
  });
  const target = 'wake-me';
  const deliveries = () => fns.records.recorder.deliveries[target] || [];
  for (const label of ['one', 'two']) await h.sendOk(node.ingress, 'test', 'recorder', target, label);
  await h.assertStoredCounts(node.admin, 'test', 'recorder', { [target]: 2 });

  const DELAY_MS = 8000;
  await sendApplied(node, 'delayer', 'waker', { op: 'send', delayMs: DELAY_MS, token: 'wake', target, label: 'three' });
  // Sender and target are both passivated while the message waits in the store.
  await h.poll(async () => (await liveIds(node, 'test/recorder')).length === 0
    && (await liveIds(node, 'test/delayer')).length === 0, 60000, 'sender and target passivated');
  assert.equal(deliveries().length, 2, 'passivated before the delayed message was due');
  const waiting = await detail(node, 'test/delayer', 'waker');
  assert.equal(waiting.live, false);
  assert.equal(waiting.delayed_messages.length, 1, JSON.stringify(waiting.delayed_messages));

  await h.poll(() => deliveries().length >= 3, 60000, 'the delayed message');
  await h.assertStoredCounts(node.admin, 'test', 'recorder', { [target]: 3 });
  assert.deepEqual(deliveries().map((d) => [d.value, d.count]), [['one', 1], ['two', 2], ['three', 3]]);
  assert.deepEqual(deliveries()[2].caller, { namespace: 'test', type: 'delayer', id: 'waker' });
  const gone = await h.request(`${node.admin}/actors/test/delayer/waker`);
  assert.equal(gone.status, 404, `nothing left of test/delayer:waker (no state, not live): ${gone.text}`);
  assert.deepEqual(await h.deadLetters(node.admin), []);
  assert.equal(await node.stop(), 0);
});

test('beyond passivation.max_live the least recently used idle addresses are passivated', { timeout: 180000 }, async () => {
  const MAX_LIVE = 3;
  const node = await h.startNode({
    module: h.testModule({ port: fns.port, call: '60s' }),
    args: ['--set', 'partitions=1', '--set', `passivation.max_live=${MAX_LIVE}`, '--set', 'passivation.idle_ms=3600000'],
  });
  const ids = Array.from({ length: 6 }, (_, i) => `lru-${i}`);
  // One after the other: lru-0 is the least recently used.
  for (const id of ids) await sendApplied(node, 'counter', id, 'inc');
  await h.poll(async () => (await liveIds(node, 'test/counter', 'lru-')).length === MAX_LIVE, 60000,
    `${MAX_LIVE} live actors`);
  assert.deepEqual((await liveIds(node, 'test/counter', 'lru-')).sort(), ['lru-3', 'lru-4', 'lru-5'],
    'the most recently used stay live');
  for (const id of ids) assert.equal((await detail(node, 'test/counter', id)).states.count.value, 1, id);

  // A passivated one comes back with its state; the least recently used
  // (lru-3) makes room for it.
  await sendApplied(node, 'counter', 'lru-0', 'inc');
  await h.poll(async () => {
    const live = (await liveIds(node, 'test/counter', 'lru-')).sort();
    return live.length === MAX_LIVE && live.join() === 'lru-0,lru-4,lru-5';
  }, 60000, 'lru-0 live again and lru-3 passivated');
  await h.assertStoredCounts(node.admin, 'test', 'counter', {
    'lru-0': 2, 'lru-1': 1, 'lru-2': 1, 'lru-3': 1, 'lru-4': 1, 'lru-5': 1,
  });
  assert.equal(fns.records.counter.counts['lru-0'], 2, 'the function counted on from the stored state');
  assert.deepEqual(await h.deadLetters(node.admin), []);
  assert.equal(await node.stop(), 0);
});

test('addresses passivated and reloaded between every round of messages: each message applied exactly once', { timeout: 300000 }, async () => {
  const node = await h.startNode({
    module: h.testModule({ port: fns.port, call: '60s' }),
    args: ['--set', 'partitions=2', '--set', 'passivation.idle_ms=1', '--set', 'passivation.max_live=1'],
  });
  const ADDRESSES = 16;
  const ROUNDS = 8;
  const ids = Array.from({ length: ADDRESSES }, (_, i) => `churn-${i}`);
  const passivationsBefore = await metric(node, 'hearth_passivations');
  for (let round = 0; round < ROUNDS; round += 1) {
    // Each address gets three messages at once (batched or not), then the
    // round waits for every address to be passivated.
    await h.runParallel(ADDRESSES * 3, 12, (i) => h.sendOk(node.ingress, 'test', 'counter', ids[i % ADDRESSES], 'inc'));
    const expected = Object.fromEntries(ids.map((id) => [id, 3 * (round + 1)]));
    await h.assertStoredCounts(node.admin, 'test', 'counter', expected);
    await h.poll(async () => (await liveIds(node, 'test/counter', 'churn-')).length === 0, 60000,
      `every churn address passivated after round ${round}`);
  }
  const passivations = await metric(node, 'hearth_passivations') - passivationsBefore;
  assert.ok(passivations >= ADDRESSES * ROUNDS, `${passivations} passivations`);
  for (const id of ids) {
    assert.equal(fns.records.counter.counts[id], 3 * ROUNDS, `the function's count of ${id}`);
    assert.equal(fns.records.counter.invocations[id], 3 * ROUNDS, `invocations of ${id}: none twice`);
    assert.equal(fns.records.counter.maxInflight[id], 1, `one invocation of ${id} at a time`);
  }
  assert.deepEqual(await h.deadLetters(node.admin), []);
  const res = await h.health(node.admin);
  assert.equal(res.status, 200, res.text);
  assert.equal(await node.stop(), 0);
});

test('messages keep flowing while sweeps passivate addresses between them: each applied exactly once', { timeout: 300000 }, async () => {
  const node = await h.startNode({
    module: h.testModule({ port: fns.port, call: '60s' }),
    args: ['--set', 'partitions=2', '--set', 'passivation.idle_ms=1'],
  });
  const ADDRESSES = 12;
  const WANTED = 40; // passivations while the messages flow
  const ids = Array.from({ length: ADDRESSES }, (_, i) => `stream-${i}`);
  const sent = Object.fromEntries(ids.map((id) => [id, 0]));
  const passivationsBefore = await metric(node, 'hearth_passivations');
  const deadline = Date.now() + 180000;
  let passivations = 0;
  // A steady stream, a few messages in flight at a time, so that addresses
  // are idle for moments between their messages when a sweep comes by.
  while (passivations < WANTED) {
    assert.ok(Date.now() < deadline, `only ${passivations} passivations while messages flowed`);
    await h.runParallel(ADDRESSES * 2, 3, async (i) => {
      const id = ids[i % ADDRESSES];
      await h.sendOk(node.ingress, 'test', 'counter', id, 'inc');
      sent[id] += 1;
    });
    passivations = await metric(node, 'hearth_passivations') - passivationsBefore;
  }
  await h.assertStoredCounts(node.admin, 'test', 'counter', sent);
  for (const id of ids) {
    assert.equal(fns.records.counter.counts[id], sent[id], `the function's count of ${id}`);
    assert.equal(fns.records.counter.invocations[id], sent[id], `invocations of ${id}: none twice`);
  }
  assert.deepEqual(await h.deadLetters(node.admin), []);
  assert.equal(await node.stop(), 0);
});
