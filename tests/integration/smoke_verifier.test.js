'use strict';
// Smoke verification with crashes, after StateFun's smoke e2e: a seeded
// generator makes random command trees for smoke/interpreter instances "0" ..
// "127" (tests/functions/smoke.js describes the commands and the model); the
// driver PUTs them with bounded concurrency, each with its own Idempotency-Key,
// retrying with the same key until the node accepts it. Meanwhile the node is
// SIGKILLed at random moments and restarted on the same data dir, and the
// function server (a child process) is killed once and started again on the
// same port. Then:
//   - Verify goes to every instance every 2 s; each answers on the smoke-verify
//     topic with its counter as Hearth holds it. Any actual > expected fails at
//     once (a duplicated effect); the test passes this stage when every
//     instance reports actual == expected within the timeout.
//   - Every expected record id of smoke-effects must be popped exactly once: a
//     duplicate, an id from a cancelled subtree or an unknown id fails at once.
//   - Racing delayed messages (their cancel may or may not win) are seen at
//     most once each, and each instance's `races` state equals the number of
//     race records it emitted.
//   - No dead letters; the node stops cleanly on SIGTERM.
// Egress is popped while the driver runs, but never across a kill: a record
// popped by a request whose answer the kill cut off would be lost to the test.
//
// Environment (defaults in brackets):
//   SMOKE_SEED           workload and chaos seed [random; printed]
//   SMOKE_COMMANDS       root command trees [50000]
//   SMOKE_INSTANCES      instances [128]
//   SMOKE_KILLS          node SIGKILLs [4]: all but the last while the driver
//                        runs, the last after its final acknowledgement
//   SMOKE_FUNCTION_KILLS function server kills [1]
//   SMOKE_CONCURRENCY    ingress requests in flight [64]
//   SMOKE_CHECKPOINT_INTERVAL  [200ms]
//   SMOKE_TIMEOUT_MS     whole test [280000, scaled up with SMOKE_COMMANDS]
//   SMOKE_REPORT         file to write the run's summary to (JSON)
// A soak run, e.g.:
//   SMOKE_COMMANDS=400000 SMOKE_KILLS=20 node --test tests/integration/smoke_verifier.test.js

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const h = require('./harness');
const smoke = require('../functions/smoke');

