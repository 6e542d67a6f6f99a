'use strict';
// Cluster membership over CAF's middleman, with real hearth-node processes:
// nodes join through any member on the cluster's terms, agree on one epoch
// and one placement of key groups, and a node that is killed, frozen past
// the node timeout, or restarted is seen as such: a new epoch without it, a
// fenced old incarnation rejoining as a new one, a restarted coordinator
// resuming the cluster from its metadata.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { execFile } = require('node:child_process');
const path = require('node:path');
const h = require('./harness');

// Detection within a few seconds, with room for a loaded machine's pauses.
// The checks below hold even if a node is wrongly declared gone once (it
// rejoins as a newer incarnation): they name the nodes that must change.
const FAST = ['--set', 'cluster.heartbeat=500ms', '--set', 'cluster.node_timeout=4s'];
const CLI = path.resolve(process.env.HEARTH_CLI || path.join(h.REPO_ROOT, 'build', 'bin', 'hearth'));
let shared;
let moduleYaml;

before(() => {
  shared = h.makeTempDir('hearth-cluster-');
  moduleYaml = h.testModule({ port: 1 });
});

after(async () => {
  await h.cleanup();
});

async function cluster(node) {
  const res = await h.request(`${node.admin}/cluster`);
  assert.equal(res.status, 200, res.text);
  return res.json;
}

