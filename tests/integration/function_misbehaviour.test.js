'use strict';
// A function endpoint that misbehaves: 200 with garbage, a FromFunction cut
// in the middle (in the protobuf, or by the connection closing), a
// FromFunction with neither `invocation_result` nor
// `incomplete_invocation_context`, redirects, 4xx, answers over the
// endpoint's payload_max_bytes, and no answer at all. As with StateFun's async transport, every
// failure is retried within the call budget; once it is spent the batch is a
// dead letter whose reason names what went wrong, nothing of it is applied,
// the node stays healthy, and once the endpoint answers correctly again
// (the official SDK behind the same server) later messages are applied
// exactly once, on top of the state stored before.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { Readable } = require('node:stream');
const h = require('./harness');
const { createTestStateFun, readBody } = require('../functions/servers');
require('apache-flink-statefun/dist/generated/request-reply_pb');

const reqreply = globalThis.proto.io.statefun.sdk.reqreply;

const CALL_BUDGET_MS = 3000;
const PAYLOAD_MAX_BYTES = 65536;

let fns;
let node;

// -- the endpoint --------------------------------------------------------------

function targetOf(body) {
  try {
    const t = reqreply.ToFunction.deserializeBinary(body).getInvocation().getTarget();
    return { fn: `${t.getNamespace()}/${t.getType()}`, id: t.getId() };
  } catch (e) {
    return { fn: null, id: null };
  }
}

// The official SDK's answer to `body`, as bytes (the SDK runs the function).
function sdkAnswer(statefun, body) {
  return new Promise((resolve, reject) => {
    const res = {
      status: 0,
      writeHead(status) {
        this.status = status;
      },
      end(chunk) {
        if (this.status !== 200) reject(new Error(`the SDK answered ${this.status}`));
        else resolve(Buffer.from(chunk || []));
      },
    };
    statefun.handle(Readable.from([body]), res).catch(reject);
  });
}

