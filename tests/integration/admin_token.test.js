'use strict';
// The admin API's bearer token: without it (or with another one) every API
// request gets 401 with a JSON reason; the probes and the console's files do
// not need it; the hearth CLI sends it from --token-file or $HEARTH_TOKEN; a
// node bound beyond loopback refuses to start without one.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFile } = require('node:child_process');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

const CLI = path.resolve(process.env.HEARTH_CLI || path.join(h.REPO_ROOT, 'build', 'bin', 'hearth'));
const TOKEN = 'a-token-of-32-characters-exactly';

let fns;
let node;
let tokenFile;
let moduleYaml;

before(async () => {
  fns = await startTestFunctions();
  moduleYaml = h.testModule({ port: fns.port });
  tokenFile = path.join(h.makeTempDir('hearth-token-'), 'token');
  fs.writeFileSync(tokenFile, `${TOKEN}\n`);
  node = await h.startNode({ module: moduleYaml, args: ['--admin-token-file', tokenFile] });
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

function cli(args, env = {}) {
  return new Promise((resolve) => {
    execFile(CLI, ['--node', node.admin, ...args], { timeout: 60000, env: { ...process.env, HEARTH_TOKEN: '', ...env } },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

const bearer = (token) => ({ Authorization: `Bearer ${token}` });

test('every API request without the token, or with another, is refused with 401 and a JSON reason', async () => {
  for (const [method, p] of [['GET', '/status'], ['GET', '/health'], ['GET', '/metrics'], ['GET', '/actors'],
    ['GET', '/dead-letters'], ['POST', '/checkpoints'], ['POST', '/actors/test/counter/x/messages'],
    ['DELETE', '/dead-letters/1-1']]) {
    for (const headers of [{}, bearer('not-the-token-of-this-node-at-all'), { Authorization: TOKEN }]) {
      const res = await h.request(`${node.admin}${p}`, { method, headers, body: method === 'GET' ? undefined : 'x' });
      assert.equal(res.status, 401, `${method} ${p} with ${JSON.stringify(headers)}: ${res.text}`);
      assert.ok(res.json && typeof res.json.error === 'string' && res.json.error.length > 0, res.text);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    }
  }
  assert.equal(fns.records.counter.counts.x, undefined, 'the refused message was not delivered');
});

test('with the token the API answers; the probes and the console need none', async () => {
  const ok = await h.request(`${node.admin}/status`, { headers: bearer(TOKEN) });
  assert.equal(ok.status, 200, ok.text);
  const sent = await h.request(`${node.admin}/actors/test/counter/y/messages?wait=true`, {
    method: 'POST', headers: { ...bearer(TOKEN), 'Content-Type': `application/vnd.${h.STRING_TYPENAME}` },
    body: h.encodeValue('inc', h.STRING_TYPENAME),
  });
  assert.equal(sent.status, 200, sent.text);
  for (const p of ['/livez', '/readyz']) {
    const res = await h.request(`${node.admin}${p}`);
    assert.equal(res.status, 200, `${p}: ${res.text}`);
  }
  const page = await h.request(`${node.admin}/`);
  assert.equal(page.status, 200, 'the console page loads without the token (it asks for it)');
  assert.match(page.text, /<html/i);
});

test('the CLI sends the token from --token-file or $HEARTH_TOKEN', async () => {
  const none = await cli(['status']);
  assert.equal(none.code, 1, none.stderr);
  assert.match(none.stderr, /token/);
  assert.match(none.stderr, /HTTP 401/);
  const fromFile = await cli(['--token-file', tokenFile, 'status']);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.match(fromFile.stdout, /version/);
  const fromEnv = await cli(['status'], { HEARTH_TOKEN: TOKEN });
  assert.equal(fromEnv.code, 0, fromEnv.stderr);
});

test('a node bound beyond loopback refuses to start without a token, and starts with one', async () => {
  const refused = await h.runNode({ module: moduleYaml, args: ['--bind', '0.0.0.0'] });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /--admin-token-file/);
  const exposed = await h.startNode({ module: moduleYaml, args: ['--bind', '0.0.0.0', '--admin-token-file', tokenFile] });
  const res = await h.request(`${exposed.admin}/status`);
  assert.equal(res.status, 401);
  assert.equal(await exposed.stop('SIGTERM'), 0);
  const short = path.join(h.makeTempDir('hearth-token-'), 'short');
  fs.writeFileSync(short, 'short\n');
  const weak = await h.runNode({ module: moduleYaml, args: ['--admin-token-file', short] });
  assert.equal(weak.code, 2);
  assert.match(weak.stderr, /at least 16 characters/);
});
