'use strict';
// Remote functions used by the integration tests, written against the
// official StateFun JavaScript SDK (apache-flink-statefun, unmodified).
//
// Each server runs inside the test process on 127.0.0.1. The SDK handler sits
// behind a thin HTTP wrapper that
//   - counts requests per function type and per address, and the requests in
//     flight per address (decoded from the ToFunction body),
//   - logs every request: target, number of invocations, attached state and
//     the kind of answer (invocation result / incomplete context / error),
//   - serves `GET /stats` itself (the runtime only ever POSTs),
//   - can be taken down (listening socket closed, or every call answered 503)
//     and brought back up on the same port.
//
// Functions (namespace `test`); commands are JSON values of type `test/Command`:
//   test/counter  state `count` (int). Increments on every message except
//                 {op:"get"}, which only reads. Tracks concurrent executions
//                 per id. Optional egress of {id,count} to a playground topic.
//   test/ttl      states `seen` (int, expireAfterWrite) and `touched` (int,
//                 expireAfterCall). {op:"write"} increments both, anything
//                 else only reads; every call records what it saw.
//   test/delayer  {op:"send", delayMs, token?, target, label} sends `label`
//                 (string) to test/recorder:<target> after delayMs;
//                 {op:"cancel", token} cancels a pending delayed message.
//   test/recorder state `count` (int). Records every delivery with its caller.
//   test/flaky    state `count` (int). Throws while `flaky.failing` is true
//                 (the SDK answers 500), otherwise counts {label}s.
//   test/pinger   {target} sends "ping" to test/recorder:<target>.
//   test/gate     state `count` (int). Like test/counter ({label} increments,
//                 {op:"get"} only reads), but while the test holds the gate
//                 of an id (gates.close(id)) its invocations wait until
//                 gates.open(id). Records arrivals, the invocations waiting
//                 at the gate, the labels applied and the executions in
//                 flight per id.
//   test/effects  state `count` (int). {op, tag, ...} increments the count,
//                 then produces one bad effect chosen by `op` followed by
//                 good ones: "unknown-type" sends to nowhere/thing,
//                 "unknown-egress" emits to egress no.such/egress,
//                 "duplicate-token" calls sendAfter twice with `token`
//                 (values "first" and "second", to test/recorder:<tag>-delayed),
//                 "undeclared-topic" emits a playground record for `topic`;
//                 anything else ("fine") nothing bad. Then it always sends
//                 "<op>:ok" to test/recorder:<tag>, and with `goodTopic` emits
//                 {id,op,count} to that playground topic.
//   test/inspector records every message as received: typename, raw bytes
//                 (base64) and, for string values, what asString() reads.
//   test/slow     state `count` (int). Takes records.slow.delayMs (20 ms) per
//                 call, then counts every message: a slow but healthy function.

const http = require('node:http');
const https = require('node:https');
const { Readable } = require('node:stream');
const { StateFun, messageBuilder, egressMessageBuilder } = require('apache-flink-statefun');
require('apache-flink-statefun/dist/generated/request-reply_pb');

const reqreply = globalThis.proto.io.statefun.sdk.reqreply;

const COMMAND = StateFun.jsonType('test/Command');
const EGRESS_RECORD = StateFun.jsonType('io.statefun.playground/EgressRecord');
const PLAYGROUND_EGRESS = 'io.statefun.playground/egress';
const LOG_LIMIT = 20000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Reads a message as a command: JSON `test/Command`, or a string taken as
// {op: <string>}; anything else is an empty command.
function commandOf(message) {
  if (message.is(COMMAND)) return message.as(COMMAND) || {};
  if (message.isString()) return { op: message.asString() };
  return {};
}

function describeAddress(address) {
  if (!address) return null;
  return { namespace: address.namespace, type: address.name, id: address.id };
}

function listFor(map, key) {
  if (!map[key]) map[key] = [];
  return map[key];
}

