'use strict';
// Function endpoints over TLS, mutual TLS and UNIX domain sockets, with the
// official StateFun JS SDK behind Node's https and http servers. A CA, a
// server and a client certificate (its key encrypted, PKCS#8, the password
// in a file) are made by openssl at test time. With the right CA and the
// client certificate the calls succeed; with another CA, or without the
// client certificate the server requires, the calls fail and the batch
// becomes a dead letter whose reason names the TLS error.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('./harness');
const { makeCerts } = require('./certs');
const { startTestFunctions, serveStateFun } = require('../functions/servers');

let dir;
let fns; // https with mutual TLS, on a TCP port
const extra = [];
let node;
let file; // path of a certificate file

function endpoint(fn, url, transport = []) {
  return [
    'kind: io.statefun.endpoints.v2/http',
    'spec:',
    `  functions: test/${fn}`,
    `  urlPathTemplate: ${url}`,
    '  transport:',
    '    type: io.statefun.transports.v1/async',
    '    call: 3s',
    '    connect: 1s',
    ...transport.map((line) => `    ${line}`),
  ].join('\n');
}

before(async () => {
  dir = h.makeTempDir('hearth-tls-');
  file = makeCerts(dir);
  const tls = {
    key: fs.readFileSync(file('server.key')),
    cert: fs.readFileSync(file('server.crt')),
    ca: fs.readFileSync(file('ca.crt')),
    requestCert: true,
    rejectUnauthorized: true,
  };
  fns = await startTestFunctions({ tls });
  // The same functions on UNIX sockets: plain HTTP, and HTTPS with mutual TLS.
  extra.push(await serveStateFun(fns.statefun, { socketPath: file('plain.sock') }));
  extra.push(await serveStateFun(fns.statefun, { socketPath: file('tls.sock'), tls }));
  const https = `https://127.0.0.1:${fns.port}/{function.name}`;
  const mutual = [`trust_cacerts: ${file('ca.crt')}`, `client_cert: ${file('client.crt')}`,
    `client_key: file://${file('client.key')}`, `client_key_password: ${file('key-password')}`];
  const module = [
    endpoint('counter', https, mutual),
    endpoint('ttl', https, [`trust_cacerts: ${file('other-ca.crt')}`, `client_cert: ${file('client.crt')}`,
      `client_key: ${file('client.key')}`, `client_key_password: ${file('key-password')}`]),
    endpoint('flaky', https, [`trust_cacerts: ${file('ca.crt')}`]),
    endpoint('recorder', `http+unix://${file('plain.sock')}/{function.name}`),
    endpoint('gate', `https+unix://${file('tls.sock')}/{function.name}`, mutual),
    ['kind: io.statefun.playground.v1/ingress', 'spec:', '  port: 0'].join('\n'),
  ].join('\n---\n');
  node = await h.startNode({ module: `${module}\n` });
});

after(async () => {
  await h.cleanup();
  for (const s of extra) await s.close();
  if (fns) await fns.close();
});

async function sendAndWait(type, id, body) {
  const res = await h.request(`${node.ingress}/test/${type}/${id}?wait=true&timeout_ms=30000`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/vnd.test/Command' },
    body: JSON.stringify(body),
  });
  return res;
}

test('calls succeed over mutual TLS with the right CA and an encrypted client key', async () => {
  for (let i = 0; i < 3; i++) {
    const res = await sendAndWait('counter', 'm1', { op: 'inc' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.applied.failed, false, res.text);
  }
  assert.equal(await h.storedInt(node.admin, 'test', 'counter', 'm1'), 3);
  assert.equal(fns.records.counter.counts.m1, 3);
});

test('calls succeed over a UNIX socket, plain (http+unix) and with mutual TLS (https+unix)', async () => {
  const plain = await sendAndWait('recorder', 'u1', { op: 'hello' });
  assert.equal(plain.status, 200, plain.text);
  assert.equal(plain.json.applied.failed, false, plain.text);
  assert.equal(fns.records.recorder.deliveries.u1.length, 1);
  const secure = await sendAndWait('gate', 'u2', { label: 'over tls.sock' });
  assert.equal(secure.status, 200, secure.text);
  assert.equal(secure.json.applied.failed, false, secure.text);
  assert.equal(await h.storedInt(node.admin, 'test', 'gate', 'u2'), 1);
});

test('another CA, or no client certificate, fails the calls and dead-letters the batch with the TLS error', async () => {
  const wrongCa = await sendAndWait('ttl', 'w1', { op: 'write' });
  assert.equal(wrongCa.status, 200, wrongCa.text);
  assert.equal(wrongCa.json.applied.failed, true, wrongCa.text);
  const noCert = await sendAndWait('flaky', 'n1', { label: 'x' });
  assert.equal(noCert.status, 200, noCert.text);
  assert.equal(noCert.json.applied.failed, true, noCert.text);
  const letters = await h.deadLetters(node.admin);
  const reasonOf = (type) => {
    const d = letters.find((l) => l.address.type === type);
    assert.ok(d, `a dead letter for test/${type}: ${JSON.stringify(letters)}`);
    return d.reason;
  };
  assert.match(reasonOf('ttl'), /SSL certificate problem/, 'the reason names the certificate error');
  assert.match(reasonOf('flaky'), /SSL|TLS|certificate/i, 'the reason names the TLS error');
  assert.equal(fns.records.ttl.calls.w1, undefined, 'the function never ran for the refused calls');
  assert.equal(fns.records.flaky.processed.n1, undefined);
});
