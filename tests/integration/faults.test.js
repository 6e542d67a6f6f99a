'use strict';
// Faults: the function server goes away and comes back; bad ingress requests.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

const MAX_BODY = 1024;

let fns;
let node;

before(async () => {
  fns = await startTestFunctions({ counterEgressTopic: 'counts' });
  node = await h.startNode({
    module: h.testModule({ port: fns.port, call: '60s', connect: '5s', egressTopics: ['counts'] }),
    args: ['--set', `ingress.max_body_bytes=${MAX_BODY}`],
  });
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

const counts = () => fns.records.counter.counts;

// Reads test/counter:<id> with a probe queued behind everything sent so far.
async function probe(id) {
  const reads = () => fns.records.counter.reads[id] || [];
  const n = reads().length;
  await h.sendOk(node.ingress, 'test', 'counter', id, { op: 'get' }, 'test/Command');
  await h.poll(() => reads().length > n, 90000, `the probe of test/counter:${id}`);
  return reads()[n];
}

async function outage(how, id) {
  await h.sendOk(node.ingress, 'test', 'counter', `${id}-warm`, 'inc');
  await h.poll(() => counts()[`${id}-warm`] === 1, 60000, 'the warm-up message');

  await fns.down(how);
  const downAt = Date.now();
  await h.runParallel(20, 5, () => h.sendOk(node.ingress, 'test', 'counter', id, 'inc'));
  await h.sleep(Math.max(0, 5000 - (Date.now() - downAt)));
  assert.equal(counts()[id], undefined, 'nothing was processed while the server was down');
  await fns.up();

  await h.poll(() => counts()[id] >= 20, 90000, () => `20 increments on ${id} (got ${counts()[id]})`);
  assert.equal(await probe(id), 20, 'count after the outage');
  assert.equal(fns.stats.maxInflightByAddress[`test/counter/${id}`], 1);
}

test('messages sent while the function server refuses connections are all applied once it is back', { timeout: 240000 }, async () => {
  await outage('refuse', 'down');
});

test('messages sent while the function server answers 503 are all applied once it is back', { timeout: 240000 }, async () => {
  const before503 = fns.stats.unavailable;
  await outage('503', 'unavailable');
  assert.ok(fns.stats.unavailable > before503, 'the runtime retried against the 503s');
});

test('an unknown function type is rejected with 404', { timeout: 60000 }, async () => {
  const res = await h.send(node.ingress, 'nope', 'counter', 'x', 'inc');
  assert.equal(res.status, 404);
  assert.equal(typeof res.json?.error, 'string', `body: ${res.text}`);
  assert.ok(res.json.error.length > 0);
});

test('malformed ingress paths are rejected with 400', { timeout: 60000 }, async () => {
  for (const p of ['/test/counter', '/test', '/test/counter/x/extra']) {
    const res = await h.request(`${node.ingress}${p}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.test/Command' },
      body: '{}',
    });
    assert.equal(res.status, 400, `PUT ${p}`);
    assert.equal(typeof res.json?.error, 'string', `PUT ${p} body: ${res.text}`);
  }
});

test('a body over ingress.max_body_bytes is rejected with 413', { timeout: 60000 }, async () => {
  const res = await h.send(node.ingress, 'test', 'counter', 'big', Buffer.alloc(MAX_BODY * 4, 0x61), 'test/Blob');
  assert.equal(res.status, 413);
  assert.equal(typeof res.json?.error, 'string', `body: ${res.text}`);
});

test('other methods are rejected with 405', { timeout: 60000 }, async () => {
  for (const method of ['GET', 'DELETE']) {
    const res = await h.request(`${node.ingress}/test/counter/x`, { method });
    assert.equal(res.status, 405, method);
    assert.equal(typeof res.json?.error, 'string', `${method} body: ${res.text}`);
  }
});

test('POST is accepted like PUT', { timeout: 60000 }, async () => {
  const res = await h.send(node.ingress, 'test', 'counter', 'posted', 'inc', h.STRING_TYPENAME, { method: 'POST' });
  assert.equal(res.status, 200);
  await h.poll(() => counts().posted === 1, 60000, 'the POSTed message');
});

test('the egress answers 404 when empty and 405 for an unknown topic', { timeout: 60000 }, async () => {
  assert.equal((await h.request(`${node.egress}/no-such-topic`)).status, 405);
  let drained = 0;
  while ((await h.popEgress(node.egress, 'counts')) !== null) drained += 1;
  assert.ok(drained > 0, 'the counter emitted records');
  assert.equal((await h.request(`${node.egress}/counts`)).status, 404);
});

test('after all that the node is healthy and still processes messages', { timeout: 120000 }, async () => {
  const res = await h.health(node.admin);
  assert.equal(res.status, 200);
  assert.equal(res.json?.status, 'ok');
  assert.equal(counts().big, undefined, 'the rejected oversize message was not delivered');
  await h.sendOk(node.ingress, 'test', 'counter', 'after', 'inc');
  await h.poll(() => counts().after === 1, 60000, 'a normal message');
});
