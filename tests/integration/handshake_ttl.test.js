'use strict';
// The missing-state handshake, and state expiry (expireAfterWrite and
// expireAfterCall).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

const TTL_MS = 3000;

let fns;
let node;

before(async () => {
  fns = await startTestFunctions({ ttlWriteMs: TTL_MS, ttlCallMs: TTL_MS });
  node = await h.startNode({ module: h.testModule({ port: fns.port }) });
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

const requestsTo = (fn, id) => fns.stats.log.filter((e) => e.fn === fn && e.id === id);
const stateNames = (entry) => entry.state.map((s) => s.name).sort();

test('the first message to a fresh function type costs two requests', { timeout: 120000 }, async () => {
  await h.sendOk(node.ingress, 'test', 'counter', 'first', 'inc');
  await h.poll(() => fns.records.counter.counts.first === 1, 60000, 'count 1 on test/counter:first');

  const log = requestsTo('test/counter', 'first');
  assert.equal(log.length, 2, `requests: ${JSON.stringify(log)}`);
  assert.deepEqual(log[0].state, [], 'the first request carries no state');
  assert.equal(log[0].response, 'incomplete', 'the SDK asks for the missing state');
  assert.deepEqual(log[1].state, [{ name: 'count', hasValue: false }], 'the re-sent request carries the registered state');
  assert.equal(log[1].response, 'result');
  assert.equal(log[0].invocations, 1);
  assert.equal(log[1].invocations, 1, 'the same batch is re-sent');
  assert.equal(fns.stats.byFunction['test/counter'], 2);

  await h.sendOk(node.ingress, 'test', 'counter', 'first', 'inc');
  await h.poll(() => fns.records.counter.counts.first === 2, 60000, 'count 2 on test/counter:first');
  const again = requestsTo('test/counter', 'first');
  assert.equal(again.length, 3, 'a later message costs one request');
  assert.deepEqual(again[2].state, [{ name: 'count', hasValue: true }]);
  assert.equal(again[2].response, 'result');
});

test('every declared state is registered in one handshake', { timeout: 120000 }, async () => {
  await h.sendOk(node.ingress, 'test', 'ttl', 'shake', { op: 'read' }, 'test/Command');
  await h.poll(() => (fns.records.ttl.calls.shake || []).length === 1, 60000, 'the call to test/ttl:shake');
  const log = requestsTo('test/ttl', 'shake');
  assert.equal(log.length, 2, `requests: ${JSON.stringify(log)}`);
  assert.equal(log[0].response, 'incomplete');
  assert.deepEqual(stateNames(log[1]), ['seen', 'touched']);
  assert.equal(log[1].response, 'result');
});

// Sends one command to test/ttl:<id> and waits until the function has run it.
async function ttlCall(id, op) {
  const calls = () => fns.records.ttl.calls[id] || [];
  const before = calls().length;
  await h.sendOk(node.ingress, 'test', 'ttl', id, { op }, 'test/Command');
  await h.poll(() => calls().length > before, 60000, `call ${before + 1} to test/ttl:${id}`);
  return calls()[before];
}

test('expireAfterWrite drops a value written once; expireAfterCall keeps it while called', { timeout: 180000 }, async () => {
  const id = 'expiry';
  const write = await ttlCall(id, 'write');
  assert.equal(write.seen, null);
  assert.equal(write.touched, null);

  // Call every ~300 ms for two TTLs: `touched` must survive throughout,
  // `seen` (never written again) must be gone after its TTL.
  const reads = [];
  let previousAt = write.at;
  while (Date.now() - write.at < 2 * TTL_MS + 500) {
    await h.sleep(300);
    const r = await ttlCall(id, 'read');
    assert.ok(r.at - previousAt < TTL_MS - 500,
      `the test could not call often enough (${r.at - previousAt} ms between calls)`);
    previousAt = r.at;
    reads.push({ ...r, sinceWrite: r.at - write.at });
  }
  const summary = JSON.stringify(reads.map((r) => [r.sinceWrite, r.seen, r.touched]));
  for (const r of reads) {
    assert.equal(r.touched, 1, `touched (expireAfterCall) while called: ${summary}`);
    // No slack needed: the runtime stamps the write after the function wrote
    // (write.at) and checks expiry before the function reads (r.at), so the
    // age it sees is never more than sinceWrite.
    if (r.sinceWrite < TTL_MS) assert.equal(r.seen, 1, `seen before its TTL: ${summary}`);
  }
  assert.equal(reads[reads.length - 1].seen, null, `seen after twice its TTL: ${summary}`);

  // Now leave it alone for longer than the TTL: `touched` expires too.
  await h.sleep(TTL_MS * 2.5);
  const late = await ttlCall(id, 'read');
  assert.ok(late.at - previousAt > TTL_MS);
  assert.equal(late.touched, null, 'touched after a TTL without calls');
  assert.equal(late.seen, null);

  // Expired state starts over.
  const rewrite = await ttlCall(id, 'write');
  assert.equal(rewrite.seen, null);
  const check = await ttlCall(id, 'read');
  assert.equal(check.seen, 1);
  assert.equal(check.touched, 1);
});
