'use strict';
// The smoke workload, after StateFun's smoke e2e (statefun-smoke-e2e): one
// function, `smoke/interpreter`, that interprets trees of commands, a seeded
// generator of such trees, and the model that computes, from the trees alone,
// what a run with exactly-once effects must end with.
//
// Written against the official StateFun JavaScript SDK (apache-flink-statefun,
// unmodified). Run as a program it serves the function on 127.0.0.1:
//
//   node tests/functions/smoke.js [--port N]
//
// and prints `smoke-functions ready port=N` on stdout once it listens; the
// smoke test runs it as a child process so that it can kill it and start it
// again on the same port.
//
// `GET /stats` on the same port (the runtime only ever POSTs) answers what the
// server saw: requests per address and the requests in flight at once per
// address. A request is in flight from its arrival (headers read) until its
// answer is handed to the socket (or its connection closes). Two requests for
// one address overlap when the later one arrived before the earlier one was
// answered; the runtime allows one call in flight per address, and it sends
// the next call only after it has read the previous answer, so an overlap is
// two callers at once. Each overlap is listed with a span of wall-clock time
// (ms since the epoch, fractional) that holds it, so that a test can tell in
// which phase it happened (the first 1000 are listed, all are counted):
//   {requests, byAddress, maxInflightByAddress, overlapCount,
//    overlaps: [{address, from, to}]}
//
// A message to smoke/interpreter:<id> is a JSON value of type smoke/Commands,
// {c: [command, ...]}; the commands of one message run in order, in one
// invocation. Commands:
//   {t:'inc'}                          counter + 1 (state `counter`)
//   {t:'noop'}                         nothing
//   {t:'egress', rid}                  a record {rid, at: <self id>} on topic smoke-effects
//   {t:'send', to, c}                  sends {c} to smoke/interpreter:<to>
//   {t:'after', to, ms, tok?, c}       sends {c} to smoke/interpreter:<to> after ms,
//                                      with cancellation token tok when given
//   {t:'cancel', tok}                  cancels the delayed message of this
//                                      instance with token tok
//   {t:'race', rid}                    races + 1 (state `races`) and a record
//                                      {rid, at} on topic smoke-races
//   {t:'verify', expected, round}      a record {id, expected, actual: counter,
//                                      races, round} on topic smoke-verify
// An unknown command throws (the SDK answers 500): the runtime retries it
// until its call budget is spent and then writes a dead letter, which the
// smoke test treats as a failure.

const http = require('node:http');
const { Readable } = require('node:stream');
const { StateFun, messageBuilder, egressMessageBuilder } = require('apache-flink-statefun');
require('apache-flink-statefun/dist/generated/request-reply_pb');

const reqreply = globalThis.proto.io.statefun.sdk.reqreply;

const FUNCTION = 'smoke/interpreter';
const COMMANDS_TYPENAME = 'smoke/Commands';
const COMMANDS = StateFun.jsonType(COMMANDS_TYPENAME);
const EGRESS_RECORD = StateFun.jsonType('io.statefun.playground/EgressRecord');
const PLAYGROUND_EGRESS = 'io.statefun.playground/egress';
const TOPICS = Object.freeze({ effects: 'smoke-effects', races: 'smoke-races', verify: 'smoke-verify' });

// The longest delay of a generated sendAfter, in ms.
const MAX_DELAY_MS = 500;

// ---------------------------------------------------------------------------
// the function

