'use strict';
// A batch whose call budget runs out becomes a dead letter; the address moves
// on; dead letters can be replayed or deleted through the admin API.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

let fns;
let node;

before(async () => {
  fns = await startTestFunctions();
  node = await h.startNode({ module: h.testModule({ port: fns.port, call: '2s', connect: '1s' }) });
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

const flaky = () => fns.records.flaky;
const processed = (id) => (flaky().processed[id] || []).map((p) => p.label);
const sendLabel = (id, label) => h.sendOk(node.ingress, 'test', 'flaky', id, { label }, 'test/Command');
const isFor = (id) => (d) => d.address && d.address.namespace === 'test' && d.address.type === 'flaky' && d.address.id === id;

async function deadLetterFor(id) {
  return h.poll(async () => (await h.deadLetters(node.admin)).find(isFor(id)), 60000, `a dead letter for test/flaky:${id}`);
}

test('a message that keeps failing past the call budget becomes a dead letter', { timeout: 180000 }, async () => {
  flaky().failing = true;
  await sendLabel('dl', 'first');
  const dead = await deadLetterFor('dl');

  assert.equal(typeof dead.id, 'string');
  assert.ok(dead.id.length > 0);
  assert.deepEqual(dead.address, { namespace: 'test', type: 'flaky', id: 'dl' });
  assert.equal(typeof dead.reason, 'string');
  assert.ok(dead.reason.trim().length > 0, 'the dead letter gives a reason');
  assert.equal(typeof dead.time_ms, 'number');
  assert.ok(Math.abs(dead.time_ms - Date.now()) < 10 * 60 * 1000, `time_ms ${dead.time_ms} is a wall-clock time in ms`);
  assert.equal(dead.messages.length, 1);
  const [m] = dead.messages;
  assert.equal(m.typename, 'test/Command');
  assert.deepEqual(JSON.parse(Buffer.from(m.value_base64, 'base64').toString('utf8')), { label: 'first' });
  assert.equal(m.caller, null);
  assert.ok(flaky().attempts.dl > 1, `the call was retried (attempts: ${flaky().attempts.dl})`);
  assert.deepEqual(processed('dl'), []);
});

test('the address processes later messages once the function recovers', { timeout: 120000 }, async () => {
  flaky().failing = false;
  await sendLabel('dl', 'second');
  await h.poll(() => processed('dl').length >= 1, 60000, 'the second message');
  assert.deepEqual(processed('dl'), ['second'], 'the dead-lettered message is not re-delivered by itself');
});

test('replaying the dead letter delivers its message and removes it', { timeout: 120000 }, async () => {
  const dead = await deadLetterFor('dl');
  const res = await h.request(`${node.admin}/dead-letters/${encodeURIComponent(dead.id)}/replay`, { method: 'POST' });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { replayed: 1 });

  await h.poll(() => processed('dl').length >= 2, 60000, 'the replayed message');
  assert.deepEqual(processed('dl'), ['second', 'first']);
  assert.deepEqual(flaky().processed.dl.map((p) => p.count), [1, 2], 'state carried through');
  assert.deepEqual(await h.deadLetters(node.admin), []);

  const again = await h.request(`${node.admin}/dead-letters/${encodeURIComponent(dead.id)}/replay`, { method: 'POST' });
  assert.equal(again.status, 404, 'a replayed dead letter is gone');
});

test('a dead letter can be deleted without replaying it', { timeout: 180000 }, async () => {
  flaky().failing = true;
  await sendLabel('dl2', 'doomed');
  const dead = await deadLetterFor('dl2');
  flaky().failing = false;

  const res = await h.request(`${node.admin}/dead-letters/${encodeURIComponent(dead.id)}`, { method: 'DELETE' });
  assert.equal(res.status, 200, res.text);
  assert.equal((await h.deadLetters(node.admin)).find(isFor('dl2')), undefined);

  const replay = await h.request(`${node.admin}/dead-letters/${encodeURIComponent(dead.id)}/replay`, { method: 'POST' });
  assert.equal(replay.status, 404);
  await sendLabel('dl2', 'later');
  await h.poll(() => processed('dl2').length >= 1, 60000, 'a later message to dl2');
  assert.deepEqual(processed('dl2'), ['later']);
});

test('replaying an unknown dead letter is a 404', { timeout: 60000 }, async () => {
  const res = await h.request(`${node.admin}/dead-letters/no-such-id/replay`, { method: 'POST' });
  assert.equal(res.status, 404);
});
