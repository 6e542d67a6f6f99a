'use strict';
// Function-to-function messages carry the sender as caller; ingress messages
// carry none.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

let fns;
let node;

before(async () => {
  fns = await startTestFunctions();
  node = await h.startNode({ module: h.testModule({ port: fns.port }) });
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

const deliveries = (id) => fns.records.recorder.deliveries[id] || [];

test('a message from another function names it as caller', { timeout: 120000 }, async () => {
  await h.sendOk(node.ingress, 'test', 'pinger', 'p1', { target: 'target-1' }, 'test/Command');
  await h.poll(() => deliveries('target-1').length === 1, 60000, 'the ping');
  const [got] = deliveries('target-1');
  assert.equal(got.value, 'ping');
  assert.deepEqual(got.caller, { namespace: 'test', type: 'pinger', id: 'p1' });

  const wire = fns.stats.log.filter((e) => e.fn === 'test/recorder' && e.id === 'target-1' && e.response === 'result');
  assert.equal(wire.length, 1);
  assert.deepEqual(wire[0].callers, [{ namespace: 'test', type: 'pinger', id: 'p1' }]);
});

test('a message from the ingress has no caller', { timeout: 120000 }, async () => {
  await h.sendOk(node.ingress, 'test', 'recorder', 'target-2', 'hello');
  await h.poll(() => deliveries('target-2').length === 1, 60000, 'the ingress message');
  const [got] = deliveries('target-2');
  assert.equal(got.value, 'hello');
  assert.equal(got.caller, null);
});

test('many pingers reach one address, each named as caller', { timeout: 120000 }, async () => {
  const pingers = Array.from({ length: 10 }, (_, i) => `p-${i}`);
  await Promise.all(pingers.map((p) => h.sendOk(node.ingress, 'test', 'pinger', p, { target: 'shared' }, 'test/Command')));
  await h.poll(() => deliveries('shared').length >= pingers.length, 60000, 'all pings');
  const callers = deliveries('shared').map((d) => d.caller.id).sort();
  assert.deepEqual(callers, [...pingers].sort());
  assert.equal(deliveries('shared').at(-1).count, pingers.length, 'the recorder counted every ping once');
});
