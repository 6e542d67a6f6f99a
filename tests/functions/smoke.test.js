'use strict';
// Checks smoke/interpreter and the smoke model against each other without a
// node: a small generated workload runs through the real SDK handler under a
// minimal in-process runtime (one message at a time, delayed messages on a
// virtual clock, cancellation per sender and token), and the outcome must be
// what expectationOf() computes from the trees.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { invoke, values, decodeInt } = require('./fake_runtime');
const smoke = require('./smoke');

let server;

before(async () => {
  server = await smoke.serveSmoke();
});

after(async () => {
  if (server) await server.close();
});

async function simulate(commands) {
  const url = `http://127.0.0.1:${server.port}/interpreter`;
  const state = new Map(); // id -> {counter, races} as [typename, bytes] or null
  const queue = commands.map(({ id, c }) => ({ id, value: values.json(smoke.COMMANDS_TYPENAME, { c }) }));
  const timers = []; // {due, seq, sender, token, id, value}
  const egress = [];
  let now = 0;
  let seq = 0;
  for (;;) {
    if (queue.length === 0) {
      if (timers.length === 0) break;
      timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
      const t = timers.shift();
      now = Math.max(now, t.due);
      queue.push({ id: t.id, value: t.value });
      continue;
    }
    const m = queue.shift();
    const st = state.get(m.id) || { counter: null, races: null };
    const res = await invoke(url, { target: [smoke.FUNCTION, m.id], state: st, invocations: [{ value: m.value }] });
    assert.equal(res.status, 200);
    assert.equal(res.answer.kind, 'result');
    const next = { ...st };
    for (const mu of res.answer.mutations) next[mu.name] = mu.type === 'MODIFY' ? [mu.value.typename, mu.value.bytes] : null;
    state.set(m.id, next);
    for (const out of res.answer.messages) queue.push({ id: out.target.id, value: [out.value.typename, out.value.bytes] });
    for (const d of res.answer.delayed) {
      if (d.cancel) {
        const i = timers.findIndex((t) => t.sender === m.id && t.token === d.token);
        if (i >= 0) timers.splice(i, 1);
      } else {
        timers.push({ due: now + d.delayMs, seq: seq++, sender: m.id, token: d.token, id: d.target.id, value: [d.value.typename, d.value.bytes] });
      }
    }
    for (const e of res.answer.egress) {
      const rec = JSON.parse(e.value.bytes.toString('utf8'));
      egress.push({ topic: rec.topic, ...JSON.parse(rec.payload) });
    }
  }
  const read = (v) => (v ? decodeInt(v[1]) : 0);
  return { state, egress, read };
}

test('the function does what the model expects', { timeout: 120000 }, async () => {
  const instances = 8;
  const w = smoke.generateWorkload(20240601, {
    instances, commands: 300, raceProbability: 0.2, raceCancelProbability: 0.5,
  });
  const want = smoke.expectationOf(w.commands, instances);
  assert.ok(want.stats.cancelledSubtrees > 0 && want.stats.racing > 0 && want.forbidden.size > 0, 'the workload exercises cancellation');

  const { state, egress, read } = await simulate(w.commands);
  for (let i = 0; i < instances; i++) {
    assert.equal(read((state.get(String(i)) || {}).counter), want.counters[i], `counter of ${i}`);
  }
  const effects = egress.filter((r) => r.topic === smoke.TOPICS.effects);
  assert.equal(new Set(effects.map((r) => r.rid)).size, effects.length, 'no effect id twice');
  assert.deepEqual(new Map(effects.map((r) => [r.rid, r.at])), want.effects);

  const races = egress.filter((r) => r.topic === smoke.TOPICS.races);
  assert.equal(new Set(races.map((r) => r.rid)).size, races.length, 'no race id twice');
  for (const r of races) assert.ok(want.races.has(r.rid), `unknown race ${r.rid}`);
  for (let i = 0; i < instances; i++) {
    const emitted = races.filter((r) => r.at === String(i)).length;
    assert.equal(read((state.get(String(i)) || {}).races), emitted, `races of ${i}`);
  }
});

test('verify reports the counter and the races', async () => {
  const url = `http://127.0.0.1:${server.port}/interpreter`;
  const res = await invoke(url, {
    target: [smoke.FUNCTION, '7'],
    state: { counter: values.int(41), races: values.int(2) },
    invocations: [{ value: values.json(smoke.COMMANDS_TYPENAME, { c: [{ t: 'inc' }, { t: 'verify', expected: 42, round: 3 }] }) }],
  });
  assert.equal(res.answer.kind, 'result');
  assert.equal(res.answer.egress.length, 1);
  const rec = JSON.parse(res.answer.egress[0].value.bytes.toString('utf8'));
  assert.equal(rec.topic, smoke.TOPICS.verify);
  assert.deepEqual(JSON.parse(rec.payload), { id: '7', expected: 42, actual: 42, races: 2, round: 3 });
});
