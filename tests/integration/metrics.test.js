'use strict';
// GET /metrics: Prometheus text, parsed; the per-function-type counters move
// as messages flow, failures and dead letters are counted.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

let fns;
let node;

before(async () => {
  fns = await startTestFunctions({ counterEgressTopic: 'counts' });
  node = await h.startNode({
    module: h.testModule({ port: fns.port, call: '1s', egressTopics: ['counts'] }),
    args: ['--set', 'checkpoint.interval=200ms', '--set', 'partitions=2'],
  });
});

after(async () => {
  if (fns) fns.gates.openAll();
  await h.cleanup();
  if (fns) await fns.close();
});

// Parses the Prometheus text format into {"name{labels}": value}; checks
// every sample line is well formed and every family has a TYPE.
async function scrape() {
  const res = await h.request(`${node.admin}/metrics`);
  assert.equal(res.status, 200);
  const samples = {};
  const typed = new Set();
  for (const line of res.text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t) {
      typed.add(t[1]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(m, `malformed sample line: ${line}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, '');
    assert.ok(typed.has(m[1]) || typed.has(family), `no TYPE for ${m[1]}`);
    samples[`${m[1]}${m[2] || ''}`] = Number(m[3]);
  }
  return samples;
}

const value = (s, key) => s[key] || 0;

test('counters move as messages flow', { timeout: 120000 }, async () => {
  const before0 = await scrape();
  for (let i = 0; i < 5; i++) await h.sendOk(node.ingress, 'test', 'counter', 'm1', 'inc');
  await h.poll(() => fns.records.counter.counts.m1 === 5, 60000, 'five increments');
  // Gauges are updated once a second, and a checkpoint follows: wait for both.
  const liveOf = (s) => Object.entries(s).filter(([k]) => k.startsWith('hearth_live_actors'))
    .reduce((sum, [, v]) => sum + v, 0);
  let after0;
  await h.poll(async () => {
    after0 = await scrape();
    return liveOf(after0) >= 1 && value(after0, 'hearth_checkpoints') >= 1;
  }, 60000, 'the live actors gauge and a checkpoint');
  const inKey = 'hearth_in{function_type="test/counter"}';
  assert.equal(value(after0, inKey) - value(before0, inKey), 5);
  assert.equal(value(after0, 'hearth_ingress_requests{outcome="accepted"}')
    - value(before0, 'hearth_ingress_requests{outcome="accepted"}'), 5);
  assert.ok(value(after0, 'hearth_outEgress{function_type="test/counter"}') >= 5);
  assert.ok(value(after0, 'hearth_remoteInvocationLatency_count{function_type="test/counter"}') >= 1);
  assert.ok(value(after0, 'hearth_checkpoints') >= 1);
  assert.ok(liveOf(after0) >= 1, 'live actors gauge');
});

test('rejected requests, failures and dead letters are counted', { timeout: 120000 }, async () => {
  const before0 = await scrape();
  assert.equal((await h.send(node.ingress, 'nope', 'fn', 'x', 'a')).status, 404);
  fns.records.flaky.failing = true;
  await h.sendOk(node.ingress, 'test', 'flaky', 'f1', 'x');
  await h.poll(async () => value(await scrape(), 'hearth_dead_letters') > value(before0, 'hearth_dead_letters'),
    60000, 'a dead letter counted');
  fns.records.flaky.failing = false;
  const after0 = await scrape();
  assert.equal(value(after0, 'hearth_ingress_requests{outcome="rejected"}')
    - value(before0, 'hearth_ingress_requests{outcome="rejected"}'), 1);
  assert.ok(value(after0, 'hearth_remoteInvocationFailures{function_type="test/flaky"}') >= 1);
});

test('backlog gauges count the waiting messages of every partition', { timeout: 120000 }, async () => {
  // Eight addresses (spread over both partitions), each with one invocation
  // held at the function and two messages waiting behind it.
  const ids = Array.from({ length: 8 }, (_, i) => `b${i}`);
  for (const id of ids) fns.gates.close(id);
  for (const id of ids)
    for (let i = 0; i < 3; i++) await h.sendOk(node.ingress, 'test', 'gate', id, { label: i }, 'test/Command');
  await h.poll(() => ids.every((id) => fns.records.gate.blocked[id] === 1), 60000, 'every address held');
  const backlog = (s) => Object.entries(s).filter(([k]) => k.startsWith('hearth_numBacklog{')
    && k.includes('function_type="test/gate"'));
  let last = [];
  await h.poll(async () => {
    last = backlog(await scrape());
    return last.reduce((n, [, v]) => n + v, 0) === 2 * ids.length;
  }, 30000, () => `a backlog of ${2 * ids.length}: ${JSON.stringify(last)}`);
  const partitions = last.filter(([, v]) => v > 0).map(([k]) => /partition="(\d+)"/.exec(k)[1]);
  assert.deepEqual([...new Set(partitions)].sort(), ['0', '1'], JSON.stringify(last));
  for (const id of ids) fns.gates.open(id);
  await h.poll(async () => backlog(await scrape()).every(([, v]) => v === 0), 30000, 'the backlog drained');
});
