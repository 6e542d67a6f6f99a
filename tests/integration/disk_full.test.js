'use strict';
// A full disk and a full LMDB map, for real: the node's data dir lives on a
// small tmpfs mounted by the test. While the disk is full the ingress answers
// an error (503 or 507), never 2xx for a message it could not make durable,
// and the node stays up; once there is room again (the tmpfs grown, or the
// map size raised) every message that was ever answered 2xx is applied
// exactly once.
//
// Senders use one Idempotency-Key per message and repeat it until it is
// answered 2xx, so the stored count of each address must equal its
// acknowledged keys: a message answered with an error but applied anyway
// would be applied twice.
//
// Needs root (mount); skipped with a message elsewhere.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

let fns;
const mounted = [];

function mountTmpfs(dir, size) {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  mounted.push(dir);
}

function canMount() {
  if (process.getuid && process.getuid() !== 0) return 'not running as root';
  const dir = mountPoint('hearth-mount-probe-');
  try {
    mountTmpfs(dir, '1m');
    execFileSync('umount', [dir]);
    mounted.pop();
    fs.rmdirSync(dir);
    return null;
  } catch (e) {
    return `mounting a tmpfs is not allowed here (${String(e.stderr || e.message).trim()})`;
  }
}

before(async () => {
  fns = await startTestFunctions();
});

// A folder of its own for a mount (the harness removes its temporary folders
// while they may still be mounted otherwise).
function mountPoint(prefix) {
  return fs.mkdtempSync(path.join(require('node:os').tmpdir(), prefix));
}

