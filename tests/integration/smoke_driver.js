'use strict';
// The parts of the smoke verifier that do not depend on how many nodes run:
// failing a run at once, the function server as a child process, PUTs retried
// with one Idempotency-Key until accepted, the egress checks, the loops that
// pop the egress, and the verify stage. smoke_verifier.test.js (one node) and
// cluster_smoke.test.js (a cluster) drive the same workload
// (tests/functions/smoke.js) through them.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');
const h = require('./harness');
const smoke = require('../functions/smoke');

const SMOKE_JS = path.resolve(__dirname, '..', 'functions', 'smoke.js');
const FUNCTION_READY_RE = /smoke-functions ready port=(\d+)/;
const PUT_TIMEOUT_MS = 60000;
const GET_TIMEOUT_MS = 30000;

function intEnv(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: expected a non-negative integer`);
  return n;
}

// SMOKE_SEED, or a random seed.
function seedFromEnv() {
  const seedText = process.env.SMOKE_SEED;
  if (seedText && !/^\d+$/.test(seedText)) throw new Error(`SMOKE_SEED=${seedText}: expected an unsigned integer`);
  return seedText ? Number(seedText) >>> 0 : crypto.randomInt(2 ** 32);
}

// Plain node:http requests (fetch costs too much CPU here). PUTs reuse
// connections (pass a keep-alive agent); egress GETs open a fresh connection
// each: the node's HTTP servers (cpp-httplib without TCP_NODELAY) write a
// 200's header and body separately, so on a reused connection each popped
// record waits for the client's delayed ACK (30-45 ms), and draining thousands
// of records would take minutes.
function httpRequest(url, { method = 'GET', headers = {}, body = null, agent = false, timeoutMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method,
      agent,
      headers: body ? { ...headers, 'Content-Length': body.length } : headers,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body || undefined);
  });
}

// ---------------------------------------------------------------------------
// a run: progress lines, and failing at once

// tag: prefix of progress lines; seed and repro: named in every failure.
function createRun({ tag, seed, repro }) {
  const t0 = Date.now();
  let rejectFailure;
  const failed = new Promise((resolve, reject) => {
    rejectFailure = reject;
  });
  failed.catch(() => {});
  const run = {
    t0,
    failure: null,
    failed,
    // Set once the test stops its processes: exits are expected from then on.
    stopping: false,
    elapsed: () => `${((Date.now() - t0) / 1000).toFixed(1)}s`,
    progress(msg) {
      process.stderr.write(`[${tag} ${run.elapsed()}] ${msg}\n`);
    },
    fatal(message) {
      if (run.failure) return;
      run.failure = new Error(`${message}\n(seed ${seed}; reproduce with ${repro})`);
      run.progress(`FAILURE: ${message}`);
      rejectFailure(run.failure);
    },
    // Resolves as `promise` does, or rejects as soon as the run has failed.
    guarded: (promise) => Promise.race([promise, failed]),
    async waitFor(cond, timeoutMs, what, intervalMs = 50) {
      const deadline = Date.now() + timeoutMs;
      while (!cond()) {
        if (run.failure) throw run.failure;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
        await h.sleep(intervalMs);
      }
    },
  };
  return run;
}

// ---------------------------------------------------------------------------
// the function server, a child process

const functionChildren = new Set();
process.on('exit', () => {
  for (const child of functionChildren) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch (e) {
      // gone
    }
  }
});

// Stderr of every function server that exited: [{pid, stderr}].
const functionLogs = [];

// Starts `node tests/functions/smoke.js --port <port>` (0: a free port),
// retrying while the port is not free yet. Resolves with
// {child, port, stderr(), killedByTest, ready}; an exit the test did not
// cause fails the run.
async function startFunctionServer(run, port) {
  for (let attempt = 1; ; attempt++) {
    const child = spawn(process.execPath, [SMOKE_JS, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    functionChildren.add(child);
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-65536);
    });
    const server = { child, port, stderr: () => stderr, killedByTest: false };
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    exited.then(({ code, signal }) => {
      functionChildren.delete(child);
      functionLogs.push({ pid: child.pid, stderr });
      if (!server.killedByTest && server.ready && !run.stopping) {
        run.fatal(`the function server (pid ${child.pid}) exited unexpectedly (code ${code}, signal ${signal})\n${stderr}`);
      }
    });
    const ready = await new Promise((resolve) => {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d) => {
        out += d;
        const m = FUNCTION_READY_RE.exec(out);
        if (m) resolve(Number(m[1]));
      });
      exited.then(() => resolve(null));
      setTimeout(() => resolve(null), 20000).unref();
    });
    if (ready !== null) {
      server.ready = true;
      server.port = ready;
      return server;
    }
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch (e) {
      // gone
    }
    if (attempt >= 20) throw new Error(`the function server did not start on port ${port}:\n${stderr}`);
    await h.sleep(250); // e.g. the port is not free yet
  }
}

// The function server's GET /stats (tests/functions/smoke.js).
async function functionStats(server) {
  const res = await httpRequest(`http://127.0.0.1:${server.port}/stats`, { timeoutMs: 10000 });
  if (res.status !== 200) throw new Error(`GET /stats of the function server answered ${res.status}: ${res.text}`);
  return JSON.parse(res.text);
}

