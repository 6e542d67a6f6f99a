'use strict';
// Checkpoints in S3 (s3rver on loopback): a node with --checkpoint-dir
// s3://bucket/prefix uploads its checkpoints there; SIGKILLed and started
// again on an EMPTY data dir, it restores from the bucket and goes on with
// exact state; retention removes what no kept checkpoint names.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');
const { startS3 } = require('./s3');
const { startTestFunctions } = require('../functions/servers');

let fns;
let moduleYaml;

before(async () => {
  fns = await startTestFunctions();
  moduleYaml = h.testModule({ port: fns.port, call: '60s' });
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

function s3Node(s3, dataDir, extra = []) {
  return h.startNode({
    module: moduleYaml,
    dataDir,
    env: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
    args: ['--checkpoint-dir', `s3://${s3.bucket}/cluster-a/checkpoints`,
      '--set', `s3.endpoint=${s3.endpoint}`, '--set', 'checkpoint.keep=2', ...extra],
  });
}

const objects = (s3) => {
  const out = [];
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else out.push(path.join(dir, e.name));
  };
  walk(path.join(s3.dir, s3.bucket));
  // s3rver keeps an object as "<key>._S3rver_object" (plus metadata files).
  return out.filter((f) => f.endsWith('._S3rver_object'))
    .map((f) => path.relative(path.join(s3.dir, s3.bucket), f).slice(0, -'._S3rver_object'.length));
};

test("a node on an empty data dir restores from the bucket with exact state", { timeout: 60000 }, async () => {
  const s3 = await startS3({ bucket: 'hearth-checkpoints' });
  try {
    const first = h.makeTempDir('hearth-s3-a-');
    let node = await s3Node(s3, first, ['--set', 'checkpoint.interval=1h']);
    const ids = ['a', 'b', 'c', 'd'];
    for (let i = 0; i < 5; i++)
      for (const id of ids) await h.sendOk(node.ingress, 'test', 'counter', id, 'inc');
    await h.assertStoredCounts(node.admin, 'test', 'counter', { a: 5, b: 5, c: 5, d: 5 });
    // Two more checkpoints than are kept: retention must remove the oldest.
    for (let i = 0; i < 4; i++) {
      const res = await h.request(`${node.admin}/checkpoints`, { method: 'POST' });
      assert.equal(res.status, 200, res.text);
    }
    const stored = objects(s3).filter((k) => k.startsWith('cluster-a/checkpoints/manifest-'));
    assert.deepEqual(stored.map((k) => k.slice(-25)), ['00000000000000000003.json', '00000000000000000004.json'],
      'checkpoint.keep=2: the two newest manifests are kept');
    assert.ok(!fs.existsSync(path.join(first, 'checkpoints')), 'no local checkpoint dir');
    await node.stop('SIGKILL');

    // Another machine: nothing of the first data dir.
    const second = h.makeTempDir('hearth-s3-b-');
    node = await s3Node(s3, second, ['--set', 'checkpoint.interval=200ms']);
    assert.match(node.stderr(), /restored checkpoint [1-9]/);
    await h.assertStoredCounts(node.admin, 'test', 'counter', { a: 5, b: 5, c: 5, d: 5 });
    for (const id of ids) await h.sendOk(node.ingress, 'test', 'counter', id, 'inc');
    await h.assertStoredCounts(node.admin, 'test', 'counter', { a: 6, b: 6, c: 6, d: 6 });
    assert.equal(await node.stop('SIGTERM'), 0);
  } finally {
    await s3.stop();
  }
});

test('a wrong S3 endpoint or bucket fails the start with a clear message', { timeout: 60000 }, async () => {
  const s3 = await startS3({ bucket: 'present' });
  try {
    const run = await h.runNode({
      module: moduleYaml,
      env: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
      args: ['--checkpoint-dir', 's3://absent/x', '--set', `s3.endpoint=${s3.endpoint}`],
    });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /--checkpoint-dir s3:\/\/absent\/x: .*NoSuchBucket/);
  } finally {
    await s3.stop();
  }
});