after(async () => {
  try {
    await h.cleanup(); // the nodes first: their files are on the mounts
    for (const dir of mounted.reverse()) {
      try {
        execFileSync('umount', [dir]);
      } catch (e) {
        // already unmounted
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    if (fns) await fns.close();
  }
});

// Sends to test/counter:<ids...> until stopped, each message under its own
// Idempotency-Key repeated until it is answered 2xx; counts the answers.
function startLoad(target, ids, body) {
  const load = {
    acked: Object.fromEntries(ids.map((id) => [id, 0])),
    total: 0,
    statuses: {},
    reasons: new Set(),
    stopping: false,
    waiters: [],
  };
  load.until = (pred) => new Promise((resolve) => {
    if (pred()) resolve();
    else load.waiters.push({ pred, resolve });
  });
  const note = () => {
    load.waiters = load.waiters.filter((w) => (w.pred() ? (w.resolve(), false) : true));
  };
  async function sender(id) {
    for (let seq = 0; !load.stopping; seq++) {
      const key = `${id}-${seq}`;
      for (;;) {
        const res = await h.request(`${target.ingress}/test/counter/${encodeURIComponent(id)}`, {
          method: 'PUT',
          headers: { 'Content-Type': `application/vnd.${h.STRING_TYPENAME}`, 'Idempotency-Key': key },
          body: h.encodeValue(body, h.STRING_TYPENAME),
        }).catch((e) => ({ status: 0, text: String(e) }));
        load.statuses[res.status] = (load.statuses[res.status] || 0) + 1;
        note();
        if (res.status === 200) break;
        if (res.json && res.json.error) load.reasons.add(res.json.error.slice(0, 200));
        if (load.stopping && res.status !== 200) return; // never acknowledged: not counted
        await h.sleep(20);
      }
      load.acked[id]++;
      load.total++;
      note();
    }
  }
  load.done = Promise.all(ids.map(sender));
  load.stop = async () => {
    load.stopping = true;
    await load.done;
  };
  return load;
}

// No answer but 200, 503 and 507: anything else is a defect.
function assertOnlyExpectedStatuses(load) {
  for (const status of Object.keys(load.statuses)) {
    assert.ok(['200', '503', '507'].includes(status),
      `ingress answered ${status} (${load.statuses[status]} times); reasons: ${[...load.reasons].join(' | ')}`);
  }
}

test('a full disk: errors while full, never a 2xx lost, every acknowledged message applied once', { timeout: 300000 }, async (t) => {
  const why = canMount();
  if (why) {
    t.skip(`skipped: ${why}`);
    return;
  }
  const moduleYaml = h.testModule({ port: fns.port, call: '60s' });
  const disk = mountPoint('hearth-disk-');
  mountTmpfs(disk, '24m');
  const dataDir = path.join(disk, 'data');
  const node = await h.startNode({
    module: moduleYaml,
    dataDir,
    args: ['--set', 'checkpoint.interval=200ms', '--set', 'partitions=2', '--set', 'health.min_free_bytes=2097152'],
  });
  // 8 KiB messages: the ingress log fills the disk within a few thousand.
  const ids = Array.from({ length: 8 }, (_, i) => `d${i}`);
  const load = startLoad(node, ids, 'x'.repeat(8192));

  // Full: the ingress answers errors, /health says why, the node stays up.
  await load.until(() => (load.statuses['503'] || 0) + (load.statuses['507'] || 0) >= 50);
  assert.equal(node.proc.exitCode, null, `the node is still running\n${node.stderr().slice(-3000)}`);
  await h.poll(async () => (await h.health(node.admin)).status === 503, 30000, '/health to report the full disk');
  const sick = await h.health(node.admin);
  assert.ok(sick.json && sick.json.reason, `/health gives a reason: ${sick.text}`);
  const ackedWhenFull = load.total;

  // Room again: the same messages are taken, and new ones.
  execFileSync('mount', ['-o', 'remount,size=512m', disk]);
  await load.until(() => load.total >= ackedWhenFull + 400);
  await load.stop();
  assertOnlyExpectedStatuses(load);
  assert.equal(node.proc.exitCode, null, 'the node stayed up');
  await h.poll(async () => (await h.health(node.admin)).status === 200, 60000, '/health to recover');
  await h.assertStoredCounts(node.admin, 'test', 'counter', load.acked);
  const healed = await h.health(node.admin);
  t.diagnostic(`answers ${JSON.stringify(load.statuses)}; acknowledged ${load.total}; `
    + `rebuilds ${healed.json.restarts}; reasons: ${[...load.reasons].slice(0, 3).join(' | ')}`);
  assert.equal(await node.stop('SIGTERM'), 0, node.stderr().slice(-4000));
});

test('a full LMDB map: the node stays up, and with a larger map every acknowledged message is applied once', { timeout: 300000 }, async (t) => {
  const why = canMount();
  if (why) {
    t.skip(`skipped: ${why}`);
    return;
  }
  const moduleYaml = h.testModule({ port: fns.port, call: '60s' });
  const dataDir = h.makeTempDir('hearth-map-');
  const args = ['--set', 'checkpoint.interval=200ms', '--set', 'partitions=1'];
  let node = await h.startNode({ module: moduleYaml, dataDir, args: [...args, '--set', 'storage.map_size=1048576'] });
  // Many distinct addresses with a long id each: the store outgrows 1 MiB.
  const ids = Array.from({ length: 16 }, (_, i) => `m${i}`);
  const target = { ingress: node.ingress };
  const acked = {};
  let next = 0;
  let failedWrite = false;
  const started = Date.now();
  // One message per address, 16 at a time, until a commit fails for want of room.
  while (!failedWrite) {
    assert.ok(Date.now() - started < 120000, `no commit failed within 120 s\n${node.stderr().slice(-3000)}`);
    const batch = ids.map(() => `map-${String(next++).padStart(6, '0')}-${'y'.repeat(150)}`);
    const answers = await Promise.all(batch.map((id) => h.request(`${target.ingress}/test/counter/${id}`, {
      method: 'PUT',
      headers: { 'Content-Type': `application/vnd.${h.STRING_TYPENAME}`, 'Idempotency-Key': id },
      body: h.encodeValue('inc', h.STRING_TYPENAME),
    })));
    answers.forEach((res, i) => {
      assert.ok([200, 503].includes(res.status), `ingress answered ${res.status}: ${res.text}`);
      if (res.status === 200) acked[batch[i]] = 1;
    });
    failedWrite = node.stderr().includes('MDB_MAP_FULL');
  }
  assert.equal(node.proc.exitCode, null, 'the node stays up with a full map');
  const sick = await h.poll(async () => {
    const res = await h.health(node.admin);
    return res.json && res.json.restarts > 0 ? res : null;
  }, 30000, '/health to count the rebuild');
  assert.ok(sick.json.restarts >= 1, sick.text);
  t.diagnostic(`${Object.keys(acked).length} addresses acknowledged before the map filled; health: ${sick.text.slice(0, 600)}`);
  assert.equal(await node.stop('SIGTERM'), 0, node.stderr().slice(-4000));

  node = await h.startNode({ module: moduleYaml, dataDir, args });
  await h.assertStoredCounts(node.admin, 'test', 'counter', acked);
  assert.ok(Object.keys(acked).length > 100, `${Object.keys(acked).length} addresses acknowledged`);
  assert.equal(await node.stop('SIGTERM'), 0, node.stderr().slice(-4000));
});