function killFunctionChildren() {
  for (const child of functionChildren) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch (e) {
      // gone
    }
  }
}

// ---------------------------------------------------------------------------
// what the egress shows, checked as it arrives

// Handlers for the three topics that fail the run at once on a duplicate, a
// record of a cancelled subtree, an unknown record or an over-counted verify.
// Verify records of rounds >= 1 keep the latest per instance in `verified`;
// those of negative rounds (probes sent while the workload still runs) go to
// onProbe(record) after the same checks.
function createEgressChecker(run, want, instances, { onProbe = null } = {}) {
  const seenEffects = new Set();
  const seenRaces = new Set();
  const racesAt = new Array(instances).fill(0);
  const verified = new Array(instances).fill(null); // latest verify record per instance
  const parse = (topic, text) => {
    try {
      return JSON.parse(text);
    } catch (e) {
      run.fatal(`undecodable record on ${topic}: ${text}`);
      return null;
    }
  };
  const handlers = {
    [smoke.TOPICS.effects]: (text) => {
      const r = parse('effects', text);
      if (!r) return;
      if (seenEffects.has(r.rid)) run.fatal(`egress record ${r.rid} (from instance ${r.at}) seen twice on ${smoke.TOPICS.effects}`);
      else if (want.forbidden.has(r.rid)) run.fatal(`egress record ${r.rid} (from instance ${r.at}) belongs to a cancelled delayed message`);
      else if (!want.effects.has(r.rid)) run.fatal(`unknown egress record ${text}`);
      else if (want.effects.get(r.rid) !== r.at) run.fatal(`egress record ${r.rid} came from instance ${r.at}, expected ${want.effects.get(r.rid)}`);
      seenEffects.add(r.rid);
    },
    [smoke.TOPICS.races]: (text) => {
      const r = parse('races', text);
      if (!r) return;
      if (seenRaces.has(r.rid)) run.fatal(`race record ${r.rid} (at instance ${r.at}) seen twice`);
      else if (!want.races.has(r.rid)) run.fatal(`unknown race record ${text}`);
      seenRaces.add(r.rid);
      racesAt[Number(r.at)] += 1;
    },
    [smoke.TOPICS.verify]: (text) => {
      const r = parse('verify', text);
      if (!r) return;
      const i = Number(r.id);
      if (r.expected !== want.counters[i]) run.fatal(`verify record with a wrong expectation: ${text}`);
      if (r.actual > r.expected) run.fatal(`instance ${r.id} over-counted: actual ${r.actual} > expected ${r.expected} (round ${r.round})`);
      if (r.round < 0) {
        if (onProbe) onProbe(r);
        return;
      }
      if (!verified[i] || verified[i].round <= r.round) verified[i] = r;
    },
  };
  return {
    seenEffects, seenRaces, racesAt, verified, handlers,
  };
}

// ---------------------------------------------------------------------------
// egress: popped by a few loops per topic; paused around kills

