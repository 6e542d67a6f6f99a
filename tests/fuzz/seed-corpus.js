'use strict';
// Writes the fuzz targets' seed corpus (tests/fuzz/corpus/<target>/) from real
// traffic: a real hearth-node runs the test functions on the official
// StateFun JS SDK; the ToFunction and FromFunction bytes of their exchanges,
// the ingress requests sent, the node's ingress-log segment, a checkpoint
// (manifest and part file), the modules of the examples and admin API
// requests as the console and the CLI make them become the seeds.
//
//   HEARTH_NODE=build/bin/hearth-node node tests/fuzz/seed-corpus.js

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../integration/harness');
const { startTestFunctions } = require('../functions/servers');

const CORPUS = path.join(__dirname, 'corpus');
const MAX_BYTES = 64 * 1024;
const SEP = '\n--\n';

function seed(target, bytes) {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  if (buf.length > MAX_BYTES) return;
  const dir = path.join(CORPUS, target);
  fs.mkdirSync(dir, { recursive: true });
  const name = crypto.createHash('sha1').update(buf).digest('hex');
  fs.writeFileSync(path.join(dir, name), buf);
}

async function main() {
  const capture = [];
  const fns = await startTestFunctions({ capture, counterEgressTopic: 'counts' });
  const moduleYaml = h.testModule({ port: fns.port, call: '5s', egressTopics: ['counts', 'good'] });
  const node = await h.startNode({ module: moduleYaml, args: ['--set', 'checkpoint.interval=1h'] });
  const sent = [];
  const send = async (type, id, body, typename) => {
    const contentType = typename ? `application/vnd.${typename}` : 'text/plain';
    const encoded = typename ? h.encodeValue(body, typename) : Buffer.from(String(body));
    const p = `/test/${type}/${id}`;
    sent.push(Buffer.concat([Buffer.from(`${p}${SEP}${contentType}${SEP}`), encoded]));
    const res = await h.request(`${node.ingress}${p}?wait=true&timeout_ms=20000`, {
      method: 'PUT', headers: { 'Content-Type': contentType }, body: encoded,
    });
    if (res.status !== 200 && res.status !== 202) throw new Error(`${p}: ${res.status} ${res.text}`);
  };
  const cmd = 'test/Command';
  for (let i = 0; i < 3; i++) await send('counter', 'c1', 'inc');
  await send('counter', 'c1', { op: 'get' }, cmd);
  await send('ttl', 't1', { op: 'write' }, cmd);
  await send('ttl', 't1', { op: 'read' }, cmd);
  await send('delayer', 'd1', { op: 'send', delayMs: 50, token: 'tok', target: 'r1', label: 'later' }, cmd);
  await send('delayer', 'd1', { op: 'cancel', token: 'tok' }, cmd);
  await send('delayer', 'd2', { op: 'send', delayMs: 10, target: 'r2', label: 'soon' }, cmd);
  await send('pinger', 'p1', { target: 'r3' }, cmd);
  for (const op of ['fine', 'unknown-type', 'unknown-egress', 'duplicate-token', 'undeclared-topic']) {
    await send('effects', `e-${op}`, { op, tag: op, token: 'dup', topic: 'nowhere', goodTopic: 'good' }, cmd);
  }
  await send('inspector', 'i1', Buffer.from([0, 1, 2, 255]), 'com.example/Bytes');
  await send('inspector', 'i2', { some: ['json', 1, true] }, 'com.example/Json');
  await send('inspector', 'i3', 'héllo ✓');
  await h.poll(() => (fns.records.recorder.deliveries.r2 || []).length > 0, 20000, 'the delayed message');
  const cp = await h.request(`${node.admin}/checkpoints`, { method: 'POST', body: '' });
  if (cp.status !== 200) throw new Error(`checkpoint: ${cp.text}`);

  for (const { request, response } of capture) {
    seed('to_function', request);
    seed('from_function', response);
  }
  for (const s of sent) seed('ingress_request', s);
  for (const dir of ['examples', 'tests']) {
    for (const f of fs.readdirSync(path.join(h.REPO_ROOT, dir), { recursive: true })) {
      if (String(f).endsWith('module.yaml')) seed('module_yaml', fs.readFileSync(path.join(h.REPO_ROOT, dir, String(f))));
    }
  }
  seed('module_yaml', moduleYaml);
  seed('module_yaml', [
    'kind: io.statefun.endpoints.v1/http', 'spec:', '  functions: com.example/*',
    '  urlPathTemplate: https+unix:///run/fns.sock/{function.name}', '  timeouts:', '    call: 1 min',
    '    read: 10 sec', '---', 'kind: io.statefun.endpoints.v2/http', 'spec:', '  functions: a/b',
    '  urlPathTemplate: http://h:1/b', '  maxNumBatchRequests: -1', '  transport:',
    '    type: io.statefun.transports.v1/okhttp', '    timeouts: {call: 2m, connect: 500ms}',
    '    pool_size: 8', '    payload_max_bytes: 1024', '---', 'kind: io.statefun.playground.v1/egress',
    'spec:', '  port: 0', '  topics: [a, b]', '  deliverySemantic: at-least-once', '',
  ].join('\n'));
  const logDir = path.join(node.dataDir, 'ingress', 'log');
  for (const f of fs.readdirSync(logDir)) seed('ingress_log', fs.readFileSync(path.join(logDir, f)));
  const cpDir = path.join(node.dataDir, 'checkpoints');
  const manifests = fs.readdirSync(cpDir).filter((f) => f.startsWith('manifest-')).sort();
  const manifest = fs.readFileSync(path.join(cpDir, manifests[manifests.length - 1]));
  for (const part of JSON.parse(manifest).chains.flat()) {
    seed('checkpoint_files', Buffer.concat([manifest, Buffer.from(SEP), fs.readFileSync(path.join(cpDir, part))]));
  }
  const methods = { GET: 0, POST: 1, PUT: 2, DELETE: 3 };
  const token = 'a-token-of-32-characters-exactly';
  for (const [method, p, query, body] of [
    ['GET', '/status', '', ''], ['GET', '/health', '', ''], ['GET', '/readyz', '', ''], ['GET', '/metrics', '', ''],
    ['GET', '/functions', '', ''], ['GET', '/actors', 'type=test/counter&prefix=c&offset=0&limit=10', ''],
    ['GET', '/actors/test/counter/c1', '', ''], ['GET', '/dead-letters', '', ''], ['GET', '/dead-letters/3-7', '', ''],
    ['POST', '/dead-letters/3-7/replay', '', ''], ['DELETE', '/dead-letters/3-7', '', ''],
    ['GET', '/checkpoints', '', ''], ['POST', '/checkpoints', '', ''],
    ['POST', '/actors/test/counter/c1/messages', 'wait=true&timeout_ms=50', '{"op":"inc"}'],
  ]) {
    for (const auth of [`Bearer ${token}`, '']) {
      seed('admin_api', Buffer.concat([Buffer.from([methods[method]]), Buffer.from(`${p}${SEP}${query}${SEP}${auth}${SEP}${body}`)]));
    }
  }
  await node.stop('SIGTERM');
  await h.cleanup();
  await fns.close();
  for (const t of fs.readdirSync(CORPUS)) console.log(`${t}: ${fs.readdirSync(path.join(CORPUS, t)).length} seeds`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