function intEnv(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: expected a non-negative integer`);
  return n;
}

const CONFIG = (() => {
  const seedText = process.env.SMOKE_SEED;
  if (seedText && !/^\d+$/.test(seedText)) throw new Error(`SMOKE_SEED=${seedText}: expected an unsigned integer`);
  const seed = seedText ? Number(seedText) >>> 0 : crypto.randomInt(2 ** 32);
  const commands = intEnv('SMOKE_COMMANDS', 50000);
  return {
    seed,
    commands,
    instances: intEnv('SMOKE_INSTANCES', 128),
    kills: intEnv('SMOKE_KILLS', 4),
    functionKills: intEnv('SMOKE_FUNCTION_KILLS', 1),
    concurrency: Math.max(1, intEnv('SMOKE_CONCURRENCY', 64)),
    checkpointInterval: process.env.SMOKE_CHECKPOINT_INTERVAL || '200ms',
    timeoutMs: intEnv('SMOKE_TIMEOUT_MS', Math.max(280000, Math.ceil(280000 * (commands / 50000)))),
    verifyTimeoutMs: 150000,
    verifyStallMs: 45000,
    report: process.env.SMOKE_REPORT || '',
  };
})();

const REPRO = `SMOKE_SEED=${CONFIG.seed} SMOKE_COMMANDS=${CONFIG.commands} SMOKE_INSTANCES=${CONFIG.instances} `
  + `SMOKE_KILLS=${CONFIG.kills} SMOKE_FUNCTION_KILLS=${CONFIG.functionKills} SMOKE_CONCURRENCY=${CONFIG.concurrency} `
  + `SMOKE_CHECKPOINT_INTERVAL=${CONFIG.checkpointInterval}`;
const SMOKE_JS = path.resolve(__dirname, '..', 'functions', 'smoke.js');
const FUNCTION_READY_RE = /smoke-functions ready port=(\d+)/;
const PUT_TIMEOUT_MS = 60000;
const GET_TIMEOUT_MS = 30000;

// Plain node:http requests (fetch costs too much CPU here). PUTs reuse
// connections; egress GETs open a fresh connection each: the node's HTTP
// servers (cpp-httplib without TCP_NODELAY) write a 200's header and body
// separately, so on a reused connection each popped record waits for the
// client's delayed ACK (30-45 ms), and draining thousands of records would
// take minutes.
const putAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });

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

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
function progress(msg) {
  process.stderr.write(`[smoke ${elapsed()}] ${msg}\n`);
}

// ---------------------------------------------------------------------------
// failing at once

let failure = null;
let rejectFailure;
const failed = new Promise((resolve, reject) => {
  rejectFailure = reject;
});
failed.catch(() => {});

function fatal(message) {
  if (failure) return;
  failure = new Error(`${message}\n(seed ${CONFIG.seed}; reproduce with ${REPRO})`);
  progress(`FAILURE: ${message}`);
  rejectFailure(failure);
}

// Resolves as `promise` does, or rejects as soon as the run has failed.
const guarded = (promise) => Promise.race([promise, failed]);

async function waitFor(cond, timeoutMs, what, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (failure) throw failure;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await h.sleep(intervalMs);
  }
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

let functionServer = null; // {child, port, stderr(), killedByTest}
const functionLogs = [];

async function startFunctionServer(port) {
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
      if (!server.killedByTest && server.ready && !stopping) {
        fatal(`the function server (pid ${child.pid}) exited unexpectedly (code ${code}, signal ${signal})\n${stderr}`);
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

// ---------------------------------------------------------------------------
// the node

let moduleYaml;
let dataDir;
let current = null; // the node incarnation the driver talks to
let stopping = false;
const incarnations = [];

async function startIncarnation() {
  const started = Date.now();
  const node = await h.startNode({
    module: moduleYaml,
    dataDir,
    args: ['--set', `checkpoint.interval=${CONFIG.checkpointInterval}`],
  });
  const restored = /restored checkpoint (\S+)/.exec(node.stderr());
  const inc = {
    n: incarnations.length,
    node,
    pid: node.pid,
    alive: true,
    killedByTest: false,
    readyMs: Date.now() - started,
    restoredCheckpoint: restored ? restored[1] : '?',
  };
  incarnations.push(inc);
  node.exited.then(({ code, signal }) => {
    inc.alive = false;
    inc.exit = { code, signal };
    if (!inc.killedByTest && !stopping) {
      fatal(`hearth-node incarnation ${inc.n} (pid ${inc.pid}) exited on its own (code ${code}, signal ${signal})\n`
        + `${node.stderr().slice(-6000)}`);
    }
  });
  return inc;
}

// ---------------------------------------------------------------------------
// egress: popped by a few loops per topic; paused around kills

function createDrainer(handlers) {
  const parallel = { [smoke.TOPICS.effects]: 3, [smoke.TOPICS.races]: 1, [smoke.TOPICS.verify]: 2 };
  let paused = false;
  let stopped = false;
  let inflight = 0;
  let idleWaiters = [];
  let resumeWaiters = [];
  const counts = { popped: 0, empty: 0, errors: 0 };

  async function loop(topic) {
    while (!stopped && !failure) {
      if (paused) {
        await new Promise((resolve) => resumeWaiters.push(resolve));
        continue;
      }
      const inc = current;
      if (!inc || !inc.alive) {
        await h.sleep(50);
        continue;
      }
      inflight += 1;
      let res = null;
      try {
        res = await httpRequest(`${inc.node.egress}/${topic}`, { timeoutMs: GET_TIMEOUT_MS });
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
        if (res && inc.alive && !inc.killedByTest) fatal(`egress GET /${topic} answered ${res.status}: ${res.text}`);
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

const ingressStats = {
  accepted: 0, duplicates: 0, retries: 0, connectionErrors: 0, statuses: {},
};

async function putUntilAccepted(id, body, key) {
  for (let attempt = 0; ; attempt++) {
    if (failure) throw failure;
    const inc = current;
    let status = null;
    let text = '';
    if (inc && inc.alive) {
      try {
        const res = await httpRequest(`${inc.node.ingress}/smoke/interpreter/${encodeURIComponent(id)}`, {
          method: 'PUT',
          headers: { 'Content-Type': `application/vnd.${smoke.COMMANDS_TYPENAME}`, 'Idempotency-Key': key },
          body,
          agent: putAgent,
          timeoutMs: PUT_TIMEOUT_MS,
        });
        status = res.status;
        text = res.text;
      } catch (e) {
        ingressStats.connectionErrors += 1;
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
        fatal(`ingress answered 200 with an unexpected body for key ${key}: ${text}`);
        throw failure;
      }
      if (answer.status === 'duplicate') {
        ingressStats.duplicates += 1;
        if (attempt === 0) {
          fatal(`ingress answered "duplicate" to the first request with key ${key}: ${text}`);
          throw failure;
        }
      } else {
        ingressStats.accepted += 1;
      }
      return;
    }
    if (status !== null) {
      ingressStats.statuses[status] = (ingressStats.statuses[status] || 0) + 1;
      // A 4xx from the incarnation still serving is the node refusing the
      // command for good; retrying would only hide it.
      if (status >= 400 && status < 500 && inc === current && inc.alive && !inc.killedByTest) {
        fatal(`ingress answered ${status} to key ${key}: ${text}`);
        throw failure;
      }
    }
    ingressStats.retries += 1;
    await h.sleep(Math.min(1000, 10 * 2 ** Math.min(attempt, 7)) * (0.5 + Math.random() / 2));
  }
}

// ---------------------------------------------------------------------------

after(async () => {
  stopping = true;
  await h.cleanup();
  putAgent.destroy();
  for (const child of functionChildren) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch (e) {
      // gone
    }
  }
});

function saveLogs() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hearth-smoke-${CONFIG.seed}-`));
  for (const inc of incarnations) fs.writeFileSync(path.join(dir, `node-${inc.n}-pid${inc.pid}.stderr`), inc.node.stderr());
  functionLogs.forEach((f, i) => fs.writeFileSync(path.join(dir, `functions-${i}-pid${f.pid}.stderr`), f.stderr));
  if (functionServer) fs.writeFileSync(path.join(dir, 'functions-current.stderr'), functionServer.stderr());
  return dir;
}