// pick() names the node to pop from next: {egress: base URL, healthy()} or
// null when there is none now. An answer other than 200 or 404 fails the run
// when healthy() still holds after it.
function createDrainer(run, handlers, pick) {
  const parallel = { [smoke.TOPICS.effects]: 3, [smoke.TOPICS.races]: 1, [smoke.TOPICS.verify]: 2 };
  let paused = false;
  let stopped = false;
  let inflight = 0;
  let idleWaiters = [];
  let resumeWaiters = [];
  const counts = { popped: 0, empty: 0, errors: 0 };

  async function loop(topic) {
    while (!stopped && !run.failure) {
      if (paused) {
        await new Promise((resolve) => resumeWaiters.push(resolve));
        continue;
      }
      const target = pick();
      if (!target) {
        await h.sleep(50);
        continue;
      }
      inflight += 1;
      let res = null;
      try {
        res = await httpRequest(`${target.egress}/${topic}`, { timeoutMs: GET_TIMEOUT_MS });
      } catch (e) {
        counts.errors += 1;
      } finally {
        inflight -= 1;
        if (inflight === 0 && idleWaiters.length > 0) {
          for (const w of idleWaiters) w();
          idleWaiters = [];
        }
      }
      if (res && res.status === 200) {
        counts.popped += 1;
        handlers[topic](res.text);
      } else if (res && res.status === 404) {
        counts.empty += 1;
        await h.sleep(100);
      } else {
        if (res && target.healthy()) run.fatal(`egress GET /${topic} answered ${res.status}: ${res.text}`);
        await h.sleep(100);
      }
    }
  }

  const loops = [];
  for (const [topic, n] of Object.entries(parallel)) for (let i = 0; i < n; i++) loops.push(loop(topic));

  return {
    counts,
    // Stops new pops and resolves once none is in flight.
    async pause() {
      paused = true;
      if (inflight > 0) await new Promise((resolve) => idleWaiters.push(resolve));
    },
    resume() {
      paused = false;
      const ws = resumeWaiters;
      resumeWaiters = [];
      for (const w of ws) w();
    },
    async stop() {
      stopped = true;
      this.resume();
      await Promise.all(loops);
    },
  };
}

// ---------------------------------------------------------------------------
// ingress: one command, retried with the same key until accepted

function createIngressStats() {
  return {
    accepted: 0, duplicates: 0, retries: 0, connectionErrors: 0, statuses: {},
  };
}

// PUTs `body` to smoke/interpreter:<id> under Idempotency-Key `key` until a
// node answers 200. target() names the node to send to now: {ingress: base
// URL, healthy()} or null while there is none (the attempt waits). A 4xx
// fails the run when healthy() still holds after it: that node refuses the
// command for good, and retrying would only hide it. A "duplicate" answer to
// the first attempt fails it too (the key was taken before).
async function putUntilAccepted(run, { target, stats, agent }, id, body, key) {
  for (let attempt = 0; ; attempt++) {
    if (run.failure) throw run.failure;
    const to = target();
    let status = null;
    let text = '';
    if (to) {
      try {
        const res = await httpRequest(`${to.ingress}/smoke/interpreter/${encodeURIComponent(id)}`, {
          method: 'PUT',
          headers: { 'Content-Type': `application/vnd.${smoke.COMMANDS_TYPENAME}`, 'Idempotency-Key': key },
          body,
          agent,
          timeoutMs: PUT_TIMEOUT_MS,
        });
        status = res.status;
        text = res.text;
      } catch (e) {
        stats.connectionErrors += 1;
        status = null;
      }
    }
    if (status === 200) {
      let answer = null;
      try {
        answer = JSON.parse(text);
      } catch (e) {
        // checked below
      }
      if (!answer || (answer.status !== 'accepted' && answer.status !== 'duplicate')) {
        run.fatal(`ingress answered 200 with an unexpected body for key ${key}: ${text}`);
        throw run.failure;
      }
      if (answer.status === 'duplicate') {
        stats.duplicates += 1;
        if (attempt === 0) {
          run.fatal(`ingress answered "duplicate" to the first request with key ${key}: ${text}`);
          throw run.failure;
        }
      } else {
        stats.accepted += 1;
      }
      return;
    }
    if (status !== null) {
      stats.statuses[status] = (stats.statuses[status] || 0) + 1;
      if (status >= 400 && status < 500 && to.healthy()) {
        run.fatal(`ingress answered ${status} to key ${key}: ${text}`);
        throw run.failure;
      }
    }
    stats.retries += 1;
    await h.sleep(Math.min(1000, 10 * 2 ** Math.min(attempt, 7)) * (0.5 + Math.random() / 2));
  }
}

// ---------------------------------------------------------------------------
// the verify stage

