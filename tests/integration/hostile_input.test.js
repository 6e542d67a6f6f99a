'use strict';
// Hostile input on the ingress, egress and admin servers: half-open and slow
// clients, oversized headers and targets, binary junk, a full connection
// cap. The node answers 4xx or closes, never lets such clients keep a normal
// request waiting, and stays healthy.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const http = require('node:http');
const crypto = require('node:crypto');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

const HALF_OPEN = 300;
const CAP = 10;

let fns;
let node;   // long header deadline: half-open clients stay connected
let slow;   // short header deadline
let capped; // a small connection cap

before(async () => {
  fns = await startTestFunctions({ counterEgressTopic: 'counts' });
  const module = h.testModule({ port: fns.port, call: '60s', connect: '5s', egressTopics: ['counts'] });
  node = await h.startNode({ module, args: ['--set', 'http.header_timeout=120s'] });
  slow = await h.startNode({ module, args: ['--set', 'http.header_timeout=2s'] });
  capped = await h.startNode({ module, args: ['--set', `http.max_connections=${CAP}`] });
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

function hostPort(url) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

// A raw connection that records what the server sends and when it closes.
function connect(url) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(hostPort(url));
    const conn = { sock, data: '', closed: false };
    conn.whenClosed = new Promise((done) => sock.on('close', () => {
      conn.closed = true;
      done();
    }));
    sock.on('data', (d) => { conn.data += d.toString('latin1'); });
    sock.on('error', () => {});
    sock.once('connect', () => resolve(conn));
    sock.once('error', reject);
  });
}

// Sends raw bytes on a new connection and resolves with everything the server
// wrote before it closed the connection.
async function exchange(url, bytes) {
  const conn = await connect(url);
  conn.sock.write(bytes);
  await h.withTimeout(conn.whenClosed, 30000);
  assert.ok(conn.closed, 'the server closed the connection');
  return conn.data;
}

function statusOf(raw) {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
  return m ? Number(m[1]) : null;
}

function jsonBodyOf(raw) {
  const at = raw.indexOf('\r\n\r\n');
  return JSON.parse(raw.slice(at + 4));
}

test(`${HALF_OPEN} half-open connections on each server do not keep normal requests waiting`, { timeout: 180000 }, async () => {
  const held = [];
  for (const url of [node.ingress, node.egress, node.admin]) {
    for (let i = 0; i < HALF_OPEN; i += 1) {
      const conn = await connect(url);
      conn.sock.write('PUT /test/counter/x HTT');
      held.push(conn);
    }
  }
  const started = Date.now();
  await h.sendOk(node.ingress, 'test', 'counter', 'past-the-crowd', 'inc');
  assert.equal((await h.health(node.admin)).status, 200);
  const egress = await h.request(`${node.egress}/counts`);
  assert.ok([200, 404].includes(egress.status), `egress answered ${egress.status}`);
  const took = Date.now() - started;
  // Every half-open client is still connected: the answers did not wait for
  // any of them to be dropped.
  assert.equal(held.filter((c) => c.closed).length, 0, 'no half-open connection was closed');
  await h.poll(() => fns.records.counter.counts['past-the-crowd'] === 1, 60000, 'the message past the crowd');
  for (const c of held) c.sock.destroy();
  console.log(`normal requests answered in ${took} ms with ${3 * HALF_OPEN} half-open connections`);
});

test('a client sending one byte a second is closed after the header deadline', { timeout: 120000 }, async () => {
  const request = 'GET /health HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow\r\n\r\n';
  const conn = await connect(slow.admin);
  let sent = 0;
  while (!conn.closed && sent < request.length) {
    conn.sock.write(request[sent]);
    sent += 1;
    await Promise.race([h.sleep(1000), conn.whenClosed]);
  }
  assert.ok(conn.closed, 'the server closed the slow connection');
  assert.ok(sent < request.length, `closed before the whole request was sent (${sent} of ${request.length} bytes)`);
  assert.equal(conn.data, '', 'nothing was answered to the partial request');
  assert.equal((await h.health(slow.admin)).status, 200);
});