function createSmokeStateFun() {
  const statefun = new StateFun();
  statefun.bind({
    typename: FUNCTION,
    specs: [
      { name: 'counter', type: StateFun.intType() },
      { name: 'races', type: StateFun.intType() },
    ],
    fn(context, message) {
      const self = context.self.id;
      const body = message.as(COMMANDS);
      if (!body || !Array.isArray(body.c)) throw new Error(`${FUNCTION}:${self}: not a command list`);
      const before = { counter: context.storage.counter || 0, races: context.storage.races || 0 };
      const st = { ...before };
      const emit = (topic, payload) => context.send(egressMessageBuilder({
        typename: PLAYGROUND_EGRESS,
        value: { topic, payload: JSON.stringify(payload) },
        valueType: EGRESS_RECORD,
      }));
      const commandsTo = (to, c) => messageBuilder({ typename: FUNCTION, id: String(to), value: { c }, valueType: COMMANDS });

      for (const cmd of body.c) {
        switch (cmd.t) {
          case 'inc':
            st.counter += 1;
            break;
          case 'noop':
            break;
          case 'egress':
            emit(TOPICS.effects, { rid: cmd.rid, at: self });
            break;
          case 'send':
            context.send(commandsTo(cmd.to, cmd.c));
            break;
          case 'after':
            if (cmd.tok) context.sendAfter(cmd.ms, commandsTo(cmd.to, cmd.c), cmd.tok);
            else context.sendAfter(cmd.ms, commandsTo(cmd.to, cmd.c));
            break;
          case 'cancel':
            context.cancelDelayedMessage(cmd.tok);
            break;
          case 'race':
            st.races += 1;
            emit(TOPICS.races, { rid: cmd.rid, at: self });
            break;
          case 'verify':
            emit(TOPICS.verify, { id: self, expected: cmd.expected, actual: st.counter, races: st.races, round: cmd.round });
            break;
          default:
            throw new Error(`${FUNCTION}:${self}: unknown command ${JSON.stringify(cmd)}`);
        }
      }
      if (st.counter !== before.counter) context.storage.counter = st.counter;
      if (st.races !== before.races) context.storage.races = st.races;
    },
  });
  return statefun;
}

// The target address of a ToFunction body, "<namespace>/<type>/<id>", or null.
function targetOf(body) {
  try {
    const batch = reqreply.ToFunction.deserializeBinary(body).getInvocation();
    const t = batch && batch.getTarget();
    return t ? `${t.getNamespace()}/${t.getType()}/${t.getId()}` : null;
  } catch (e) {
    return null;
  }
}

const OVERLAP_LIST_LIMIT = 1000;
const wallNow = () => performance.timeOrigin + performance.now();

// Serves smoke/interpreter on host:port (0: any free port), with `GET /stats`
// (above). Resolves with {port, stats, close()}.
async function serveSmoke({ port = 0, host = '127.0.0.1' } = {}) {
  const statefun = createSmokeStateFun();
  const stats = {
    requests: 0,
    byAddress: {},
    maxInflightByAddress: {},
    overlapCount: 0,
    overlaps: [],
  };
  const inflight = {}; // address -> requests decoded and not yet answered
  const lastAnswered = {}; // address -> latest answer time of its requests

  const server = http.createServer((req, res) => {
    const arrived = wallNow();
    if (req.method === 'GET' && req.url === '/stats') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(stats));
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => {});
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const address = targetOf(body);
      let answered = null;
      const done = () => {
        if (answered !== null) return;
        answered = wallNow();
        if (!address) return;
        inflight[address] -= 1;
        // Another request for this address answered after this one arrived
        // (and before this one was answered): the two were in flight together,
        // at some time between this arrival and that answer.
        const other = lastAnswered[address];
        if (other !== undefined && other > arrived) {
          stats.overlapCount += 1;
          stats.maxInflightByAddress[address] = Math.max(stats.maxInflightByAddress[address], 2);
          if (stats.overlaps.length < OVERLAP_LIST_LIMIT) stats.overlaps.push({ address, from: arrived, to: other });
        }
        lastAnswered[address] = Math.max(other || 0, answered);
      };
      if (address) {
        stats.requests += 1;
        stats.byAddress[address] = (stats.byAddress[address] || 0) + 1;
        inflight[address] = (inflight[address] || 0) + 1;
        stats.maxInflightByAddress[address] = Math.max(stats.maxInflightByAddress[address] || 0, inflight[address]);
      }
      // The answer is taken as given when it is handed to the socket: the
      // runtime cannot have read it earlier.
      const end = res.end.bind(res);
      res.end = (...args) => {
        done();
        return end(...args);
      };
      res.on('close', done);
      statefun.handle(Readable.from([body]), res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
  });
  server.keepAliveTimeout = 30000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  return {
    port: server.address().port,
    stats,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

// ---------------------------------------------------------------------------
// the generator

// mulberry32: a small seeded PRNG; the same seed gives the same workload.
function createRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n), // 0 .. n-1
    chance: (p) => next() < p,
  };
}