// Builds a StateFun instance with every test function bound to fresh records
// (and fresh gates for test/gate).
//
// opts.counterEgressTopic  playground egress topic for test/counter, or none
// opts.ttlWriteMs          expireAfterWrite of test/ttl `seen` (default 2000)
// opts.ttlCallMs           expireAfterCall of test/ttl `touched` (default 2000)
function createTestStateFun(opts = {}) {
  const records = {
    counter: { counts: {}, reads: {}, invocations: {}, inflight: {}, maxInflight: {}, callers: {} },
    ttl: { calls: {} },
    delayer: { issued: {} },
    recorder: { deliveries: {} },
    flaky: { failing: false, attempts: {}, processed: {} },
    pinger: { sent: {} },
    gate: { arrivals: {}, blocked: {}, counts: {}, reads: {}, applied: {}, inflight: {}, maxInflight: {} },
    effects: { calls: {} },
    inspector: { received: {} },
    slow: { delayMs: 20, counts: {}, calls: 0 },
  };
  const gates = createGates();
  const statefun = new StateFun();

  statefun.bind({
    typename: 'test/counter',
    specs: [{ name: 'count', type: StateFun.intType() }],
    async fn(context, message) {
      const id = context.self.id;
      const c = records.counter;
      c.inflight[id] = (c.inflight[id] || 0) + 1;
      c.maxInflight[id] = Math.max(c.maxInflight[id] || 0, c.inflight[id]);
      try {
        await sleep(Math.floor(Math.random() * 4));
        c.invocations[id] = (c.invocations[id] || 0) + 1;
        listFor(c.callers, id).push(describeAddress(context.caller));
        const current = context.storage.count || 0;
        if (commandOf(message).op === 'get') {
          listFor(c.reads, id).push(current);
          return;
        }
        const next = current + 1;
        context.storage.count = next;
        c.counts[id] = next;
        if (opts.counterEgressTopic) {
          context.send(egressMessageBuilder({
            typename: PLAYGROUND_EGRESS,
            value: { topic: opts.counterEgressTopic, payload: JSON.stringify({ id, count: next }) },
            valueType: EGRESS_RECORD,
          }));
        }
      } finally {
        c.inflight[id] -= 1;
      }
    },
  });

  statefun.bind({
    typename: 'test/ttl',
    specs: [
      { name: 'seen', type: StateFun.intType(), expireAfterWrite: opts.ttlWriteMs ?? 2000 },
      { name: 'touched', type: StateFun.intType(), expireAfterCall: opts.ttlCallMs ?? 2000 },
    ],
    fn(context, message) {
      const cmd = commandOf(message);
      const seen = context.storage.seen;
      const touched = context.storage.touched;
      listFor(records.ttl.calls, context.self.id).push({ at: Date.now(), op: cmd.op, seen, touched });
      if (cmd.op === 'write') {
        context.storage.seen = (seen || 0) + 1;
        context.storage.touched = (touched || 0) + 1;
      }
    },
  });

  statefun.bind({
    typename: 'test/delayer',
    fn(context, message) {
      const cmd = commandOf(message);
      listFor(records.delayer.issued, context.self.id).push({ at: Date.now(), ...cmd });
      if (cmd.op === 'send') {
        const out = messageBuilder({ typename: 'test/recorder', id: cmd.target, value: String(cmd.label) });
        if (cmd.token) context.sendAfter(cmd.delayMs, out, cmd.token);
        else context.sendAfter(cmd.delayMs, out);
      } else if (cmd.op === 'cancel') {
        context.cancelDelayedMessage(cmd.token);
      } else {
        throw new Error(`test/delayer: unknown op ${cmd.op}`);
      }
    },
  });

  statefun.bind({
    typename: 'test/recorder',
    specs: [{ name: 'count', type: StateFun.intType() }],
    fn(context, message) {
      const count = (context.storage.count || 0) + 1;
      context.storage.count = count;
      listFor(records.recorder.deliveries, context.self.id).push({
        at: Date.now(),
        caller: describeAddress(context.caller),
        value: message.isString() ? message.asString() : message.valueTypeName,
        count,
      });
    },
  });

  statefun.bind({
    typename: 'test/flaky',
    specs: [{ name: 'count', type: StateFun.intType() }],
    fn(context, message) {
      const id = context.self.id;
      records.flaky.attempts[id] = (records.flaky.attempts[id] || 0) + 1;
      if (records.flaky.failing) {
        throw new Error(`test/flaky:${id} is failing on purpose`);
      }
      const count = (context.storage.count || 0) + 1;
      context.storage.count = count;
      listFor(records.flaky.processed, id).push({ label: commandOf(message).label, count });
    },
  });

  statefun.bind({
    typename: 'test/slow',
    specs: [{ name: 'count', type: StateFun.intType() }],
    async fn(context) {
      await sleep(records.slow.delayMs);
      const count = (context.storage.count || 0) + 1;
      context.storage.count = count;
      records.slow.counts[context.self.id] = count;
      records.slow.calls += 1;
    },
  });

  statefun.bind({
    typename: 'test/pinger',
    fn(context, message) {
      const { target } = commandOf(message);
      listFor(records.pinger.sent, context.self.id).push(target);
      context.send(messageBuilder({ typename: 'test/recorder', id: String(target), value: 'ping' }));
    },
  });

  statefun.bind({
    typename: 'test/gate',
    specs: [{ name: 'count', type: StateFun.intType() }],
    async fn(context, message) {
      const id = context.self.id;
      const g = records.gate;
      g.inflight[id] = (g.inflight[id] || 0) + 1;
      g.maxInflight[id] = Math.max(g.maxInflight[id] || 0, g.inflight[id]);
      try {
        g.arrivals[id] = (g.arrivals[id] || 0) + 1;
        const held = gates.held(id);
        if (held) {
          g.blocked[id] = (g.blocked[id] || 0) + 1;
          try {
            await held;
          } finally {
            g.blocked[id] -= 1;
          }
        }
        const cmd = commandOf(message);
        const current = context.storage.count || 0;
        if (cmd.op === 'get') {
          listFor(g.reads, id).push(current);
          return;
        }
        const next = current + 1;
        context.storage.count = next;
        g.counts[id] = next;
        listFor(g.applied, id).push(cmd.label === undefined ? null : cmd.label);
      } finally {
        g.inflight[id] -= 1;
      }
    },
  });

  statefun.bind({
    typename: 'test/effects',
    specs: [{ name: 'count', type: StateFun.intType() }],
    fn(context, message) {
      const id = context.self.id;
      const cmd = commandOf(message);
      const op = String(cmd.op || 'fine');
      const tag = String(cmd.tag || id);
      const count = (context.storage.count || 0) + 1;
      context.storage.count = count;
      listFor(records.effects.calls, id).push({ at: Date.now(), op, tag, count });

      if (op === 'unknown-type') {
        context.send(messageBuilder({ typename: 'nowhere/thing', id: tag, value: `${op}:lost` }));
      } else if (op === 'unknown-egress') {
        context.send(egressMessageBuilder({ typename: 'no.such/egress', value: `${op}:lost`, valueType: StateFun.stringType() }));
      } else if (op === 'duplicate-token') {
        const delayMs = cmd.delayMs ?? 300;
        const target = `${tag}-delayed`;
        context.sendAfter(delayMs, messageBuilder({ typename: 'test/recorder', id: target, value: 'first' }), cmd.token);
        context.sendAfter(delayMs, messageBuilder({ typename: 'test/recorder', id: target, value: 'second' }), cmd.token);
      } else if (op === 'undeclared-topic') {
        context.send(egressMessageBuilder({
          typename: PLAYGROUND_EGRESS,
          value: { topic: String(cmd.topic), payload: `${op}:lost` },
          valueType: EGRESS_RECORD,
        }));
      }

      context.send(messageBuilder({ typename: 'test/recorder', id: tag, value: `${op}:ok` }));
      if (cmd.goodTopic) {
        context.send(egressMessageBuilder({
          typename: PLAYGROUND_EGRESS,
          value: { topic: String(cmd.goodTopic), payload: JSON.stringify({ id, op, count }) },
          valueType: EGRESS_RECORD,
        }));
      }
    },
  });

  statefun.bind({
    typename: 'test/inspector',
    fn(context, message) {
      let asString;
      if (message.isString()) {
        try {
          asString = message.asString();
        } catch (e) {
          asString = { error: String(e && e.message) };
        }
      }
      let raw = null;
      try {
        raw = message.rawValueBytes.toString('base64');
      } catch (e) {
        raw = null;
      }
      listFor(records.inspector.received, context.self.id).push({
        at: Date.now(),
        typename: message.valueTypeName,
        base64: raw,
        asString,
      });
    },
  });

  return { statefun, records, gates };
}

