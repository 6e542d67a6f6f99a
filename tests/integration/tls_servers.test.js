'use strict';
// The node's own servers over TLS (--tls-cert, --tls-key), tried with curl:
// the ingress takes a message over https, the egress hands out its record,
// the admin API answers, the hearth CLI reaches it with --cacert, and plain
// HTTP on the same port gets no answer. A certificate that cannot be used
// stops the start with a clear message.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFile } = require('node:child_process');
const h = require('./harness');
const { makeCerts } = require('./certs');
const { startTestFunctions } = require('../functions/servers');

const CLI = path.resolve(process.env.HEARTH_CLI || path.join(h.REPO_ROOT, 'build', 'bin', 'hearth'));

let fns;
let node;
let file;
let moduleYaml;

before(async () => {
  file = makeCerts(h.makeTempDir('hearth-tls-servers-'));
  fns = await startTestFunctions({ counterEgressTopic: 'counts' });
  moduleYaml = h.testModule({ port: fns.port, egressTopics: ['counts'] });
  node = await h.startNode({
    module: moduleYaml,
    args: ['--tls-cert', file('server.crt'), '--tls-key', file('server.key'), '--set', 'checkpoint.interval=100ms'],
  });
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

const https = (url) => url.replace('http://', 'https://');

function run(cmd, args) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

const curl = (...args) => run('curl', ['-sS', '--cacert', file('ca.crt'), ...args]);

test('ingress, egress and admin API answer over https, checked against the CA', async () => {
  const put = await curl('-X', 'PUT', '-H', 'Content-Type: text/plain', '--data-binary', 'inc',
    '-o', '/dev/null', '-w', '%{http_code}', `${https(node.ingress)}/test/counter/t1`);
  assert.equal(put.stdout, '200', put.stderr);
  const status = await curl(`${https(node.admin)}/status`);
  assert.equal(status.code, 0, status.stderr);
  assert.ok(JSON.parse(status.stdout).version, status.stdout);
  const record = await h.poll(async () => {
    const r = await curl('-w', '\n%{http_code}', `${https(node.egress)}/counts`);
    return r.stdout.endsWith('\n200') ? r.stdout : null;
  }, 30000, 'the egress record over https');
  assert.deepEqual(JSON.parse(record.split('\n')[0]), { id: 't1', count: 1 });
  const cli = await run(CLI, ['--node', https(node.admin), '--cacert', file('ca.crt'), 'status']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /version/);
});

test('without the CA, or over plain HTTP, nothing gets through', async () => {
  const unknownCa = await run('curl', ['-sS', `${https(node.admin)}/status`]);
  assert.notEqual(unknownCa.code, 0);
  assert.match(unknownCa.stderr, /certificate/i);
  const plain = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${node.admin}/status`]);
  assert.notEqual(plain.stdout, '200', 'plain HTTP to a TLS port is not answered');
  const cli = await run(CLI, ['--node', https(node.admin), 'status']);
  assert.equal(cli.code, 3, cli.stderr);
  const health = await curl(`${https(node.admin)}/health`);
  assert.equal(JSON.parse(health.stdout).status, 'ok', 'the node is unharmed');
});

test('a certificate that cannot be used stops the start with a clear message', async () => {
  const wrongKey = await h.runNode({
    module: moduleYaml, args: ['--tls-cert', file('server.crt'), '--tls-key', file('client.key')],
  });
  assert.equal(wrongKey.code, 1, wrongKey.stderr);
  assert.match(wrongKey.stderr, /cannot use the TLS certificate/);
  const alone = await h.runNode({ module: moduleYaml, args: ['--tls-cert', file('server.crt')] });
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /--tls-cert and --tls-key go together/);
});
