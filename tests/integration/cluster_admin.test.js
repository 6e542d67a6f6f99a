'use strict';
// The admin API of a cluster member answers for the whole cluster, so its
// calls wait on partitions of other nodes. Two real hearth-node processes on
// loopback and functions on the official StateFun JS SDK: while one member is
// frozen with SIGSTOP (shorter than the node timeout, so it stays a member),
// every admin call through the other that needs it fails with 503 naming the
// partition that did not answer, never a short listing, a false 404 or an
// empty list; so does the checkpoint history while the coordinator's node is
// frozen. Thawed, the same calls answer in full.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

// A frozen member must not be declared gone during the test (node_timeout),
// and an admin call must give up on it quickly (admin.timeout).
const SETTINGS = ['--set', 'cluster.heartbeat=500ms', '--set', 'cluster.node_timeout=60s',
  '--set', 'checkpoint.interval=300ms', '--set', 'admin.timeout=1s'];
const IDS = Array.from({ length: 16 }, (_, i) => `a${i}`);

let fns;
let shared;
let moduleYaml;
const nodes = {};

before(async () => {
  fns = await startTestFunctions({});
  moduleYaml = h.testModule({ port: fns.port });
  shared = h.makeTempDir('hearth-cluster-admin-');
});

after(async () => {
  for (const n of Object.values(nodes)) {
    try { process.kill(n.pid, 'SIGCONT'); } catch { /* gone already */ }
  }
  await h.cleanup();
  if (fns) await fns.close();
});

async function start(id, join) {
  const args = ['--checkpoint-dir', shared, '--cluster-port', '0', '--node-id', id, ...SETTINGS];
  if (join) args.push('--join', join);
  nodes[id] = await h.startNode({ module: moduleYaml, args, dataDir: h.makeTempDir(`hearth-${id}-`) });
  return nodes[id];
}

test('a frozen member makes the admin calls that need it 503 naming its partition; thawed, they answer in full', { timeout: 240000 }, async () => {
  const b1 = await start('b1');
  const b2 = await start('b2', b1.cluster);
  await h.clusterRunning([b1, b2], 'a running epoch of b1, b2');
  for (const id of IDS) await h.sendOk(b1.ingress, 'test', 'counter', id, 'inc');
  await h.assertStoredCounts(b1.admin, 'test', 'counter', Object.fromEntries(IDS.map((id) => [id, 1])));

  const listed = await h.request(`${b1.admin}/actors?type=test/counter&limit=1000`);
  assert.equal(listed.status, 200, listed.text);
  assert.equal(listed.json.total, IDS.length);
  const onB2 = listed.json.actors.find((a) => a.node === 'b2');
  const onB1 = listed.json.actors.find((a) => a.node === 'b1');
  assert.ok(onB2 && onB1, `addresses on both nodes: ${listed.text}`);

  await h.freeze(b2.pid);
  try {
    const frozenList = await h.request(`${b1.admin}/actors?type=test/counter&limit=1000`);
    assert.equal(frozenList.status, 503, frozenList.text);
    assert.match(frozenList.json.reason || frozenList.text, /partition \d+ did not answer within 1000 ms/);

    const frozenOne = await h.request(`${b1.admin}/actors/test/counter/${onB2.address.id}`);
    assert.equal(frozenOne.status, 503, frozenOne.text);
    assert.match(frozenOne.text, /partition \d+ did not answer within 1000 ms/);

    // An address of the member that answers is read as ever.
    const mine = await h.request(`${b1.admin}/actors/test/counter/${onB1.address.id}`);
    assert.equal(mine.status, 200, mine.text);
    assert.equal(mine.json.states.count.value, 1);

    const letters = await h.request(`${b1.admin}/dead-letters`);
    assert.equal(letters.status, 503, letters.text);
    assert.match(letters.text, /partition \d+ did not answer within 1000 ms/);
  } finally {
    process.kill(b2.pid, 'SIGCONT');
  }

  // Thawed: the same calls answer in full, through either node.
  for (const via of [b1, b2]) {
    await h.poll(async () => (await h.request(`${via.admin}/actors?type=test/counter&limit=1000`)).status === 200,
      60000, 'the listing answers again after the thaw', 100);
    const again = await h.request(`${via.admin}/actors?type=test/counter&limit=1000`);
    assert.equal(again.json.total, IDS.length);
    const one = await h.request(`${via.admin}/actors/test/counter/${onB2.address.id}`);
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.states.count.value, 1);
    const letters = await h.request(`${via.admin}/dead-letters`);
    assert.equal(letters.status, 200, letters.text);
    assert.deepEqual(letters.json.dead_letters, []);
  }
  // The checkpoint history lives on the coordinator's node (b1): frozen, it
  // is a 503 through b2, never an empty history.
  await h.freeze(b1.pid);
  try {
    const history = await h.request(`${b2.admin}/checkpoints`);
    assert.equal(history.status, 503, history.text);
    assert.match(history.text, /the checkpoint coordinator did not answer within 1000 ms/);
    // /status still answers, saying the last checkpoint is unknown rather than none.
    const status = await h.request(`${b2.admin}/status`);
    assert.equal(status.status, 200, status.text);
    assert.equal(status.json.last_checkpoint, null);
    assert.match(status.json.last_checkpoint_error, /the checkpoint coordinator did not answer within 1000 ms/);
  } finally {
    process.kill(b1.pid, 'SIGCONT');
  }
  await h.poll(async () => {
    const r = await h.request(`${b2.admin}/checkpoints`);
    return r.status === 200 && r.json.checkpoints.length > 0;
  }, 60000, 'the checkpoint history through b2 after the thaw', 100);
  const thawed = await h.request(`${b2.admin}/status`);
  assert.ok(thawed.json.last_checkpoint && !('last_checkpoint_error' in thawed.json), thawed.text);

  // Still one cluster of two: the freezes were no failure.
  const view = await h.request(`${b1.admin}/cluster`);
  assert.equal(view.json.members.length, 2);
});