test(`smoke: ${CONFIG.commands} command trees over ${CONFIG.instances} instances, ${CONFIG.kills} node kills, `
  + `${CONFIG.functionKills} function server kill(s), exactly-once state and egress`, { timeout: CONFIG.timeoutMs }, async (t) => {
  progress(`seed ${CONFIG.seed} (reproduce with ${REPRO})`);
  t.diagnostic(`seed ${CONFIG.seed}`);

  // the workload and what it must end with
  const workload = smoke.generateWorkload(CONFIG.seed, { instances: CONFIG.instances, commands: CONFIG.commands });
  const want = smoke.expectationOf(workload.commands, CONFIG.instances);
  const bodies = workload.commands.map(({ c }) => Buffer.from(JSON.stringify({ c })));
  progress(`workload: ${JSON.stringify(want.stats)}, ${want.effects.size} egress ids, ${want.forbidden.size} forbidden, `
    + `${bodies.reduce((s, b) => s + b.length, 0)} bytes`);

  // the chaos plan, from its own stream of the seed
  const chaosRng = smoke.createRng(CONFIG.seed ^ 0x5eed5eed);
  const driveKills = Array.from({ length: Math.max(0, CONFIG.kills - 1) },
    () => Math.floor(CONFIG.commands * (0.05 + 0.9 * chaosRng.next()))).sort((a, b) => a - b);
  const tailKill = CONFIG.kills > 0;
  const functionKills = Array.from({ length: CONFIG.functionKills },
    () => Math.floor(CONFIG.commands * (0.2 + 0.6 * chaosRng.next()))).sort((a, b) => a - b);

  functionServer = await startFunctionServer(0);
  dataDir = h.makeTempDir('hearth-smoke-');
  moduleYaml = h.testModule({
    port: functionServer.port,
    functions: 'smoke/*',
    call: '120s',
    connect: '5s',
    egressTopics: Object.values(smoke.TOPICS),
  });
  current = await startIncarnation();

  // what the egress shows
  const seenEffects = new Set();
  const seenRaces = new Set();
  const racesAt = new Array(CONFIG.instances).fill(0);
  const verified = new Array(CONFIG.instances).fill(null); // latest verify record per instance
  const parse = (topic, text) => {
    try {
      return JSON.parse(text);
    } catch (e) {
      fatal(`undecodable record on ${topic}: ${text}`);
      return null;
    }
  };
  const drainer = createDrainer({
    [smoke.TOPICS.effects]: (text) => {
      const r = parse('effects', text);
      if (!r) return;
      if (seenEffects.has(r.rid)) fatal(`egress record ${r.rid} (from instance ${r.at}) seen twice on ${smoke.TOPICS.effects}`);
      else if (want.forbidden.has(r.rid)) fatal(`egress record ${r.rid} (from instance ${r.at}) belongs to a cancelled delayed message`);
      else if (!want.effects.has(r.rid)) fatal(`unknown egress record ${text}`);
      else if (want.effects.get(r.rid) !== r.at) fatal(`egress record ${r.rid} came from instance ${r.at}, expected ${want.effects.get(r.rid)}`);
      seenEffects.add(r.rid);
    },
    [smoke.TOPICS.races]: (text) => {
      const r = parse('races', text);
      if (!r) return;
      if (seenRaces.has(r.rid)) fatal(`race record ${r.rid} (at instance ${r.at}) seen twice`);
      else if (!want.races.has(r.rid)) fatal(`unknown race record ${text}`);
      seenRaces.add(r.rid);
      racesAt[Number(r.at)] += 1;
    },
    [smoke.TOPICS.verify]: (text) => {
      const r = parse('verify', text);
      if (!r) return;
      const i = Number(r.id);
      if (r.expected !== want.counters[i]) fatal(`verify record with a wrong expectation: ${text}`);
      if (r.actual > r.expected) fatal(`instance ${r.id} over-counted: actual ${r.actual} > expected ${r.expected} (round ${r.round})`);
      if (!verified[i] || verified[i].round <= r.round) verified[i] = r;
    },
  });

  // kills
  const chaosLog = [];
  let acked = 0;
  async function killNode(why) {
    const ackedAtKill = acked;
    await drainer.pause();
    const inc = current;
    inc.killedByTest = true;
    inc.alive = false;
    const at = Date.now();
    process.kill(inc.pid, 'SIGKILL');
    await inc.node.exited;
    await h.sleep(chaosRng.int(300));
    const next = await startIncarnation();
    current = next;
    drainer.resume();
    const entry = {
      at: elapsed(), why, acked: ackedAtKill, killedPid: inc.pid, downMs: Date.now() - at, restoreReadyMs: next.readyMs, restoredCheckpoint: next.restoredCheckpoint,
    };
    chaosLog.push(entry);
    progress(`node SIGKILL ${JSON.stringify(entry)}`);
  }
  async function killFunctions() {
    const fsrv = functionServer;
    const ackedAtKill = acked;
    fsrv.killedByTest = true;
    const at = Date.now();
    process.kill(fsrv.child.pid, 'SIGKILL');
    await h.sleep(500 + chaosRng.int(1500));
    functionServer = await startFunctionServer(fsrv.port);
    const entry = { at: elapsed(), why: 'function server', acked: ackedAtKill, killedPid: fsrv.child.pid, downMs: Date.now() - at };
    chaosLog.push(entry);
    progress(`function server SIGKILL ${JSON.stringify(entry)}`);
  }
  const nodeChaos = (async () => {
    for (const k of driveKills) {
      await waitFor(() => acked >= k, CONFIG.timeoutMs, `${k} acknowledged commands`, 10);
      await h.sleep(chaosRng.int(200));
      await killNode(`after ${k} acknowledgements`);
    }
  })();
  const functionChaos = (async () => {
    for (const k of functionKills) {
      await waitFor(() => acked >= k, CONFIG.timeoutMs, `${k} acknowledged commands`, 10);
      await h.sleep(chaosRng.int(200));
      await killFunctions();
    }
  })();
  nodeChaos.catch((e) => fatal(`node chaos: ${e.stack || e}`));
  functionChaos.catch((e) => fatal(`function chaos: ${e.stack || e}`));

  // progress while running
  const ticker = setInterval(() => {
    progress(`acked ${acked}/${CONFIG.commands}, effects ${seenEffects.size}/${want.effects.size}, races ${seenRaces.size}, `
      + `ingress ${JSON.stringify(ingressStats)}, egress ${JSON.stringify(drainer.counts)}`);
  }, 10000);
  ticker.unref();

  let driveMs = 0;
  let convergeMs = 0;
  let verifyRounds = 0;
  try {
    // drive
    const driveStart = Date.now();
    await guarded(h.runParallel(CONFIG.commands, CONFIG.concurrency, async (i) => {
      await putUntilAccepted(workload.commands[i].id, bodies[i], `smoke-${CONFIG.seed}-${i}`);
      acked += 1;
    }));
    driveMs = Date.now() - driveStart;
    progress(`drive done: ${CONFIG.commands} commands in ${driveMs} ms (${(CONFIG.commands / (driveMs / 1000)).toFixed(0)}/s)`);
    await guarded(Promise.all([nodeChaos, functionChaos]));
    if (tailKill) {
      await h.sleep(chaosRng.int(300));
      await guarded(killNode('after the last acknowledgement'));
    }

    // verify until every counter is exact
    const sendVerify = (round) => h.runParallel(CONFIG.instances, 32, (i) => putUntilAccepted(String(i),
      Buffer.from(JSON.stringify({ c: [{ t: 'verify', expected: want.counters[i], round }] })), `verify-${CONFIG.seed}-${round}-${i}`));
    const exact = () => verified.every((r, i) => r && r.actual === want.counters[i]);
    // Under-counting is tolerated while the counters still move, for at most
    // verifyTimeoutMs in all and verifyStallMs without any progress.
    const verifyStart = Date.now();
    const total = () => verified.reduce((sum, r) => sum + (r ? r.actual : 0), 0);
    let lastTotal = -1;
    let lastProgress = Date.now();
    while (!exact()) {
      if (total() !== lastTotal) {
        lastTotal = total();
        lastProgress = Date.now();
      }
      const stalled = Date.now() - lastProgress > CONFIG.verifyStallMs;
      if (stalled || Date.now() - verifyStart > CONFIG.verifyTimeoutMs) {
        const behind = verified.map((r, i) => ({ id: i, expected: want.counters[i], actual: r ? r.actual : null, round: r ? r.round : null }))
          .filter((r) => r.actual !== r.expected);
        throw new Error(`counters not exact ${stalled ? `and not moving for ${CONFIG.verifyStallMs} ms` : `after ${CONFIG.verifyTimeoutMs} ms`} `
          + `of verification (${behind.length} instances behind, ${verifyRounds} rounds): ${JSON.stringify(behind.slice(0, 20))}`);
      }
      verifyRounds += 1;
      await guarded(sendVerify(verifyRounds));
      const roundEnd = Date.now() + 2000;
      await guarded(waitFor(() => exact() || Date.now() > roundEnd, 5000, 'a verify round'));
    }
    convergeMs = Date.now() - driveStart;
    progress(`counters exact after ${verifyRounds} verify round(s), ${convergeMs} ms after the drive began`);

    // every expected egress record, once
    // (fails when no new record arrived for 60 s)
    let lastSeen = seenEffects.size;
    let lastNewRecord = Date.now();
    await guarded(waitFor(() => {
      if (seenEffects.size !== lastSeen) {
        lastSeen = seenEffects.size;
        lastNewRecord = Date.now();
      }
      if (seenEffects.size === want.effects.size) return true;
      if (Date.now() - lastNewRecord > 60000) {
        const missing = [...want.effects.keys()].filter((rid) => !seenEffects.has(rid));
        throw new Error(`no new egress record for 60 s; missing ${missing.length} of ${want.effects.size}: `
          + `${missing.slice(0, 20).map((rid) => `${rid}@${want.effects.get(rid)}`).join(', ')}`);
      }
      return false;
    }, CONFIG.timeoutMs, 'every expected egress record'));
    progress(`all ${want.effects.size} egress records seen once`);

    // races: state and records agree once everything is delivered
    const raceStart = Date.now();
    for (;;) {
      verifyRounds += 1;
      const round = verifyRounds;
      await guarded(sendVerify(round));
      await guarded(waitFor(() => verified.every((r) => r && r.round >= round), 30000, `verify round ${round}`));
      await h.sleep(500); // race records released with the verify records are popped meanwhile
      const disagree = verified.map((r, i) => ({ id: i, state: r.races, records: racesAt[i] })).filter((r) => r.state !== r.records);
      if (disagree.length === 0) break;
      progress(`verify round ${round}: races state and records disagree on ${disagree.length} instance(s), `
        + `e.g. ${JSON.stringify(disagree.slice(0, 5))}; waiting`);
      if (Date.now() - raceStart > 30000) {
        throw new Error(`races state and race records disagree: ${JSON.stringify(disagree.slice(0, 20))}`);
      }
      await h.sleep(1000);
    }
    progress(`races: ${seenRaces.size} of ${want.races.size} racing delayed messages delivered, state and records agree`);
    assert.ok(exact(), 'counters still exact');

    const dead = await h.deadLetters(current.node.admin);
    assert.deepEqual(dead, [], 'dead letters');
  } catch (e) {
    const err = failure || e;
    const dir = saveLogs();
    const msg = `${err.message}\nnode and function stderr saved in ${dir}`
      + `${failure ? '' : `\n(seed ${CONFIG.seed}; reproduce with ${REPRO})`}`
      + `\nchaos: ${JSON.stringify(chaosLog)}\ningress: ${JSON.stringify(ingressStats)}`
      + `\nlast node stderr:\n${current ? current.node.stderr().slice(-4000) : ''}`;
    throw new Error(msg);
  } finally {
    clearInterval(ticker);
    await drainer.stop();
  }

  stopping = true;
  const code = await current.node.stop('SIGTERM');
  assert.equal(code, 0, `exit code after SIGTERM\n${current.node.stderr().slice(-4000)}`);

  const totalMs = Date.now() - t0;
  const summary = {
    seed: CONFIG.seed,
    commands: CONFIG.commands,
    instances: CONFIG.instances,
    concurrency: CONFIG.concurrency,
    checkpointInterval: CONFIG.checkpointInterval,
    model: want.stats,
    egressRecords: want.effects.size,
    racesDelivered: seenRaces.size,
    racesIssued: want.races.size,
    driveMs,
    commandsPerSec: Math.round(CONFIG.commands / (driveMs / 1000)),
    convergeMs,
    messagesPerSec: Math.round(want.stats.messages / (convergeMs / 1000)),
    verifyRounds,
    ingress: ingressStats,
    egress: drainer.counts,
    chaos: chaosLog,
    incarnations: incarnations.map((i) => ({ n: i.n, pid: i.pid, readyMs: i.readyMs, restoredCheckpoint: i.restoredCheckpoint, exit: i.exit })),
    totalMs,
  };
  progress(`summary ${JSON.stringify(summary)}`);
  t.diagnostic(`summary ${JSON.stringify(summary)}`);
  if (CONFIG.report) fs.writeFileSync(CONFIG.report, `${JSON.stringify(summary, null, 2)}\n`);
});
