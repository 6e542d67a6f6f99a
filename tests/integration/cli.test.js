'use strict';
// The hearth CLI against a real node and real SDK function servers: send,
// state, actors, status, dead-letter replay, checkpoints, --json output and
// exit codes.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { StateFun } = require('apache-flink-statefun');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

const CLI = path.resolve(process.env.HEARTH_CLI || path.join(h.REPO_ROOT, 'build', 'bin', 'hearth'));

let fns;
let node;

before(async () => {
  fns = await startTestFunctions();
  node = await h.startNode({
    module: h.testModule({ port: fns.port, call: '2s' }),
    args: ['--set', 'checkpoint.interval=200ms', '--set', 'partitions=2'],
  });
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

// Runs the CLI against the node; resolves {code, stdout, stderr}.
function hearth(...args) {
  const admin = node.admin.replace('http://', '');
  return new Promise((resolve) => {
    execFile(CLI, ['--node', admin, ...args], { timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

async function hearthJson(...args) {
  const r = await hearth('--json', ...args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('send --wait applies the message and reports its effects', { timeout: 120000 }, async () => {
  const r = await hearth('send', 'test/counter', 'c1', '--string', 'inc', '--wait');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /accepted/);
  assert.match(r.stdout, /states changed \["count"\]/);
  const j = await hearthJson('send', 'test/counter', 'c1', '--string', 'inc', '--wait');
  assert.equal(j.status, 'accepted');
  assert.deepEqual(j.applied.states_changed, ['count']);
  assert.equal(fns.records.counter.counts.c1, 2);
});

test('state shows the decoded value; actors lists the address', { timeout: 120000 }, async () => {
  const j = await hearthJson('state', 'test/counter', 'c1');
  assert.equal(j.states.count.typename, 'io.statefun.types/int');
  assert.equal(j.states.count.value, 2);
  assert.equal(j.live, true);
  const table = await hearth('state', 'test/counter', 'c1');
  assert.match(table.stdout, /count\s+io\.statefun\.types\/int\s+2/);
  const list = await hearthJson('actors', '--type', 'test/counter', '--prefix', 'c');
  assert.ok(list.actors.some((a) => a.address.id === 'c1' && a.invocations >= 2), JSON.stringify(list));
  const none = await hearthJson('actors', '--type', 'test/counter', '--prefix', 'zzz');
  assert.equal(none.total, 0);
});

test('global options go before or after the subcommand; an address is one argument or two', { timeout: 120000 }, async () => {
  const admin = node.admin.replace('http://', '');
  const after = await new Promise((resolve) => {
    execFile(CLI, ['state', 'test/counter/c1', '--json', '--node', admin], { timeout: 60000 },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
  assert.equal(after.code, 0, after.stderr);
  const j = JSON.parse(after.stdout);
  assert.deepEqual(j.address, { namespace: 'test', type: 'counter', id: 'c1' });
  assert.equal(j.states.count.value, 2);
  // send takes the one-argument form too; after `send`, --json is its value's.
  const sent = await hearth('--json', 'send', 'test/inspector/i0', '--type', 'test/Doc', '--json', '{"a":1}');
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal(JSON.parse(sent.stdout).status, 'accepted');
  await h.poll(() => (fns.records.inspector.received.i0 || []).length > 0, 60000, 'test/inspector:i0');
  assert.equal(fns.records.inspector.received.i0[0].typename, 'test/Doc');
  const bad = await hearth('state', 'test/counter');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /<namespace>\/<name> <id> or <namespace>\/<name>\/<id>/);
});

test('--int sends an io.statefun.types/int value', { timeout: 120000 }, async () => {
  const r = await hearth('send', 'test/inspector', 'i1', '--int', '42', '--wait');
  assert.equal(r.code, 0, r.stderr);
  const [got] = fns.records.inspector.received.i1 || [];
  assert.ok(got, 'test/inspector:i1 received nothing');
  assert.equal(got.typename, 'io.statefun.types/int');
  const bytes = Buffer.from(got.base64, 'base64');
  assert.equal(StateFun.intType().deserialize(bytes), 42);
});

test('status, functions and checkpoints answer', { timeout: 120000 }, async () => {
  const s = await hearthJson('status');
  assert.equal(typeof s.version, 'string');
  assert.deepEqual(s.partitions.map((p) => p.partition), [0, 1]);
  const completed = s.partitions.reduce((n, p) => n + p.invocations_completed, 0);
  assert.equal(s.counters.invocations_completed, completed);
  assert.ok(completed >= 3, `invocations completed so far: ${completed}`);
  assert.ok(s.latency_ms.count >= 1, JSON.stringify(s.latency_ms));
  // The human-readable forms too.
  for (const args of [['status'], ['functions'], ['checkpoints']]) {
    const r = await hearth(...args);
    assert.equal(r.code, 0, `hearth ${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stdout.trim().length > 0, `hearth ${args.join(' ')} printed nothing`);
  }
  const f = await hearthJson('functions');
  assert.equal(f.endpoints[0].functions, 'test/*');
  const c = await hearthJson('checkpoints', 'trigger');
  assert.ok(c.id >= 1);
  const list = await hearthJson('checkpoints');
  assert.ok(list.checkpoints.some((x) => x.id === c.id));
});

test('dead letters are listed and replayed from the CLI', { timeout: 180000 }, async () => {
  fns.records.flaky.failing = true;
  assert.equal((await hearth('send', 'test/flaky', 'f1', '--string', 'once')).code, 0);
  const letters = await h.poll(async () => {
    const j = await hearthJson('dead-letters');
    return j.dead_letters.length > 0 ? j.dead_letters : null;
  }, 60000, 'a dead letter');
  fns.records.flaky.failing = false;
  const id = letters[0].id;
  const table = await hearth('dead-letters');
  assert.match(table.stdout, new RegExp(id));
  const r = await hearth('dead-letters', 'replay', id);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /replayed 1/);
  await h.poll(() => Object.keys(fns.records.flaky.processed).length > 0, 60000, 'the replayed message');
  assert.equal((await hearth('dead-letters', 'replay', id)).code, 4);
});

test('errors have exit codes scripts can rely on', { timeout: 60000 }, async () => {
  const missing = await hearth('state', 'test/counter', 'never-seen');
  assert.equal(missing.code, 4);
  assert.match(missing.stderr, /no address/);
  const badType = await hearth('state', 'nonsense', 'x');
  assert.equal(badType.code, 2);
  const noValue = await hearth('send', 'test/counter', 'x');
  assert.equal(noValue.code, 2);
  const jsonNeedsType = await hearth('send', 'test/counter', 'x', '--json', '{}');
  assert.equal(jsonNeedsType.code, 2);
  const unreachable = await new Promise((resolve) => {
    execFile(CLI, ['--node', '127.0.0.1:1', 'status'], (err, stdout, stderr) => resolve({ code: err.code, stderr }));
  });
  assert.equal(unreachable.code, 3);
  assert.match(unreachable.stderr, /cannot reach/);
  const unknownFn = await hearth('send', 'nope/fn', 'x', '--string', 'a');
  assert.equal(unknownFn.code, 4);
});