// Per-id gates for test/gate. A closed gate holds every invocation of its id
// until it is opened; ids without a closed gate pass straight through.
function createGates() {
  const closed = new Map();
  return {
    close(id) {
      if (closed.has(id)) return;
      let release;
      const promise = new Promise((resolve) => {
        release = resolve;
      });
      closed.set(id, { promise, release });
    },
    open(id) {
      const g = closed.get(id);
      if (!g) return;
      closed.delete(id);
      g.release();
    },
    openAll() {
      for (const id of [...closed.keys()]) this.open(id);
    },
    isClosed(id) {
      return closed.has(id);
    },
    held(id) {
      const g = closed.get(id);
      return g ? g.promise : null;
    },
  };
}

function decodeRequest(body) {
  try {
    const batch = reqreply.ToFunction.deserializeBinary(body).getInvocation();
    if (!batch || !batch.getTarget()) return null;
    const t = batch.getTarget();
    return {
      fn: `${t.getNamespace()}/${t.getType()}`,
      id: t.getId(),
      invocations: batch.getInvocationsList().length,
      callers: batch.getInvocationsList().map((inv) => {
        const c = inv.getCaller();
        return c ? { namespace: c.getNamespace(), type: c.getType(), id: c.getId() } : null;
      }),
      state: batch.getStateList().map((s) => {
        const v = s.getStateValue();
        return { name: s.getStateName(), hasValue: Boolean(v && v.getHasValue()) };
      }),
    };
  } catch (e) {
    return null;
  }
}

