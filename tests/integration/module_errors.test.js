'use strict';
// A bad module.yaml stops the node with exit code 2 and a message naming the
// file and the line (and, where there is one, the field).

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

after(() => h.cleanup());

const ENDPOINT = [
  'kind: io.statefun.endpoints.v2/http',
  'spec:',
  '  functions: test/*',
  '  urlPathTemplate: http://127.0.0.1:9/{function.name}',
];
const INGRESS = ['kind: io.statefun.playground.v1/ingress', 'spec:', '  port: 0'];

const lines = (...docs) => `${docs.map((d) => d.join('\n')).join('\n---\n')}\n`;

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Runs the node on `yaml` saved as `name`; expects exit code 2 and a
// `<name>:<line>` reference with the line in [firstLine, lastLine].
async function expectRejected(name, yaml, firstLine, lastLine, mentions = []) {
  const r = await h.runNode({ module: yaml, moduleName: name });
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  const m = new RegExp(`${escape(name)}:(\\d+)`).exec(r.stderr);
  assert.ok(m, `stderr names ${name} with a line number: ${r.stderr}`);
  const line = Number(m[1]);
  assert.ok(line >= firstLine && line <= lastLine,
    `line ${line} is within ${firstLine}..${lastLine} of\n${numbered(yaml)}\nstderr: ${r.stderr}`);
  for (const word of mentions) assert.ok(r.stderr.includes(word), `stderr mentions ${word}: ${r.stderr}`);
}

function numbered(text) {
  return text.split('\n').map((l, i) => `${String(i + 1).padStart(3)} ${l}`).join('\n');
}

test('an unknown kind is rejected', { timeout: 60000 }, async () => {
  const yaml = lines(ENDPOINT, INGRESS, ['kind: io.statefun.nonsense.v1/thing', 'spec:', '  foo: bar']);
  // lines 1-4 endpoint, 5 ---, 6-8 ingress, 9 ---, 10-12 the unknown kind
  await expectRejected('unknown-kind.yaml', yaml, 9, 12, ['io.statefun.nonsense.v1/thing']);
});

test('an endpoint without urlPathTemplate is rejected', { timeout: 60000 }, async () => {
  const yaml = lines(INGRESS, ENDPOINT.slice(0, 3));
  // lines 1-3 ingress, 4 ---, 5-7 the endpoint
  await expectRejected('no-url.yaml', yaml, 4, 8, ['urlPathTemplate']);
});

test('a YAML syntax error is rejected', { timeout: 60000 }, async () => {
  const yaml = lines(ENDPOINT, ['kind: io.statefun.playground.v1/ingress', 'spec:', '  port: [0', '  other: {a: b']);
  // lines 1-4 endpoint, 5 ---, 6-9 a document with unclosed brackets
  await expectRejected('syntax.yaml', yaml, 5, 10);
});

test('a bad duration in transport.call is rejected', { timeout: 60000 }, async () => {
  const yaml = lines([...ENDPOINT, '  transport:', '    type: io.statefun.transports.v1/async', '    call: soon'], INGRESS);
  // line 7 is `call: soon`
  await expectRejected('bad-call.yaml', yaml, 5, 7, ['call']);
});

test('the same documents without the mistakes start and stop cleanly', { timeout: 120000 }, async () => {
  const node = await h.startNode({ module: lines(ENDPOINT, INGRESS), moduleName: 'good.yaml' });
  assert.ok(node.ingress, 'the ready line names the ingress');
  assert.equal(node.egress, undefined, 'no egress was declared');
  assert.equal(await node.stop('SIGINT'), 0);
});
