'use strict';
// Thousands of busy addresses behind a slow but healthy function: far more
// calls than the endpoint's pool lets run at once wait in the function
// client's queue, and none of them loses its call budget to that wait (the
// budget counts from a call's first attempt). 5,000 addresses, 4 calls at a
// time, 25 ms per call (at least 31 s of queue), a call budget of 10 s (room
// for a slow call on a loaded machine): no dead letter, every message
// applied once.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

const ADDRESSES = 5000;

let fns;

before(async () => {
  fns = await startTestFunctions();
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

test(`${ADDRESSES} busy addresses behind a slow function: no dead letter, each message applied once`, { timeout: 240000 }, async () => {
  fns.records.slow.delayMs = 25;
  const moduleYaml = h.testModule({ port: fns.port, call: '10s', connect: '5s' })
    .replace('    connect: 5s', '    connect: 5s\n    pool_size: 4');
  assert.ok(moduleYaml.includes('pool_size: 4'));
  const node = await h.startNode({ module: moduleYaml, args: ['--set', 'partitions=2'] });
  await h.runParallel(ADDRESSES, 128, (i) => h.sendKeyed(node.ingress, 'test', 'slow', `s${i}`, 'go', `k${i}`));
  // Every address either called its function or was dead-lettered.
  let deadLettered = 0;
  await h.poll(async () => {
    const st = await h.request(`${node.admin}/status`);
    deadLettered = st.json.counters.dead_letters_written;
    return fns.records.slow.calls + deadLettered >= ADDRESSES;
  }, 180000, () => `${ADDRESSES} calls or dead letters (${fns.records.slow.calls} calls, ${deadLettered} dead letters)`, 200);
  const letters = await h.deadLetters(node.admin);
  assert.deepEqual(letters.slice(0, 5).map((d) => d.reason), [], `no dead letter (${letters.length})`);
  assert.equal(Object.keys(fns.records.slow.counts).length, ADDRESSES);
  assert.ok(Object.values(fns.records.slow.counts).every((c) => c === 1), 'each address counted once');
  // Stored by Hearth, not only seen by the function: a sample of the addresses.
  for (let i = 0; i < ADDRESSES; i += 499) {
    await h.poll(async () => (await h.storedInt(node.admin, 'test', 'slow', `s${i}`)) === 1, 30000, `test/slow:s${i} stored`);
  }
  assert.equal(await node.stop('SIGTERM'), 0);
});
