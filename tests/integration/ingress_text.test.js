'use strict';
// Ingress bodies without a `vnd` Content-Type are text, encoded as StateFun
// string values (io.statefun.types/string) that the SDK's asString() reads;
// with an explicit typename the body bytes pass through untouched.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { StateFun } = require('apache-flink-statefun');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

let fns;
let node;

before(async () => {
  fns = await startTestFunctions();
  node = await h.startNode({ module: h.testModule({ port: fns.port }) });
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

const received = (id) => fns.records.inspector.received[id] || [];
const stringBytes = (s) => Buffer.from(StateFun.stringType().serialize(s));

// A PUT (or POST) with exactly the given headers: no Content-Type unless given.
function rawRequest(url, { method = 'PUT', headers = {}, body = Buffer.alloc(0) } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...headers, 'Content-Length': body.length } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch (e) {
          json = undefined;
        }
        resolve({ status: res.statusCode, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Sends `body` to test/inspector:<id> and returns what the function received.
async function deliver(id, body, headers = {}, method = 'PUT') {
  const n = received(id).length;
  const res = await rawRequest(`${node.ingress}/test/inspector/${id}`, { method, headers, body });
  assert.equal(res.status, 200, `ingress answered ${res.status}: ${res.text}`);
  assert.equal(res.json?.status, 'accepted', res.text);
  await h.poll(() => received(id).length > n, 60000, `a delivery to test/inspector:${id}`);
  return received(id)[n];
}

test('a body without Content-Type reaches the function as a string value', { timeout: 60000 }, async () => {
  const got = await deliver('no-type', Buffer.from('hello'));
  assert.equal(got.typename, h.STRING_TYPENAME);
  assert.equal(got.asString, 'hello');
  assert.equal(got.base64, stringBytes('hello').toString('base64'), 'encoded as the SDKs encode strings');
});

test('a text/plain body reaches the function as a string value', { timeout: 60000 }, async () => {
  const got = await deliver('text-plain', Buffer.from('hello'), { 'Content-Type': 'text/plain' });
  assert.equal(got.typename, h.STRING_TYPENAME);
  assert.equal(got.asString, 'hello');

  const text = 'héllo wörld ✓';
  const utf8 = await deliver('text-utf8', Buffer.from(text, 'utf8'), { 'Content-Type': 'text/plain; charset=utf-8' }, 'POST');
  assert.equal(utf8.typename, h.STRING_TYPENAME);
  assert.equal(utf8.asString, text);
});

test('an explicit string typename passes the body bytes through untouched', { timeout: 60000 }, async () => {
  const headers = { 'Content-Type': `application/vnd.${h.STRING_TYPENAME}` };
  const encoded = stringBytes('hello');
  const got = await deliver('vnd-string', encoded, headers);
  assert.equal(got.typename, h.STRING_TYPENAME);
  assert.equal(got.base64, encoded.toString('base64'), 'the bytes were not encoded a second time');
  assert.equal(got.asString, 'hello');

  // Raw bytes under the explicit typename are not wrapped either.
  const raw = await deliver('vnd-string-raw', Buffer.from('hello'), headers);
  assert.equal(raw.typename, h.STRING_TYPENAME);
  assert.equal(raw.base64, Buffer.from('hello').toString('base64'));
});

test('a body with another explicit typename passes through untouched', { timeout: 60000 }, async () => {
  const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x0a, 0x68, 0x69, 0x00]);
  const got = await deliver('blob', bytes, { 'Content-Type': 'application/vnd.test/Blob' });
  assert.equal(got.typename, 'test/Blob');
  assert.equal(got.base64, bytes.toString('base64'));
  assert.equal(got.asString, undefined, 'not a string value');
});

test('?wait=true answers once the invocation is applied, with its effects', { timeout: 60000 }, async () => {
  for (let i = 1; i <= 3; i++) {
    const res = await rawRequest(`${node.ingress}/test/counter/waited?wait=true`, {
      headers: { 'Content-Type': 'text/plain' }, body: Buffer.from('inc'),
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.status, 'accepted');
    assert.equal(res.json.applied.failed, false, res.text);
    assert.deepEqual(res.json.applied.states_changed, ['count'], res.text);
    // Applied means the state was committed before the answer: the node's
    // store (not the function's own memory) already holds the new count.
    assert.equal(await h.storedInt(node.admin, 'test', 'counter', 'waited'), i, 'the stored count when answered');
  }
  const bad = await rawRequest(`${node.ingress}/test/counter/waited?wait=maybe`, { body: Buffer.from('inc') });
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.json.error, /wait must be true or false/);
});
