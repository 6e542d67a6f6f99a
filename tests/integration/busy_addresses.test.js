'use strict';
// Thousands of busy addresses behind a slow but healthy function: far more
// calls than the endpoint's pool lets run at once wait in the function
// client's queue, and none of them loses its call budget to that wait (the
// budget counts from a call's first attempt). 5,000 addresses, 16 calls at a
// time, 20 ms per call (about 6 s of queue), a call budget of 1 s: no dead
// letter, every message applied once.

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
  const moduleYaml = h.testModule({ port: fns.port, call: '1s', connect: '1s' })
    .replace('    connect: 1s', '    connect: 1s\n    pool_size: 16');
  assert.ok(moduleYaml.includes('pool_size: 16'));
  const node = await h.startNode({ module: moduleYaml, args: ['--set', 'partitions=2'] });
  await h.runParallel(ADDRESSES, 128, (i) => h.sendOk(node.ingress, 'test', 'slow', `s${i}`, 'go'));
  await h.poll(() => fns.records.slow.calls >= ADDRESSES, 180000,
    () => `${ADDRESSES} calls (${fns.records.slow.calls} so far)`, 200);
  const letters = await h.deadLetters(node.admin);
  assert.deepEqual(letters.map((d) => d.reason), [], 'no dead letter');
  assert.equal(Object.keys(fns.records.slow.counts).length, ADDRESSES);
  assert.ok(Object.values(fns.records.slow.counts).every((c) => c === 1), 'each address counted once');
  // Stored by Hearth, not only seen by the function: a sample of the addresses.
  for (let i = 0; i < ADDRESSES; i += 499) {
    await h.poll(async () => (await h.storedInt(node.admin, 'test', 'slow', `s${i}`)) === 1, 30000, `test/slow:s${i} stored`);
  }
  assert.equal(await node.stop('SIGTERM'), 0);
});