function decodeResponseKind(status, body) {
  if (status !== 200) return 'error';
  try {
    const from = reqreply.FromFunction.deserializeBinary(body);
    if (from.hasIncompleteInvocationContext()) return 'incomplete';
    if (from.hasInvocationResult()) return 'result';
    return 'empty';
  } catch (e) {
    return 'undecodable';
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// Listens on `port` at `host`, or on the UNIX socket `socketPath` when given;
// resolves with the port (null for a socket).
function listen(server, port, host, socketPath) {
  return new Promise((resolve, reject) => {
    const onError = (err) => reject(err);
    server.once('error', onError);
    const done = () => {
      server.removeListener('error', onError);
      resolve(socketPath ? null : server.address().port);
    };
    if (socketPath) server.listen(socketPath, done);
    else server.listen(port, host, done);
  });
}

// Serves a StateFun instance behind the counting wrapper: over HTTP, or over
// HTTPS with `tls` (options of https.createServer: key, cert, ca,
// requestCert...), on a TCP port or on the UNIX socket `socketPath`. With a
// `capture` array, every exchange's raw bytes are pushed to it as
// {request, response} (Buffers): ToFunction in, FromFunction out.
// Returns {port, url(name), stats, close(), down(mode), up()}.
//   down('refuse')  closes the listening socket and every open connection,
//                   so the runtime sees refused connections;
//   down('503')     keeps listening but answers every call with 503.
async function serveStateFun(statefun, { port = 0, host = '127.0.0.1', tls, socketPath, capture } = {}) {
  const stats = {
    requests: 0,
    unavailable: 0,
    byFunction: {},
    byAddress: {},
    inflightByAddress: {},
    maxInflightByAddress: {},
    log: [],
  };
  let mode = 'up';

  const handler = async (req, res) => {
    try {
      if (req.method === 'GET' && req.url === '/stats') {
        const body = JSON.stringify({ ...stats, mode });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(body);
        return;
      }
      const body = await readBody(req);
      if (mode !== 'up') {
        stats.unavailable += 1;
        res.writeHead(503, { 'Content-Type': 'text/plain' });
        res.end('down for a test');
        return;
      }
      stats.requests += 1;
      const info = decodeRequest(body) || { fn: null, id: null, invocations: 0, callers: [], state: [] };
      const entry = { at: Date.now(), path: req.url, ...info, status: null, response: null };
      if (stats.log.length < LOG_LIMIT) stats.log.push(entry);
      const key = info.fn ? `${info.fn}/${info.id}` : null;
      if (info.fn) {
        stats.byFunction[info.fn] = (stats.byFunction[info.fn] || 0) + 1;
        stats.byAddress[key] = (stats.byAddress[key] || 0) + 1;
        const now = (stats.inflightByAddress[key] || 0) + 1;
        stats.inflightByAddress[key] = now;
        stats.maxInflightByAddress[key] = Math.max(stats.maxInflightByAddress[key] || 0, now);
      }
      const end = res.end.bind(res);
      res.end = (chunk, ...rest) => {
        entry.status = res.statusCode;
        entry.response = decodeResponseKind(res.statusCode, chunk ? Buffer.from(chunk) : Buffer.alloc(0));
        if (capture && chunk) capture.push({ request: body, response: Buffer.from(chunk) });
        return end(chunk, ...rest);
      };
      try {
        await statefun.handle(Readable.from([body]), res);
      } finally {
        if (key) stats.inflightByAddress[key] -= 1;
      }
    } catch (e) {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  server.keepAliveTimeout = 30000;

  const boundPort = await listen(server, port, host, socketPath);

  return {
    port: boundPort,
    host,
    stats,
    url: (path = '') => `http://${host}:${boundPort}${path}`,
    get mode() {
      return mode;
    },
    async down(how = 'refuse') {
      if (how === '503') {
        mode = '503';
        return;
      }
      if (how !== 'refuse') throw new Error(`unknown down mode ${how}`);
      mode = 'refused';
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    async up() {
      if (mode === 'refused') await listen(server, boundPort, host, socketPath);
      mode = 'up';
    },
    async close() {
      if (!server.listening) return;
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

// Starts the test functions on 127.0.0.1 (port 0 = any free port).
// Returns the server handle (see serveStateFun) plus `records`, `statefun`
// and `gates` (the gates of test/gate).
async function startTestFunctions(opts = {}) {
  const { statefun, records, gates } = createTestStateFun(opts);
  const server = await serveStateFun(statefun, {
    port: opts.port || 0, tls: opts.tls, socketPath: opts.socketPath, capture: opts.capture,
  });
  return Object.assign(server, { statefun, records, gates });
}

module.exports = {
  COMMAND,
  createTestStateFun,
  readBody,
  serveStateFun,
  startTestFunctions,
};
