'use strict';
// Bad effects in a function's answer (unknown target type, unknown egress,
// duplicate cancellation token, undeclared playground topic) become dead
// letters naming the problem; the rest of the same answer is applied and the
// node keeps going. StateFun would fail the whole job instead.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { StateFun } = require('apache-flink-statefun');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

const TOPIC = 'effects-out';

let fns;
let node;

before(async () => {
  fns = await startTestFunctions();
  node = await h.startNode({
    module: h.testModule({ port: fns.port, call: '60s', connect: '5s', egressTopics: [TOPIC] }),
  });
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

const calls = (id) => fns.records.effects.calls[id] || [];
const deliveries = (id) => fns.records.recorder.deliveries[id] || [];
const effectsAddress = (id) => ({ namespace: 'test', type: 'effects', id });
const decodeString = (b64) => StateFun.stringType().deserialize(Buffer.from(b64, 'base64'));

// Sends a command to test/effects:<id> and waits until the function ran it.
async function run(id, cmd) {
  const n = calls(id).length;
  await h.sendOk(node.ingress, 'test', 'effects', id, cmd, 'test/Command');
  await h.poll(() => calls(id).length > n, 60000, `test/effects:${id} to run ${JSON.stringify(cmd)}`);
  return calls(id)[n];
}

async function delivered(id, count = 1) {
  await h.poll(() => deliveries(id).length >= count, 60000,
    () => `${count} deliveries to test/recorder:${id} (got ${JSON.stringify(deliveries(id))})`);
  return deliveries(id);
}

// The dead letters holding a message sent by test/effects:<id>.
async function deadLettersFrom(id) {
  return (await h.deadLetters(node.admin)).filter((d) => Array.isArray(d.messages)
    && d.messages.some((m) => m.caller && m.caller.namespace === 'test' && m.caller.type === 'effects' && m.caller.id === id));
}

async function deadLetterFrom(id) {
  const found = await h.poll(async () => {
    const list = await deadLettersFrom(id);
    return list.length > 0 ? list : null;
  }, 60000, () => `a dead letter for a message from test/effects:${id}`);
  assert.equal(found.length, 1, `one dead letter for test/effects:${id}: ${JSON.stringify(found)}`);
  return found[0];
}

// The node is healthy, and test/effects:<id> kept its state: a further call
// sees the count the failed one stored, and its messages still flow.
async function stillWorks(id, expectedCount) {
  const res = await h.health(node.admin);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json?.status, 'ok');
  const next = await run(id, { op: 'fine', tag: `${id}-next` });
  assert.equal(next.count, expectedCount, `test/effects:${id} saw the state written by the earlier call`);
  const [got] = await delivered(`${id}-next`);
  assert.equal(got.value, 'fine:ok');
}

test('a message to an unknown function type becomes a dead letter; the other effects apply', { timeout: 120000 }, async () => {
  const id = 'to-nowhere';
  const call = await run(id, { op: 'unknown-type', tag: id });
  assert.equal(call.count, 1);

  const dead = await deadLetterFrom(id);
  assert.match(dead.reason, /unknown function type/i, `reason: ${dead.reason}`);
  assert.ok(dead.reason.includes('nowhere/thing'), `the reason names the type: ${dead.reason}`);
  assert.deepEqual(dead.address, { namespace: 'nowhere', type: 'thing', id });
  assert.equal(dead.messages.length, 1);
  assert.equal(dead.messages[0].typename, h.STRING_TYPENAME);
  assert.equal(decodeString(dead.messages[0].value_base64), 'unknown-type:lost');
  assert.deepEqual(dead.messages[0].caller, effectsAddress(id));

  // The valid message sent after the bad one in the same invocation arrived.
  const [got] = await delivered(id);
  assert.equal(got.value, 'unknown-type:ok');
  assert.deepEqual(got.caller, effectsAddress(id));

  await stillWorks(id, 2);
});

test('a message to an unknown egress becomes a dead letter; the other effects apply', { timeout: 120000 }, async () => {
  const id = 'to-no-egress';
  const call = await run(id, { op: 'unknown-egress', tag: id, goodTopic: TOPIC });
  assert.equal(call.count, 1);

  const dead = await deadLetterFrom(id);
  assert.match(dead.reason, /unknown egress/i, `reason: ${dead.reason}`);
  assert.ok(dead.reason.includes('no.such/egress'), `the reason names the egress: ${dead.reason}`);
  assert.equal(dead.messages.length, 1);
  assert.equal(decodeString(dead.messages[0].value_base64), 'unknown-egress:lost');

  const [got] = await delivered(id);
  assert.equal(got.value, 'unknown-egress:ok');
  const records = await h.collectEgress(node.egress, TOPIC, 1, 60000);
  assert.deepEqual(records.map((r) => JSON.parse(r)), [{ id, op: 'unknown-egress', count: 1 }]);

  await stillWorks(id, 2);
});

test('a second pending delayed message with the same cancellation token becomes a dead letter', { timeout: 120000 }, async () => {
  const id = 'dup-token';
  const call = await run(id, { op: 'duplicate-token', tag: id, token: 'tk-twice', delayMs: 300 });
  assert.equal(call.count, 1);

  const dead = await deadLetterFrom(id);
  assert.match(dead.reason, /already pending/i, `reason: ${dead.reason}`);
  assert.ok(dead.reason.includes('tk-twice'), `the reason names the token: ${dead.reason}`);
  assert.deepEqual(dead.address, { namespace: 'test', type: 'recorder', id: `${id}-delayed` });
  assert.equal(dead.messages.length, 1);
  assert.equal(decodeString(dead.messages[0].value_base64), 'second');
  assert.deepEqual(dead.messages[0].caller, effectsAddress(id));

  // The first delayed message is delivered, the plain message too.
  const [first] = await delivered(`${id}-delayed`);
  assert.equal(first.value, 'first');
  assert.deepEqual(first.caller, effectsAddress(id));
  const [plain] = await delivered(id);
  assert.equal(plain.value, 'duplicate-token:ok');

  // Once delivered, the token is free again. Timers fire in due order, so
  // when this later pair's first message arrives, nothing more is due for
  // the earlier target.
  await run(id, { op: 'duplicate-token', tag: `${id}-again`, token: 'tk-twice', delayMs: 300 });
  const [again] = await delivered(`${id}-again-delayed`);
  assert.equal(again.value, 'first');
  assert.deepEqual(deliveries(`${id}-delayed`).map((d) => d.value), ['first'], 'the duplicate was not delivered');
  const letters = await h.poll(async () => {
    const list = await deadLettersFrom(id);
    return list.length >= 2 ? list : null;
  }, 60000, 'the dead letter of the second pair');
  assert.equal(letters.length, 2);
  assert.ok(letters.every((d) => /already pending/i.test(d.reason)), JSON.stringify(letters));

  await stillWorks(id, 3);
});

test('a playground egress record for an undeclared topic becomes a dead letter; the other effects apply', { timeout: 120000 }, async () => {
  const id = 'to-undeclared';
  const topic = 'not-declared-topic';
  const call = await run(id, { op: 'undeclared-topic', tag: id, topic, goodTopic: TOPIC });
  assert.equal(call.count, 1);

  const dead = await deadLetterFrom(id);
  assert.ok(dead.reason.includes(topic), `the reason names the topic: ${dead.reason}`);
  assert.equal(dead.messages.length, 1);
  assert.deepEqual(JSON.parse(Buffer.from(dead.messages[0].value_base64, 'base64').toString('utf8')),
    { topic, payload: 'undeclared-topic:lost' });

  const [got] = await delivered(id);
  assert.equal(got.value, 'undeclared-topic:ok');
  const records = await h.collectEgress(node.egress, TOPIC, 1, 60000);
  assert.deepEqual(records.map((r) => JSON.parse(r)), [{ id, op: 'undeclared-topic', count: 1 }]);
  assert.equal((await h.request(`${node.egress}/${topic}`)).status, 405, 'the record did not create the topic');

  await stillWorks(id, 2);
});

test('after all that the node is healthy, counts the dead letters and processes messages', { timeout: 120000 }, async () => {
  const res = await h.health(node.admin);
  assert.equal(res.status, 200);
  assert.equal(res.json?.status, 'ok');
  const written = res.json.partitions.reduce((sum, p) => sum + p.dead_letters_written, 0);
  assert.equal(written, 5, `dead_letters_written: ${JSON.stringify(res.json.partitions)}`);
  assert.equal((await h.deadLetters(node.admin)).length, 5);

  for (let i = 0; i < 3; i++) await h.sendOk(node.ingress, 'test', 'counter', 'after-errors', 'inc');
  await h.poll(() => fns.records.counter.counts['after-errors'] === 3, 60000, 'three increments after the errors');
  assert.equal(await h.popEgress(node.egress, TOPIC), null, 'no unexpected egress records');
});
