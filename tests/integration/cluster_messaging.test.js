'use strict';
// Messages across the nodes of a cluster, with three real hearth-node
// processes on loopback (separate data dirs, one shared checkpoint dir) and
// functions on the official StateFun JS SDK: every node's ingress takes
// messages for every address and routes them to the owning partition,
// wherever it runs; `?wait=true` answers for an address on another node; the
// admin API of any node answers for any address and lists the whole cluster;
// every egress record comes out once, from any node's egress. Then the
// failures: a member SIGKILLed (messages taken by the others meanwhile),
// restarted on its data dir, and the coordinator SIGKILLed and restarted;
// then a node joining the running cluster and one drained from it: counts
// stay exact (nothing lost, nothing applied twice).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

const FAST = ['--set', 'cluster.heartbeat=500ms', '--set', 'cluster.node_timeout=4s',
  '--set', 'checkpoint.interval=300ms'];

const CLI = path.resolve(process.env.HEARTH_CLI || path.join(h.REPO_ROOT, 'build', 'bin', 'hearth'));

function cli(admin, ...args) {
  return new Promise((resolve) => {
    execFile(CLI, ['--node', admin, ...args], { timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

let fns;
let moduleYaml;
let shared;
const nodes = {};
const dataDirs = {};
const expected = {}; // id -> messages acknowledged

before(async () => {
  fns = await startTestFunctions({ counterEgressTopic: 'counts' });
  moduleYaml = h.testModule({ port: fns.port, egressTopics: ['counts'] });
  shared = h.makeTempDir('hearth-cluster-msg-');
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

async function start(id, join) {
  dataDirs[id] = dataDirs[id] || h.makeTempDir(`hearth-${id}-`);
  const args = ['--checkpoint-dir', shared, '--cluster-port', '0', '--node-id', id, ...FAST];
  if (join) args.push('--join', join);
  nodes[id] = await h.startNode({ module: moduleYaml, args, dataDir: dataDirs[id] });
  return nodes[id];
}

// Waits until every given node runs its part of one epoch with `ids` as members.
async function running(ids) {
  let last;
  await h.poll(async () => {
    const views = await Promise.all(ids.map(async (id) => {
      const [c, health] = await Promise.all([
        h.request(`${nodes[id].admin}/cluster`), h.request(`${nodes[id].admin}/health`)]);
      return { id, epoch: c.json.epoch, members: c.json.members.map((m) => m.id), pipeline: health.json.pipeline };
    }));
    last = views;
    return new Set(views.map((v) => v.epoch)).size === 1
      && views.every((v) => v.pipeline === 'running' && JSON.stringify(v.members) === JSON.stringify(ids));
  }, 90000, () => `a running epoch of ${ids.join(', ')} (last: ${JSON.stringify(last)})`, 100);
}

// Sends `n` increments to each id, spread over the given nodes' ingress
// (each message acknowledged: 200 once durable).
async function sendAll(ids, n, via) {
  let k = 0;
  await h.runParallel(ids.length * n, 8, async (i) => {
    const id = ids[i % ids.length];
    const node = nodes[via[k++ % via.length]];
    await h.sendOk(node.ingress, 'test', 'counter', id, 'inc');
    expected[id] = (expected[id] || 0) + 1;
  });
}

// A test whose failure carries the tail of every node's log: CI keeps only
// the output, and a cluster's failure is read in its nodes' logs.
function clusterTest(name, options, fn) {
  test(name, options, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      const logs = Object.entries(nodes).map(([id, n]) => `--- ${id}\n${h.tail(n.stderr(), 3000)}`);
      e.message = `${e.message}\n${logs.join('\n')}`;
      throw e;
    }
  });
}

const IDS = Array.from({ length: 24 }, (_, i) => `c${i}`);

clusterTest('every node takes messages for every address and the owner applies them once', { timeout: 240000 }, async () => {
  const n1 = await start('n1');
  await start('n2', n1.cluster);
  await start('n3', nodes.n2.cluster);
  await running(['n1', 'n2', 'n3']);

  await sendAll(IDS, 5, ['n1', 'n2', 'n3']);
  await h.assertStoredCounts(nodes.n3.admin, 'test', 'counter', expected);
  // The function saw each message once, and never two calls at once per id.
  for (const id of IDS) {
    assert.equal(fns.records.counter.counts[id], expected[id], `calls for ${id}`);
    assert.ok((fns.records.counter.maxInflight[id] || 0) <= 1, `one call at a time for ${id}`);
  }

  // The actor listing covers the whole cluster, with the node of each address.
  const listed = await h.request(`${nodes.n2.admin}/actors?type=test/counter&limit=1000`);
  assert.equal(listed.status, 200, listed.text);
  assert.equal(listed.json.total, IDS.length);
  const owners = new Set(listed.json.actors.map((a) => a.node));
  assert.deepEqual([...owners].sort(), ['n1', 'n2', 'n3']);

  // ?wait=true through every node, for an address owned by each node.
  const ownerOf = Object.fromEntries(listed.json.actors.map((a) => [a.address.id, a.node]));
  for (const via of ['n1', 'n2', 'n3']) {
    for (const owner of ['n1', 'n2', 'n3']) {
      const id = IDS.find((x) => ownerOf[x] === owner);
      const res = await h.request(`${nodes[via].ingress}/test/counter/${id}?wait=true`, {
        method: 'PUT',
        headers: { 'Content-Type': `application/vnd.${h.STRING_TYPENAME}` },
        body: h.encodeValue('inc', h.STRING_TYPENAME),
      });
      assert.equal(res.status, 200, res.text);
      assert.ok(res.json.applied, `${via} -> ${id} on ${owner}: ${res.text}`);
      assert.equal(res.json.applied.invocations, 1);
      expected[id] += 1;
    }
  }
  await h.assertStoredCounts(nodes.n1.admin, 'test', 'counter', expected);

  // Every egress record exactly once, all of them from one node's egress.
  const total = Object.values(expected).reduce((a, b) => a + b, 0);
  const records = await h.collectEgress(nodes.n2.egress, 'counts', total, 60000);
  const seen = new Set(records);
  assert.equal(seen.size, records.length, 'no record twice');
  for (const [id, n] of Object.entries(expected)) {
    for (let c = 1; c <= n; c++) assert.ok(seen.has(JSON.stringify({ id, count: c })), `record ${id} ${c}`);
  }
  assert.equal(await h.popEgress(nodes.n1.egress, 'counts'), null);
});

clusterTest('a killed member: the others take its messages meanwhile; restarted, it rejoins; counts exact', { timeout: 300000 }, async () => {
  await nodes.n2.stop('SIGKILL');
  // Messages for every address (n2's too) through the survivors.
  await sendAll(IDS, 2, ['n1', 'n3']);
  await running(['n1', 'n3']);
  await h.assertStoredCounts(nodes.n1.admin, 'test', 'counter', expected);
  await start('n2', nodes.n1.cluster);
  await running(['n1', 'n2', 'n3']);
  await sendAll(IDS, 1, ['n2']);
  await h.assertStoredCounts(nodes.n2.admin, 'test', 'counter', expected);
});

clusterTest('the coordinator killed and restarted on its data dir: the cluster resumes; counts exact', { timeout: 300000 }, async () => {
  await sendAll(IDS, 1, ['n2', 'n3']);
  await nodes.n1.stop('SIGKILL');
  await sendAll(IDS, 1, ['n2', 'n3']); // taken while the coordinator is down
  await start('n1');
  await running(['n1', 'n2', 'n3']);
  await sendAll(IDS, 1, ['n1', 'n2', 'n3']);
  await h.assertStoredCounts(nodes.n3.admin, 'test', 'counter', expected);
  for (const id of IDS) {
    const stored = await h.storedInt(nodes.n1.admin, 'test', 'counter', id);
    assert.equal(stored, expected[id], `stored count of ${id}`);
  }
});

clusterTest('a node that joins the running cluster takes its share of key groups; counts exact', { timeout: 300000 }, async () => {
  const sending = sendAll(IDS, 3, ['n1', 'n2', 'n3']); // while it joins
  await start('n4', nodes.n3.cluster);
  await sending;
  await running(['n1', 'n2', 'n3', 'n4']);
  await sendAll(IDS, 1, ['n4']);
  await h.assertStoredCounts(nodes.n4.admin, 'test', 'counter', expected);
  const listed = await h.request(`${nodes.n1.admin}/actors?type=test/counter&limit=1000`);
  assert.ok(listed.json.actors.some((a) => a.node === 'n4'), 'n4 owns addresses');
  // The key groups moved at a checkpoint taken for the handover.
  assert.match(nodes.n1.stderr(), /checkpoint \d+ taken for the handover/);
});

clusterTest('a drained node hands its key groups over, leaves and exits 0; counts exact', { timeout: 300000 }, async () => {
  await sendAll(IDS, 1, ['n3']); // in n3's log
  const handovers = (nodes.n1.stderr().match(/taken for the handover/g) || []).length;
  const drained = await cli(nodes.n1.admin, 'cluster', 'drain', 'n3');
  assert.equal(drained.code, 0, drained.stderr);
  assert.match(drained.stdout, /^draining n3 \(epoch \d+\)/);
  const exit = await h.withTimeout(nodes.n3.exited, 120000);
  assert.deepEqual(exit, { code: 0, signal: null }, nodes.n3.stderr());
  await running(['n1', 'n2', 'n4']);
  assert.equal((nodes.n1.stderr().match(/taken for the handover/g) || []).length, handovers + 1);
  await sendAll(IDS, 1, ['n1', 'n2', 'n4']);
  await h.assertStoredCounts(nodes.n2.admin, 'test', 'counter', expected);
  const listed = await h.request(`${nodes.n2.admin}/actors?type=test/counter&limit=1000`);
  assert.ok(listed.json.actors.every((a) => a.node !== 'n3'), 'nothing on n3');
  // The coordinator cannot be drained, and an unknown node is named.
  const refused = await cli(nodes.n2.admin, 'cluster', 'drain', 'n1');
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /coordinator/);
  const unknown = await cli(nodes.n2.admin, 'cluster', 'drain', 'n9');
  assert.match(unknown.stderr, /not a member/);
});
