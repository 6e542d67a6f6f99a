'use strict';
// One request in flight per address; what arrives meanwhile is batched.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

const MESSAGES = 1000;
const PARALLEL = 50;

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

test(`${MESSAGES} concurrent messages to one address are applied one at a time`, { timeout: 300000 }, async (t) => {
  const statuses = await h.runParallel(MESSAGES, PARALLEL, async (i) =>
    (await h.send(node.ingress, 'test', 'counter', 'hot', `inc ${i}`)).status);
  const notOk = statuses.filter((s) => s !== 200);
  assert.deepEqual(notOk, [], 'every ingress PUT is accepted with 200');

  // A read-only probe queued behind all the increments sees the final count.
  await h.sendOk(node.ingress, 'test', 'counter', 'hot', { op: 'get' }, 'test/Command');
  const c = fns.records.counter;
  await h.poll(() => (c.reads.hot || []).length === 1, 120000,
    () => `the probe (count so far ${c.counts.hot})`);

  assert.equal(c.reads.hot[0], MESSAGES, 'count seen by the probe');
  assert.equal(c.counts.hot, MESSAGES, 'last count written');
  assert.equal(c.maxInflight.hot, 1, 'concurrent executions of test/counter:hot in the function');
  assert.equal(fns.stats.maxInflightByAddress['test/counter/hot'], 1,
    'concurrent HTTP requests for test/counter:hot');

  const requests = fns.stats.byAddress['test/counter/hot'];
  assert.ok(requests < MESSAGES, `batching: ${requests} HTTP requests for ${MESSAGES + 1} messages`);
  const batched = fns.stats.log.filter((e) => e.id === 'hot' && e.invocations > 1);
  t.diagnostic(`${requests} HTTP requests, largest batch ${Math.max(...fns.stats.log.filter((e) => e.id === 'hot').map((e) => e.invocations))}`);
  assert.ok(batched.length > 0, 'at least one request carried more than one invocation');

  // Every invocation reached the function exactly once: the results were not retried.
  const invocationsInResults = fns.stats.log
    .filter((e) => e.id === 'hot' && e.response === 'result')
    .reduce((sum, e) => sum + e.invocations, 0);
  assert.equal(invocationsInResults, MESSAGES + 1, 'invocations answered with a result');
  assert.equal(c.invocations.hot, MESSAGES + 1, 'invocations run by the function');
});

test('ingress messages carry no caller', { timeout: 60000 }, async () => {
  const callers = fns.records.counter.callers.hot;
  assert.ok(callers.length > 0);
  assert.ok(callers.every((x) => x === null), 'caller of an ingress message is null');
});

test('many addresses each keep their own count and one request in flight', { timeout: 300000 }, async () => {
  const ids = Array.from({ length: 20 }, (_, i) => `cold-${i}`);
  await h.runParallel(ids.length * 10, PARALLEL, (i) =>
    h.sendOk(node.ingress, 'test', 'counter', ids[i % ids.length], 'inc'));
  const c = fns.records.counter;
  await h.poll(() => ids.every((id) => c.counts[id] >= 10), 120000,
    () => `10 increments on each of ${ids.length} ids: ${JSON.stringify(ids.map((id) => c.counts[id]))}`);
  const reads = await Promise.all(ids.map(async (id) => {
    await h.sendOk(node.ingress, 'test', 'counter', id, { op: 'get' }, 'test/Command');
    await h.poll(() => (c.reads[id] || []).length === 1, 60000, `the probe of ${id}`);
    return c.reads[id][0];
  }));
  assert.deepEqual(reads, ids.map(() => 10), 'count of each id seen by a probe');
  for (const id of ids) {
    assert.equal(fns.stats.maxInflightByAddress[`test/counter/${id}`], 1, `one request in flight for ${id}`);
  }
});