test('an oversized header is refused with 431 and an oversized target with 414', { timeout: 60000 }, async () => {
  const bigHeader = await exchange(node.ingress,
    `PUT /test/counter/h HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\nContent-Length: 3\r\n\r\ninc`);
  assert.equal(statusOf(bigHeader), 431, bigHeader.slice(0, 200));
  assert.match(jsonBodyOf(bigHeader).error, /header exceeds/);

  const bigTarget = await exchange(node.admin, `GET /${'p'.repeat(10000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.equal(statusOf(bigTarget), 414, bigTarget.slice(0, 200));
  assert.match(jsonBodyOf(bigTarget).error, /target exceeds/);
  assert.equal(fns.records.counter.counts.h, undefined, 'the refused message was not delivered');
});

test('binary junk is answered 400 or closed, on every server', { timeout: 60000 }, async () => {
  for (const url of [node.ingress, node.egress, node.admin]) {
    const junk = await exchange(url, crypto.randomBytes(4096));
    assert.ok(junk === '' || statusOf(junk) === 400, `junk answered: ${JSON.stringify(junk.slice(0, 100))}`);
    const line = await exchange(url, 'HELLO THERE\r\n\r\n');
    assert.equal(statusOf(line), 400, line.slice(0, 200));
    assert.match(jsonBodyOf(line).error, /malformed request/);
  }
});

test('pipelined requests are answered in order on one connection', { timeout: 60000 }, async () => {
  const conn = await connect(node.admin);
  conn.sock.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\nGET /no-such-route HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await h.withTimeout(conn.whenClosed, 30000);
  const statuses = [...conn.data.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
  assert.deepEqual(statuses, [200, 404], conn.data);
});

test('Expect: 100-continue gets its interim answer and the message is applied', { timeout: 60000 }, async () => {
  const { host, port } = hostPort(node.ingress);
  const status = await new Promise((resolve, reject) => {
    const req = http.request({
      host, port, method: 'PUT', path: '/test/counter/continued',
      headers: { 'Content-Type': 'text/plain', 'Content-Length': 3, Expect: '100-continue' },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('continue', () => req.end('inc'));
    req.on('error', reject);
  });
  assert.ok(status >= 200 && status < 300, `status ${status}`);
  await h.poll(() => fns.records.counter.counts.continued === 1, 60000, 'the continued message');
});

test('large bodies wait for a handler thread after their headers; small requests never wait behind them', { timeout: 120000 }, async () => {
  // The admin server has 8 handler threads: 8 large uploads may go on, the
  // others wait with their headers read (so bodies in memory stay bounded).
  const THREADS = 8;
  const uploads = [];
  for (let i = 0; i < THREADS + 3; i += 1) {
    const conn = await connect(node.admin);
    conn.sock.write(`PUT /big-${i} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n`);
    uploads.push(conn);
  }
  const continued = () => uploads.filter((c) => c.data.startsWith('HTTP/1.1 100')).length;
  await h.poll(() => continued() === THREADS, 30000, () => `${THREADS} uploads told to continue (got ${continued()})`);
  // A request without a body is answered meanwhile, and after it the other
  // uploads still wait.
  const raw = await exchange(node.admin, 'GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(raw), 200, raw.slice(0, 200));
  assert.equal(continued(), THREADS, 'no more than the handler threads go on');
  // One upload ends: one waiting upload takes its place.
  uploads.find((c) => c.data.startsWith('HTTP/1.1 100')).sock.destroy();
  await h.poll(() => uploads.filter((c) => !c.sock.destroyed && c.data.startsWith('HTTP/1.1 100')).length === THREADS,
    30000, 'a waiting upload to continue');
  for (const c of uploads) c.sock.destroy();
});

test(`beyond http.max_connections=${CAP} a new connection is closed at once, and room comes back`, { timeout: 120000 }, async () => {
  const held = [];
  for (let i = 0; i < CAP; i += 1) {
    const conn = await connect(capped.admin);
    conn.sock.write('GET /livez HTTP/1.1\r\n'); // half a request: the connection stays
    held.push(conn);
  }
  const extra = await connect(capped.admin);
  extra.sock.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
  await h.withTimeout(extra.whenClosed, 30000);
  assert.ok(extra.closed, 'the connection over the cap was closed');
  assert.equal(extra.data, '', 'nothing was answered over the cap');
  assert.equal(held.filter((c) => c.closed).length, 0, 'the connections within the cap stay');

  held.pop().sock.destroy();
  // The server sees the close asynchronously: a request gets through once it has.
  await h.poll(async () => {
    const raw = await exchange(capped.admin, 'GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    return statusOf(raw) === 200;
  }, 30000, 'a request once a connection closed');
  for (const c of held) c.sock.destroy();
});

test('after all that every node is healthy and processes messages', { timeout: 120000 }, async () => {
  for (const n of [node, slow, capped]) {
    const res = await h.poll(async () => {
      const r = await h.health(n.admin);
      return r.status === 200 ? r : null;
    }, 30000, 'a healthy node');
    assert.equal(res.json?.status, 'ok');
  }
  await h.sendOk(node.ingress, 'test', 'counter', 'after-hostile', 'inc');
  await h.poll(() => fns.records.counter.counts['after-hostile'] === 1, 60000, 'a normal message');
});