// After the workload: verify rounds (sendVerify(round) sends a verify command
// to every instance) until every counter is exact, then every expected egress
// record once, then the races (each instance's `races` state equals the race
// records it emitted). Resolves with {verifyRounds, convergeMs (from
// driveStart, ms since the epoch, to exact counters)}.
//   verifyTimeoutMs: under-counting is tolerated while the counters still
//   move, for at most this long in all, and verifyStallMs without progress;
//   effectsStallMs: fails when no new egress record arrived for this long.
async function verifyStage(run, {
  want, checker, sendVerify, driveStart, verifyTimeoutMs, verifyStallMs, effectsStallMs = 60000, timeoutMs,
}) {
  const { verified, seenEffects, seenRaces, racesAt } = checker;
  let verifyRounds = 0;
  const exact = () => verified.every((r, i) => r && r.actual === want.counters[i]);
  const verifyStart = Date.now();
  const total = () => verified.reduce((sum, r) => sum + (r ? r.actual : 0), 0);
  let lastTotal = -1;
  let lastProgress = Date.now();
  while (!exact()) {
    if (total() !== lastTotal) {
      lastTotal = total();
      lastProgress = Date.now();
    }
    const stalled = Date.now() - lastProgress > verifyStallMs;
    if (stalled || Date.now() - verifyStart > verifyTimeoutMs) {
      const behind = verified.map((r, i) => ({ id: i, expected: want.counters[i], actual: r ? r.actual : null, round: r ? r.round : null }))
        .filter((r) => r.actual !== r.expected);
      throw new Error(`counters not exact ${stalled ? `and not moving for ${verifyStallMs} ms` : `after ${verifyTimeoutMs} ms`} `
        + `of verification (${behind.length} instances behind, ${verifyRounds} rounds): ${JSON.stringify(behind.slice(0, 20))}`);
    }
    verifyRounds += 1;
    await run.guarded(sendVerify(verifyRounds));
    const roundEnd = Date.now() + 2000;
    await run.guarded(run.waitFor(() => exact() || Date.now() > roundEnd, 5000, 'a verify round'));
  }
  const convergeMs = Date.now() - driveStart;
  run.progress(`counters exact after ${verifyRounds} verify round(s), ${convergeMs} ms after the drive began`);

  // every expected egress record, once
  let lastSeen = seenEffects.size;
  let lastNewRecord = Date.now();
  await run.guarded(run.waitFor(() => {
    if (seenEffects.size !== lastSeen) {
      lastSeen = seenEffects.size;
      lastNewRecord = Date.now();
    }
    if (seenEffects.size === want.effects.size) return true;
    if (Date.now() - lastNewRecord > effectsStallMs) {
      const missing = [...want.effects.keys()].filter((rid) => !seenEffects.has(rid));
      throw new Error(`no new egress record for ${effectsStallMs / 1000} s; missing ${missing.length} of ${want.effects.size}: `
        + `${missing.slice(0, 20).map((rid) => `${rid}@${want.effects.get(rid)}`).join(', ')}`);
    }
    return false;
  }, timeoutMs, 'every expected egress record'));
  run.progress(`all ${want.effects.size} egress records seen once`);

  // races: state and records agree once everything is delivered
  const raceStart = Date.now();
  for (;;) {
    verifyRounds += 1;
    const round = verifyRounds;
    await run.guarded(sendVerify(round));
    await run.guarded(run.waitFor(() => verified.every((r) => r && r.round >= round), 30000, `verify round ${round}`));
    await h.sleep(500); // race records released with the verify records are popped meanwhile
    const disagree = verified.map((r, i) => ({ id: i, state: r.races, records: racesAt[i] })).filter((r) => r.state !== r.records);
    if (disagree.length === 0) break;
    run.progress(`verify round ${round}: races state and records disagree on ${disagree.length} instance(s), `
      + `e.g. ${JSON.stringify(disagree.slice(0, 5))}; waiting`);
    if (Date.now() - raceStart > 30000) {
      throw new Error(`races state and race records disagree: ${JSON.stringify(disagree.slice(0, 20))}`);
    }
    await h.sleep(1000);
  }
  run.progress(`races: ${seenRaces.size} of ${want.races.size} racing delayed messages delivered, state and records agree`);
  assert.ok(exact(), 'counters still exact');
  return { verifyRounds, convergeMs };
}

module.exports = {
  GET_TIMEOUT_MS,
  PUT_TIMEOUT_MS,
  createDrainer,
  createEgressChecker,
  createIngressStats,
  createRun,
  functionLogs,
  functionStats,
  httpRequest,
  intEnv,
  killFunctionChildren,
  putUntilAccepted,
  seedFromEnv,
  startFunctionServer,
  verifyStage,
};