function cli(admin, ...args) {
  return new Promise((resolve) => {
    execFile(CLI, ['--node', admin, ...args], { timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

function start(id, { join, dataDir, extra = [] } = {}) {
  const args = ['--checkpoint-dir', shared, '--cluster-port', '0', ...FAST, ...extra];
  if (id) args.push('--node-id', id);
  if (join) args.push('--join', join);
  return h.startNode({ module: moduleYaml, args, dataDir });
}

// Polls every node's view until each one holds exactly the members `ids`
// in one epoch, each node a member; returns that view.
async function converged(nodes, ids, what) {
  let last;
  await h.poll(async () => {
    const views = await Promise.all(nodes.map(cluster));
    last = views;
    const epochs = new Set(views.map((v) => v.epoch));
    if (epochs.size !== 1) return false;
    return views.every((v) => v.member
      && JSON.stringify(v.members.map((m) => m.id)) === JSON.stringify(ids));
  }, 60000, what).catch((e) => {
    throw new Error(`${e.message}; views: ${JSON.stringify(last)}`);
  });
  return last[0];
}

const incarnation = (view, id) => view.members.find((m) => m.id === id).incarnation;

let n1;
let n2;
let n3;

test('three nodes join through any member and agree on the epoch and the placement', async () => {
  n1 = await start('n1');
  assert.equal(n1.nodeId, 'n1');
  assert.match(n1.cluster, /^127\.0\.0\.1:\d+$/);
  n2 = await start('n2', { join: n1.cluster });
  n3 = await start('n3', { join: n2.cluster }); // through a member that is not the coordinator
  const view = await converged([n1, n2, n3], ['n1', 'n2', 'n3'], 'three members');
  assert.equal(view.coordinator, 'n1');
  assert.ok(view.epoch >= 3, `epoch ${view.epoch}`);
  // Contiguous key-group ranges, in node order, covering every group once.
  let next = 0;
  for (const m of view.members) {
    assert.ok(m.key_groups.length > 0, `${m.id} owns key groups`);
    for (const [b, e] of m.key_groups) {
      assert.equal(b, next);
      next = e;
    }
  }
  assert.equal(next, 128);
  // The metadata in the shared checkpoint storage holds the same view.
  const meta = JSON.parse(fs.readFileSync(path.join(shared, 'CLUSTER'), 'utf8'));
  assert.equal(meta.epoch, view.epoch);
  assert.deepEqual(meta.members.map((m) => m.id), ['n1', 'n2', 'n3']);
  // The CLI shows the same, from any member.
  const shown = await cli(n3.admin, 'cluster');
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`^epoch ${view.epoch}, coordinator n1, seen from n3\n`));
  for (const m of view.members) {
    const groups = m.key_groups.map(([b, e]) => `${b}-${e - 1}`).join(' ');
    assert.match(shown.stdout, new RegExp(`${m.id}\\s+${m.incarnation}\\s+${m.address}\\s+active\\s+\\d+\\s+${groups}`));
  }
  const asJson = await cli(n3.admin, '--json', 'cluster');
  assert.deepEqual(JSON.parse(asJson.stdout).members, view.members);
  // Members take messages (routed to their owners: cluster_messaging.test.js).
  const res = await h.send(n2.ingress, 'test', 'counter', 'a', 'x');
  assert.equal(res.status, 200, res.text);
  // Its metrics carry its node id.
  const metrics = await h.request(`${n2.admin}/metrics`);
  assert.match(metrics.text, /hearth_ingress_requests\{node="n2",outcome="accepted"\} [1-9]\d*/);
  // /health says whether the node is a member, and in which epoch.
  const health = await h.request(`${n2.admin}/health`);
  assert.equal(health.json.cluster.node, 'n2');
  assert.equal(health.json.cluster.member, true);
  assert.ok(health.json.cluster.epoch >= view.epoch);
});

test('a node with another module.yaml is refused at join, naming the line that differs', async () => {
  const other = moduleYaml.replace('call: 60s', 'call: 61s');
  const res = await h.runNode({
    module: other,
    args: ['--checkpoint-dir', shared, '--cluster-port', '0', '--node-id', 'odd', '--join', n1.cluster, ...FAST],
  });
  assert.equal(res.code, 2, res.stderr);
  assert.match(res.stderr, /node 'odd' cannot join: its module\.yaml differs from the cluster's at line \d+: '    call: 61s' \(the cluster has '    call: 60s'\)/);
  const view = await cluster(n1);
  assert.ok(!view.members.some((m) => m.id === 'odd'));
});

test('a killed member is declared gone; restarted on its data dir, it rejoins as a new incarnation', async () => {
  const before = await cluster(n1);
  const dataDir = n3.dataDir;
  assert.equal(await n3.stop('SIGKILL'), 'SIGKILL');
  const without = await converged([n1, n2], ['n1', 'n2'], 'n3 declared gone');
  assert.ok(without.epoch > before.epoch);
  // No --join and no --node-id: both come from the data dir and the metadata.
  n3 = await start(null, { dataDir });
  assert.equal(n3.nodeId, 'n3');
  const back = await converged([n1, n2, n3], ['n1', 'n2', 'n3'], 'n3 back');
  assert.ok(incarnation(back, 'n3') > incarnation(before, 'n3'));
});

test('a frozen member is fenced: thawed, it learns it and rejoins as a new incarnation', async () => {
  // n3 was restarted without --join: it finds the coordinator again through
  // its last view and the metadata.
  const before = await cluster(n1);
  await h.freeze(n3.pid);
  try {
    await converged([n1, n2], ['n1', 'n2'], 'n3 declared gone while frozen');
  } finally {
    process.kill(n3.pid, 'SIGCONT');
  }
  const back = await converged([n1, n2, n3], ['n1', 'n2', 'n3'], 'n3 back');
  assert.ok(incarnation(back, 'n3') > incarnation(before, 'n3'));
  assert.match(n3.stderr(), /this node is not in it: fenced/);
});

test('a restarted coordinator resumes the cluster from its metadata, even when given --join', async () => {
  const before = await cluster(n2);
  const dataDir = n1.dataDir;
  assert.equal(await n1.stop('SIGKILL'), 'SIGKILL');
  // The same flags as the others: the metadata, not --join, says it keeps the cluster.
  n1 = await start(null, { dataDir, join: n2.cluster });
  const view = await converged([n1, n2, n3], ['n1', 'n2', 'n3'], 'the coordinator back');
  assert.equal(view.coordinator, 'n1');
  assert.ok(view.epoch > before.epoch);
  assert.ok(incarnation(view, 'n1') > incarnation(before, 'n1'));
  // The members learned its new address: a loss now reaches every one of them.
  assert.equal(await n3.stop('SIGKILL'), 'SIGKILL');
  await converged([n1, n2], ['n1', 'n2'], 'n3 gone after the coordinator restart');
});

test('a data dir keeps its node id; cluster flags need --cluster-port', async () => {
  const dataDir = h.makeTempDir('hearth-cluster-id-');
  const first = await start('keeper', { dataDir, join: n1.cluster });
  assert.equal(await first.stop('SIGTERM'), 0);
  const wrong = await h.runNode({
    module: moduleYaml,
    dataDir,
    args: ['--checkpoint-dir', shared, '--cluster-port', '0', '--node-id', 'thief', '--join', n1.cluster],
  });
  assert.equal(wrong.code, 2, wrong.stderr);
  assert.match(wrong.stderr, /belongs to node 'keeper', not 'thief'/);
  const single = await h.runNode({ module: moduleYaml, args: ['--join', n1.cluster] });
  assert.equal(single.code, 2);
  assert.match(single.stderr, /--join, --node-id and --advertise need --cluster-port/);
  const wildcard = await h.runNode({ module: moduleYaml, args: ['--cluster-port', '0', '--bind', '0.0.0.0'] });
  assert.equal(wildcard.code, 2);
  assert.match(wildcard.stderr, /give --advertise HOST/);
  // The coordinator's id cannot be taken by another process.
  const twin = await h.runNode({
    module: moduleYaml,
    args: ['--checkpoint-dir', shared, '--cluster-port', '0', '--node-id', 'n1', '--join', n2.cluster, ...FAST],
  });
  assert.equal(twin.code, 2, twin.stderr);
  assert.match(twin.stderr, /node 'n1' cannot join: it has the coordinator's node id/);
});
