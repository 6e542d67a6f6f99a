'use strict';
// The replay of the ingress log after a restart is paced by the partitions:
// it sends a chunk, then waits until the partitions it fed hold at most
// partition.max_pending invocations. With the function down, a long log stops
// at that bound instead of landing in memory at once; once the function is
// back, every message is applied exactly once.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

const MESSAGES = 3000;
const MAX_PENDING = 100;
const REPLAY_CHUNK = 1024; // actors/source.cpp

let fns;

before(async () => {
  fns = await startTestFunctions();
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

async function partitionsAndReplay(admin) {
  const res = await h.health(admin);
  assert.ok(res.json && res.json.replay, `/health answered ${res.status}: ${res.text}`);
  return { pending: res.json.partitions[0].pending_invocations, remaining: res.json.replay.remaining };
}

test(`a replay of ${MESSAGES} records stops at partition.max_pending while the function is down`, { timeout: 300000 }, async () => {
  const dataDir = h.makeTempDir('hearth-replay-');
  const module = h.testModule({ port: fns.port, call: '120s', connect: '5s' });
  // No checkpoint covers the messages: they come back from the log alone.
  const args = ['--set', 'partitions=1', '--set', `partition.max_pending=${MAX_PENDING}`,
    '--set', 'checkpoint.interval=1h'];
  let node = await h.startNode({ module, dataDir, args });
  await h.runParallel(MESSAGES, 32, (i) => h.sendOk(node.ingress, 'test', 'counter', `r${i}`, 'inc'));
  await h.poll(() => Object.keys(fns.records.counter.counts).length === MESSAGES, 120000, 'every message applied once');
  await node.stop('SIGKILL');

  await fns.down('refuse');
  node = await h.startNode({ module, dataDir, args });
  // The replay waits for room: part of the log is still to be sent while the
  // partition holds what it was given.
  const blocked = await h.poll(async () => {
    const s = await partitionsAndReplay(node.admin);
    return s.remaining > 0 && s.pending >= MAX_PENDING ? s : null;
  }, 60000, 'the replay waiting for room');
  assert.ok(blocked.pending <= MAX_PENDING + REPLAY_CHUNK,
    `the partition holds ${blocked.pending} invocations (bound ${MAX_PENDING + REPLAY_CHUNK})`);
  assert.equal((await h.health(node.admin)).status, 200, 'the node is healthy while it replays');

  await fns.up();
  await h.poll(async () => (await partitionsAndReplay(node.admin)).remaining === 0, 180000,
    () => `the replay to finish\n${node.stderr().slice(-3000)}`);
  const expected = {};
  for (let i = 0; i < MESSAGES; i += 1) expected[`r${i}`] = 1;
  await h.assertStoredCounts(node.admin, 'test', 'counter', expected, 180000);
  assert.equal(await node.stop('SIGTERM'), 0);
});