const DEFAULTS = Object.freeze({
  instances: 128,
  commands: 50000,
  maxDepth: 3, // command lists nested in a command list: 0 (the root) .. maxDepth
  rootChildren: 3, // commands per root list: 1 .. rootChildren
  nestedChildren: 2, // commands per nested list: 1 .. nestedChildren
  // relative weights of the commands of a list below maxDepth; at maxDepth
  // only inc, noop and egress are drawn
  weights: {
    inc: 38, noop: 10, egress: 6, send: 24, after: 7, afterToken: 5, afterCancelled: 8,
  },
  raceProbability: 0.03, // a root list gets a racing delayed message
  raceCancelProbability: 0.3, // a root list cancels one of its instance's racing messages
});

function pickWeighted(rng, weights) {
  const entries = Object.entries(weights);
  let r = rng.next() * entries.reduce((s, [, w]) => s + w, 0);
  for (const [k, w] of entries) {
    r -= w;
    if (r < 0) return k;
  }
  return entries[entries.length - 1][0];
}

// Generates the workload: `commands` root command lists, each addressed to
// smoke/interpreter:<id>, id in "0" .. String(instances - 1).
//
// Cancellation, and why the expectation stays exact:
//  - afterCancelled: a sendAfter with a fresh token, and a cancel of that token
//    placed later in the SAME command list. A list runs in one invocation; the
//    SDK returns the delayed message and its cancellation in that order in one
//    answer, and the runtime applies one answer atomically, so no timer can
//    fire in between whatever the delay: the cancelled subtree never runs.
//    Its effects are not expected, and its egress ids are forbidden.
//  - afterToken: a sendAfter with a fresh token nobody cancels: it runs.
//  - races: a root list may add a sendAfter (token 'r<n>') whose only command
//    is {t:'race'}, and a LATER root list of the same instance may cancel it.
//    Whether the cancel wins depends on timing, so the expectation does not
//    depend on it: races touch only the `races` state and the smoke-races
//    topic, never the counter or smoke-effects. What is checked instead:
//    each race id is seen at most once, and at the end each instance's `races`
//    state equals the number of race records it emitted (state and egress of
//    one invocation are applied together, exactly once).
function generateWorkload(seed, options = {}) {
  const o = { ...DEFAULTS, ...options, weights: { ...DEFAULTS.weights, ...(options.weights || {}) } };
  const rng = createRng(seed);
  const leafWeights = { inc: o.weights.inc, noop: o.weights.noop, egress: o.weights.egress };
  let nextRid = 0;
  let nextTok = 0;
  let nextRace = 0;
  const pendingRaces = Array.from({ length: o.instances }, () => []);
  const anyId = () => String(rng.int(o.instances));

  function genList(depth) {
    const n = 1 + rng.int(depth === 0 ? o.rootChildren : o.nestedChildren);
    const list = [];
    const cancels = [];
    for (let i = 0; i < n; i++) {
      const kind = pickWeighted(rng, depth >= o.maxDepth ? leafWeights : o.weights);
      switch (kind) {
        case 'inc':
        case 'noop':
          list.push({ t: kind });
          break;
        case 'egress':
          list.push({ t: 'egress', rid: `e${nextRid++}` });
          break;
        case 'send':
          list.push({ t: 'send', to: anyId(), c: genList(depth + 1) });
          break;
        case 'after':
          list.push({ t: 'after', to: anyId(), ms: rng.int(MAX_DELAY_MS + 1), c: genList(depth + 1) });
          break;
        case 'afterToken':
        case 'afterCancelled': {
          const tok = `k${nextTok++}`;
          list.push({ t: 'after', to: anyId(), ms: rng.int(MAX_DELAY_MS + 1), tok, c: genList(depth + 1) });
          if (kind === 'afterCancelled') cancels.push(tok);
          break;
        }
        default:
          throw new Error(`unknown kind ${kind}`);
      }
    }
    for (const tok of cancels) {
      const at = list.findIndex((c) => c.tok === tok);
      const pos = at + 1 + rng.int(list.length - at); // at+1 .. list.length
      list.splice(pos, 0, { t: 'cancel', tok });
    }
    return list;
  }

  const commands = new Array(o.commands);
  for (let i = 0; i < o.commands; i++) {
    const target = rng.int(o.instances);
    const c = genList(0);
    if (rng.chance(o.raceProbability)) {
      const race = nextRace++;
      const tok = `r${race}`;
      c.splice(rng.int(c.length + 1), 0,
        { t: 'after', to: anyId(), ms: rng.int(MAX_DELAY_MS + 1), tok, c: [{ t: 'race', rid: tok }] });
      pendingRaces[target].push(tok);
    } else if (pendingRaces[target].length > 0 && rng.chance(o.raceCancelProbability)) {
      const j = rng.int(pendingRaces[target].length);
      const [tok] = pendingRaces[target].splice(j, 1);
      c.splice(rng.int(c.length + 1), 0, { t: 'cancel', tok });
    }
    commands[i] = { id: String(target), c };
  }
  return { seed, options: o, commands };
}