// Protobuf varint.
function varint(n) {
  const out = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

// An unknown length-delimited field (number 15) of `size` bytes in all: a
// FromFunction with it appended still parses, with the same content.
function unknownField(size) {
  for (let data = size - 2; data >= 0; data -= 1) {
    const field = Buffer.concat([Buffer.from([(15 << 3) | 2]), varint(data)]);
    if (field.length + data === size) return Buffer.concat([field, Buffer.alloc(data, 0x61)]);
  }
  throw new Error(`no unknown field of ${size} bytes`);
}

// A well-formed FromFunction that would set test/counter's `count` to 1000.
function wrongButValidAnswer() {
  const tv = new reqreply.TypedValue();
  tv.setTypename('io.statefun.types/int');
  tv.setHasValue(true);
  tv.setValue(Buffer.from([0x0d, 0xe8, 0x03, 0x00, 0x00]));
  const m = new reqreply.FromFunction.PersistedValueMutation();
  m.setMutationType(reqreply.FromFunction.PersistedValueMutation.MutationType.MODIFY);
  m.setStateName('count');
  m.setStateValue(tv);
  const r = new reqreply.FromFunction.InvocationResponse();
  r.addStateMutations(m);
  const from = new reqreply.FromFunction();
  from.setInvocationResult(r);
  return Buffer.from(from.serializeBinary());
}

const octets = { 'Content-Type': 'application/octet-stream' };

// Serves test/* with the official SDK, except for the ids given a
// misbehaviour: misbehave(id, fn) makes every call for test/counter:<id> go
// to fn({req, res, body, attempt, good}) (good() is the SDK's answer), until
// behave(id). Counts the calls per id and the requests per path.
async function startEndpoint() {
  const { statefun, records } = createTestStateFun();
  const misbehaving = new Map();
  const calls = {};
  const paths = {};
  const server = http.createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      paths[req.url] = (paths[req.url] || 0) + 1;
      const { id } = targetOf(body);
      calls[id] = (calls[id] || 0) + 1;
      const how = misbehaving.get(id);
      if (!how) {
        await statefun.handle(Readable.from([body]), res);
        return;
      }
      how.attempts += 1;
      await how.fn({ req, res, body, attempt: how.attempts, good: () => sdkAnswer(statefun, body) });
    } catch (e) {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  server.keepAliveTimeout = 30000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    records,
    calls,
    paths,
    misbehave(id, fn) {
      misbehaving.set(id, { fn, attempts: 0 });
    },
    behave(id) {
      misbehaving.delete(id);
    },
    attempts(id) {
      const m = misbehaving.get(id);
      return m ? m.attempts : 0;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

// -- the node ------------------------------------------------------------------

before(async () => {
  fns = await startEndpoint();
  const module = [
    [
      'kind: io.statefun.endpoints.v2/http',
      'spec:',
      '  functions: test/*',
      `  urlPathTemplate: http://127.0.0.1:${fns.port}/{function.name}`,
      '  transport:',
      '    type: io.statefun.transports.v1/async',
      `    call: ${CALL_BUDGET_MS}ms`,
      '    connect: 1s',
      `    payload_max_bytes: ${PAYLOAD_MAX_BYTES}`,
    ].join('\n'),
    ['kind: io.statefun.playground.v1/ingress', 'spec:', '  port: 0'].join('\n'),
  ].join('\n---\n');
  node = await h.startNode({ module: `${module}\n` });
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

// -- helpers -------------------------------------------------------------------

const isFor = (id) => (d) => d.address && d.address.namespace === 'test' && d.address.type === 'counter'
  && d.address.id === id;

async function deadLettersFor(id) {
  return (await h.deadLetters(node.admin)).filter(isFor(id));
}

// PUTs "inc" to test/counter:<id> and waits until it is applied or given up:
// the ingress answer with `applied`.
async function sendAndWait(id) {
  const res = await h.request(`${node.ingress}/test/counter/${encodeURIComponent(id)}?wait=true&timeout_ms=120000`, {
    method: 'PUT',
    headers: { 'Content-Type': `application/vnd.${h.STRING_TYPENAME}` },
    body: h.encodeValue('inc', h.STRING_TYPENAME),
  });
  assert.equal(res.status, 200, `ingress answer for test/counter:${id}: ${res.status} ${res.text}`);
  assert.equal(res.json?.status, 'accepted', res.text);
  assert.equal(typeof res.json.applied, 'object', `the answer says how the message ended: ${res.text}`);
  return res.json.applied;
}

async function assertHealthy() {
  assert.equal(node.proc.exitCode, null, 'the node is running');
  assert.equal(node.proc.signalCode, null, 'the node is running');
  const res = await h.health(node.admin);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json?.status, 'ok', res.text);
}

// Two increments applied before the endpoint misbehaves.
async function warmUp(id) {
  for (let i = 0; i < 2; i += 1) {
    const applied = await sendAndWait(id);
    assert.equal(applied.failed, false, JSON.stringify(applied));
  }
  await h.assertStoredCounts(node.admin, 'test', 'counter', { [id]: 2 });
}

// While test/counter:<id> misbehaves with `fn`, one message: it is retried
// within the call budget, then dead-lettered with a reason matching
// `reason`; nothing of it is applied; the node stays healthy. Then the
// endpoint answers correctly again and three more messages are applied
// exactly once on top of the stored state. Returns the dead letter.
async function misbehaviourBecomesDeadLetter(t, id, fn, reason, { retried = true } = {}) {
  await warmUp(id);
  fns.misbehave(id, fn);
  const applied = await sendAndWait(id);
  const attempts = fns.attempts(id);

  assert.equal(applied.failed, true, `the sender learns the message failed: ${JSON.stringify(applied)}`);
  const letters = await h.poll(async () => {
    const list = await deadLettersFor(id);
    return list.length > 0 ? list : null;
  }, 60000, `a dead letter for test/counter:${id}`);
  assert.equal(letters.length, 1, `one dead letter: ${JSON.stringify(letters)}`);
  const [dead] = letters;
  t.diagnostic(`after ${attempts} attempt(s): ${dead.reason}`);
  assert.deepEqual(dead.address, { namespace: 'test', type: 'counter', id });
  assert.equal(typeof dead.reason, 'string');
  assert.match(dead.reason, reason, `the reason names what went wrong: ${dead.reason}`);
  assert.equal(applied.failure, dead.reason, 'the sender is told the same reason');
  assert.equal(dead.messages.length, 1, JSON.stringify(dead.messages));
  assert.equal(dead.messages[0].typename, h.STRING_TYPENAME);
  assert.deepEqual(Buffer.from(dead.messages[0].value_base64, 'base64'), h.encodeValue('inc', h.STRING_TYPENAME));
  assert.equal(dead.messages[0].caller, null);
  if (retried) {
    assert.ok(attempts > 1, `the call was retried within the call budget (${attempts} attempt(s))`);
    assert.match(dead.reason, /call budget/, `the reason says the budget was spent: ${dead.reason}`);
  }
  assert.equal(await h.storedInt(node.admin, 'test', 'counter', id), 2, 'nothing of the failed batch was applied');
  await assertHealthy();

  fns.behave(id);
  for (let i = 0; i < 3; i += 1) {
    const later = await sendAndWait(id);
    assert.equal(later.failed, false, JSON.stringify(later));
    assert.deepEqual(later.states_changed, ['count']);
  }
  await h.assertStoredCounts(node.admin, 'test', 'counter', { [id]: 5 });
  assert.equal(fns.records.counter.counts[id], 5, 'the function saw the stored state and counted on from it');
  assert.equal((await deadLettersFor(id)).length, 1, 'no further dead letter, the old one stays');
  await assertHealthy();
  return dead;
}

// -- tests ---------------------------------------------------------------------

test('(a) garbage with 200: retried, then a dead letter naming the malformed response', { timeout: 120000 }, async (t) => {
  const page = Buffer.from('<html><body><h1>502 Bad Gateway</h1></body></html>\n');
  await misbehaviourBecomesDeadLetter(t, 'garbage', ({ res }) => {
    res.writeHead(200, { ...octets, 'Content-Length': page.length });
    res.end(page);
  }, /malformed|FromFunction/i);
});

test('(b) a FromFunction cut in the middle of the protobuf: retried, then a dead letter naming the malformed response', { timeout: 120000 }, async (t) => {
  const whole = wrongButValidAnswer();
  assert.equal(reqreply.FromFunction.deserializeBinary(whole).hasInvocationResult(), true, 'the uncut answer is valid');
  const cut = whole.subarray(0, Math.floor(whole.length / 2));
  await misbehaviourBecomesDeadLetter(t, 'truncated', ({ res }) => {
    res.writeHead(200, { ...octets, 'Content-Length': cut.length });
    res.end(cut);
  }, /malformed|FromFunction/i);
});

test('(b) a FromFunction cut by the connection closing mid-body: retried, then a dead letter naming the transfer error', { timeout: 120000 }, async (t) => {
  const whole = wrongButValidAnswer();
  await misbehaviourBecomesDeadLetter(t, 'cut-off', ({ res }) => {
    // The headers promise the whole answer; half of it comes, then the
    // connection closes.
    res.writeHead(200, { ...octets, 'Content-Length': whole.length });
    res.write(whole.subarray(0, Math.floor(whole.length / 2)), () => res.destroy());
  }, /partial|closed|remaining|recv|transfer/i);
});

test('(c) an empty 200 body (a FromFunction with neither field set encodes to nothing): retried, then a dead letter naming the empty body', { timeout: 120000 }, async (t) => {
  assert.equal(new reqreply.FromFunction().serializeBinary().length, 0);
  await misbehaviourBecomesDeadLetter(t, 'empty-body', ({ res }) => {
    res.writeHead(200, { ...octets, 'Content-Length': 0 });
    res.end();
  }, /empty body/i);
});

test('(c) a non-empty FromFunction with neither field set is an answer without effects, as in StateFun', { timeout: 120000 }, async () => {
  // StateFun (RequestReplyFunction.unpackResponse) takes a FromFunction with
  // neither `invocation_result` nor `incomplete_invocation_context` as an
  // empty InvocationResponse: the message is done, nothing changes. A body of
  // one unknown field parses as exactly that.
  const id = 'no-oneof';
  const body = Buffer.from([0x08, 0x01]);
  const decoded = reqreply.FromFunction.deserializeBinary(body);
  assert.equal(decoded.hasInvocationResult() || decoded.hasIncompleteInvocationContext(), false);

  await warmUp(id);
  fns.misbehave(id, ({ res }) => {
    res.writeHead(200, { ...octets, 'Content-Length': body.length });
    res.end(body);
  });
  const applied = await sendAndWait(id);
  assert.equal(fns.attempts(id), 1, 'a well-formed answer is not retried');
  assert.equal(applied.failed, false, JSON.stringify(applied));
  assert.equal(applied.invocations, 1, JSON.stringify(applied));
  assert.deepEqual(applied.states_changed, [], 'nothing changed');
  assert.equal(applied.messages_sent, 0);
  assert.equal(await h.storedInt(node.admin, 'test', 'counter', id), 2);
  assert.deepEqual(await deadLettersFor(id), [], 'no dead letter');
  await assertHealthy();

  fns.behave(id);
  for (let i = 0; i < 3; i += 1) assert.equal((await sendAndWait(id)).failed, false);
  await h.assertStoredCounts(node.admin, 'test', 'counter', { [id]: 5 });
  assert.equal(fns.records.counter.counts[id], 5);
});

for (const status of [302, 307]) {
  test(`(d) a ${status} redirect: not followed, retried, then a dead letter naming HTTP ${status}`, { timeout: 120000 }, async (t) => {
    const elsewhere = `/moved-${status}/counter`;
    await misbehaviourBecomesDeadLetter(t, `redirect-${status}`, ({ res }) => {
      res.writeHead(status, { Location: `http://127.0.0.1:${fns.port}${elsewhere}`, 'Content-Length': 0 });
      res.end();
    }, new RegExp(`HTTP ${status}`));
    // The async transport (Netty) takes a redirect as a failed call; the
    // batch is not re-posted to another URL.
    assert.equal(fns.paths[elsewhere], undefined, `the redirect target was called: ${JSON.stringify(fns.paths)}`);
  });
}

for (const status of [400, 404]) {
  test(`(e) a ${status}: retried like every status of the async transport, then a dead letter naming HTTP ${status}`, { timeout: 120000 }, async (t) => {
    await misbehaviourBecomesDeadLetter(t, `client-error-${status}`, ({ res }) => {
      const text = Buffer.from(`error ${status}\n`);
      res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': text.length });
      res.end(text);
    }, new RegExp(`HTTP ${status}`));
  });
}

test('(f) an answer over payload_max_bytes: a dead letter naming payload_max_bytes, nothing of it applied', { timeout: 120000 }, async (t) => {
  // A correct answer padded with an unknown field: well-formed, only too large.
  await misbehaviourBecomesDeadLetter(t, 'too-large', async ({ res, good }) => {
    const body = Buffer.concat([await good(), unknownField(2 * PAYLOAD_MAX_BYTES)]);
    res.writeHead(200, { ...octets, 'Content-Length': body.length });
    res.end(body);
  }, /payload_max_bytes/, { retried: false });
});

test('(f) an answer of exactly payload_max_bytes is taken', { timeout: 120000 }, async () => {
  const id = 'at-limit';
  await warmUp(id);
  const sizes = [];
  fns.misbehave(id, async ({ res, good }) => {
    const answer = await good();
    const body = Buffer.concat([answer, unknownField(PAYLOAD_MAX_BYTES - answer.length)]);
    sizes.push(body.length);
    res.writeHead(200, { ...octets, 'Content-Length': body.length });
    res.end(body);
  });
  const applied = await sendAndWait(id);
  assert.equal(applied.failed, false, JSON.stringify(applied));
  assert.deepEqual(sizes, [PAYLOAD_MAX_BYTES], 'one call, answered with exactly payload_max_bytes');
  fns.behave(id);
  await h.assertStoredCounts(node.admin, 'test', 'counter', { [id]: 3 });
  assert.deepEqual(await deadLettersFor(id), []);
});

test('(f) an answer over payload_max_bytes is retried within the call budget like every other failure', { timeout: 120000 }, async () => {
  // StateFun's async transport retries every failure within the budget,
  // an oversized answer (HttpObjectAggregator's TooLongFrameException) too.
  // The first call is answered too large, the retry correctly: the message
  // is applied once and nothing is dead-lettered.
  const id = 'too-large-once';
  await warmUp(id);
  fns.misbehave(id, async ({ res, attempt, good }) => {
    let body = await good();
    if (attempt === 1) body = Buffer.concat([body, unknownField(2 * PAYLOAD_MAX_BYTES)]);
    res.writeHead(200, { ...octets, 'Content-Length': body.length });
    res.end(body);
  });
  const applied = await sendAndWait(id);
  const attempts = fns.attempts(id);
  const letters = await deadLettersFor(id);
  fns.behave(id);
  assert.deepEqual(letters.map((d) => d.reason), [], 'no dead letter');
  assert.equal(applied.failed, false, `applied after a retry: ${JSON.stringify(applied)}`);
  assert.equal(attempts, 2, 'one oversized answer, one retry');
  await h.assertStoredCounts(node.admin, 'test', 'counter', { [id]: 3 });
});

test('no answer at all: the one attempt takes the whole budget, then a dead letter naming the timeout', { timeout: 120000 }, async (t) => {
  const hanging = [];
  try {
    await misbehaviourBecomesDeadLetter(t, 'no-answer', ({ res }) => {
      hanging.push(res); // never answered
    }, /time(d)? ?out/i, { retried: false });
  } finally {
    for (const res of hanging) res.destroy();
  }
});

test('after all that the node is healthy and every other address flows', { timeout: 120000 }, async () => {
  await assertHealthy();
  for (let i = 0; i < 5; i += 1) assert.equal((await sendAndWait('after-all')).failed, false);
  await h.assertStoredCounts(node.admin, 'test', 'counter', { 'after-all': 5 });
  const letters = await h.deadLetters(node.admin);
  assert.ok(letters.every((d) => typeof d.reason === 'string' && d.reason.trim().length > 0),
    `every dead letter has a reason: ${JSON.stringify(letters)}`);
});
