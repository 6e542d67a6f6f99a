'use strict';
// Delayed messages (sendAfter) and their cancellation, including across a
// graceful restart of the node on the same data directory.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

// A delayed message is due `delay` after the runtime applied sendAfter, which
// is after the function's `sent.at`; never before: no slack.

let fns;
let node;
let dataDir;
let moduleYaml;

before(async () => {
  fns = await startTestFunctions();
  dataDir = h.makeTempDir('hearth-delayed-');
  moduleYaml = h.testModule({ port: fns.port });
  node = await h.startNode({ module: moduleYaml, dataDir });
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

const issued = (id) => fns.records.delayer.issued[id] || [];
const deliveries = (id) => fns.records.recorder.deliveries[id] || [];

// Sends a command to test/delayer:<id> and waits until the function ran it.
async function delayer(id, cmd) {
  const n = issued(id).length;
  await h.sendOk(node.ingress, 'test', 'delayer', id, cmd, 'test/Command');
  await h.poll(() => issued(id).length > n, 60000, `test/delayer:${id} to run ${JSON.stringify(cmd)}`);
  return issued(id)[n];
}

async function delivered(id, count = 1, timeoutMs = 60000) {
  await h.poll(() => deliveries(id).length >= count, timeoutMs,
    () => `${count} deliveries to test/recorder:${id} (got ${deliveries(id).length})`);
  return deliveries(id);
}

// Sends a delayed marker from `from` and waits for it. Timers fire in order,
// so once it arrives every earlier-due delayed message has arrived too.
async function afterAllEarlierTimers(from, delayMs, tag) {
  const target = `${tag}-sentinel`;
  await delayer(from, { op: 'send', delayMs, target, label: 'sentinel' });
  await delivered(target);
}

test('a delayed message arrives once, not before its delay, with the sender as caller', { timeout: 120000 }, async () => {
  const sent = await delayer('d1', { op: 'send', delayMs: 1500, token: 'once', target: 'r1', label: 'hello' });
  const [got] = await delivered('r1');
  assert.ok(got.at - sent.at >= 1500, `delivered ${got.at - sent.at} ms after sendAfter(1500)`);
  assert.equal(got.value, 'hello');
  assert.deepEqual(got.caller, { namespace: 'test', type: 'delayer', id: 'd1' });

  await afterAllEarlierTimers('d1', 1500, 'r1');
  assert.equal(deliveries('r1').length, 1, 'delivered exactly once');
});

test('a cancelled delayed message is never delivered, and its token can be used again', { timeout: 120000 }, async () => {
  await delayer('d2', { op: 'send', delayMs: 2000, token: 'cancel-me', target: 'r2', label: 'cancelled' });
  await delayer('d2', { op: 'cancel', token: 'cancel-me' });
  await afterAllEarlierTimers('d2', 2500, 'r2');
  assert.deepEqual(deliveries('r2'), [], 'the cancelled message was delivered');

  await delayer('d2', { op: 'send', delayMs: 300, token: 'cancel-me', target: 'r2b', label: 'reused' });
  const got = await delivered('r2b');
  assert.equal(got[0].value, 'reused');
  await afterAllEarlierTimers('d2', 300, 'r2b');
  assert.equal(deliveries('r2b').length, 1);
});

test('cancelling an unknown token is harmless', { timeout: 120000 }, async () => {
  await delayer('d3', { op: 'cancel', token: 'never-issued' });
  const res = await h.health(node.admin);
  assert.equal(res.status, 200);
  assert.equal(res.json && res.json.status, 'ok');

  await delayer('d3', { op: 'send', delayMs: 200, token: 'never-issued', target: 'r3', label: 'still works' });
  const got = await delivered('r3');
  assert.equal(got[0].value, 'still works');
  const dead = (await h.deadLetters(node.admin)).filter((d) => d.address && d.address.type === 'delayer');
  assert.deepEqual(dead, []);
});

test('delayed messages and state survive a graceful restart', { timeout: 240000 }, async () => {
  for (let i = 0; i < 3; i++) await h.sendOk(node.ingress, 'test', 'counter', 'persist', 'inc');
  await h.poll(() => fns.records.counter.counts.persist === 3, 60000, 'count 3 on test/counter:persist');

  const sent = await delayer('d4', { op: 'send', delayMs: 4000, token: 'restart', target: 'r4', label: 'after restart' });
  const code = await node.stop('SIGTERM');
  assert.equal(code, 0, `exit code after SIGTERM\n${node.stderr().slice(-4000)}`);
  assert.equal(deliveries('r4').length, 0, 'delivered before the restart: shutdown took longer than the delay');

  node = await h.startNode({ module: moduleYaml, dataDir });
  const [got] = await delivered('r4');
  assert.ok(got.at - sent.at >= 4000, `delivered ${got.at - sent.at} ms after sendAfter(4000)`);
  assert.equal(got.value, 'after restart');
  assert.deepEqual(got.caller, { namespace: 'test', type: 'delayer', id: 'd4' });

  await afterAllEarlierTimers('d4', 4000, 'r4');
  assert.equal(deliveries('r4').length, 1, 'delivered exactly once');

  await h.sendOk(node.ingress, 'test', 'counter', 'persist', 'inc');
  await h.poll(() => fns.records.counter.counts.persist >= 4, 60000, 'the counter after the restart');
  assert.equal(fns.records.counter.counts.persist, 4, 'state kept across the restart');
});