// ---------------------------------------------------------------------------
// the model

// What a run of `commands` (from generateWorkload) must end with, computed
// from the trees alone: the counter of every instance, the egress record ids
// (each exactly once) with the instance that emits each, the ids that must
// never appear (they sit in cancelled subtrees), the race ids, and the number
// of messages that run.
function expectationOf(commands, instances) {
  const counters = new Array(instances).fill(0);
  const effects = new Map(); // rid -> emitting instance id
  const forbidden = new Set();
  const races = new Set();
  const stats = {
    messages: 0, incs: 0, sends: 0, delayed: 0, cancelledSubtrees: 0, racing: 0, raceCancels: 0,
  };

  // Runs list `c` at instance `at` (or, with live=false, walks a subtree that
  // never runs, collecting its ids as forbidden).
  function run(c, at, live) {
    if (live) stats.messages += 1;
    const cancelledHere = new Set();
    c.forEach((cmd, i) => {
      if (cmd.t === 'cancel' && c.slice(0, i).some((x) => x.t === 'after' && x.tok === cmd.tok)) cancelledHere.add(cmd.tok);
    });
    for (const cmd of c) {
      switch (cmd.t) {
        case 'inc':
          if (live) {
            counters[at] += 1;
            stats.incs += 1;
          }
          break;
        case 'egress':
          if (live) effects.set(cmd.rid, String(at));
          else forbidden.add(cmd.rid);
          break;
        case 'send':
          if (live) stats.sends += 1;
          run(cmd.c, Number(cmd.to), live);
          break;
        case 'after': {
          const racing = cmd.c.length === 1 && cmd.c[0].t === 'race';
          if (racing) {
            if (live) {
              races.add(cmd.c[0].rid);
              stats.racing += 1;
            }
            break;
          }
          const cancelled = cancelledHere.has(cmd.tok);
          if (live && cancelled) stats.cancelledSubtrees += 1;
          if (live && !cancelled) stats.delayed += 1;
          run(cmd.c, Number(cmd.to), live && !cancelled);
          break;
        }
        case 'cancel':
          if (live && !cancelledHere.has(cmd.tok)) stats.raceCancels += 1;
          break;
        case 'noop':
          break;
        default:
          throw new Error(`unexpected command ${JSON.stringify(cmd)}`);
      }
    }
  }

  for (const { id, c } of commands) run(c, Number(id), true);
  return { counters, effects, forbidden, races, stats };
}

module.exports = {
  COMMANDS,
  COMMANDS_TYPENAME,
  DEFAULTS,
  FUNCTION,
  MAX_DELAY_MS,
  TOPICS,
  createRng,
  createSmokeStateFun,
  expectationOf,
  generateWorkload,
  serveSmoke,
};

if (require.main === module) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 0;
  serveSmoke({ port }).then((s) => {
    process.stdout.write(`smoke-functions ready port=${s.port}\n`);
  }, (err) => {
    process.stderr.write(`smoke-functions: ${err.stack || err}\n`);
    process.exit(1);
  });
}
