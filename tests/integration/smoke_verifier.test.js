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
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const h = require('./harness');
const smoke = require('../functions/smoke');
const driver = require('./smoke_driver');

const { intEnv } = driver;

const CONFIG = (() => {
  const seed = driver.seedFromEnv();
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

const putAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });

const run = driver.createRun({ tag: 'smoke', seed: CONFIG.seed, repro: REPRO });
const {
  progress, fatal, guarded, elapsed, waitFor,
} = run;

let functionServer = null; // {child, port, stderr(), killedByTest}

// ---------------------------------------------------------------------------
// the node

let moduleYaml;
let dataDir;
let current = null; // the node incarnation the driver talks to
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
    if (!inc.killedByTest && !run.stopping) {
      fatal(`hearth-node incarnation ${inc.n} (pid ${inc.pid}) exited on its own (code ${code}, signal ${signal})\n`
        + `${node.stderr().slice(-6000)}`);
    }
  });
  return inc;
}

// ---------------------------------------------------------------------------
// ingress: one command, retried with the same key until accepted, by the
// incarnation serving when it is sent

const ingressStats = driver.createIngressStats();

function currentIngress() {
  const inc = current;
  if (!inc || !inc.alive) return null;
  return { ingress: inc.node.ingress, healthy: () => inc === current && inc.alive && !inc.killedByTest };
}

const putUntilAccepted = (id, body, key) => driver.putUntilAccepted(run, { target: currentIngress, stats: ingressStats, agent: putAgent }, id, body, key);

// ---------------------------------------------------------------------------

after(async () => {
  run.stopping = true;
  await h.cleanup();
  putAgent.destroy();
  driver.killFunctionChildren();
});

function saveLogs() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hearth-smoke-${CONFIG.seed}-`));
  for (const inc of incarnations) fs.writeFileSync(path.join(dir, `node-${inc.n}-pid${inc.pid}.stderr`), inc.node.stderr());
  driver.functionLogs.forEach((f, i) => fs.writeFileSync(path.join(dir, `functions-${i}-pid${f.pid}.stderr`), f.stderr));
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

  functionServer = await driver.startFunctionServer(run, 0);
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
  const checker = driver.createEgressChecker(run, want, CONFIG.instances);
  const { seenEffects, seenRaces } = checker;
  const drainer = driver.createDrainer(run, checker.handlers, () => {
    const inc = current;
    if (!inc || !inc.alive) return null;
    return { egress: inc.node.egress, healthy: () => inc.alive && !inc.killedByTest };
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
    functionServer = await driver.startFunctionServer(run, fsrv.port);
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

    // verify until every counter is exact, then every egress record once,
    // then the races
    const sendVerify = (round) => h.runParallel(CONFIG.instances, 32, (i) => putUntilAccepted(String(i),
      Buffer.from(JSON.stringify({ c: [{ t: 'verify', expected: want.counters[i], round }] })), `verify-${CONFIG.seed}-${round}-${i}`));
    ({ verifyRounds, convergeMs } = await driver.verifyStage(run, {
      want,
      checker,
      sendVerify,
      driveStart,
      verifyTimeoutMs: CONFIG.verifyTimeoutMs,
      verifyStallMs: CONFIG.verifyStallMs,
      timeoutMs: CONFIG.timeoutMs,
    }));

    const dead = await h.deadLetters(current.node.admin);
    assert.deepEqual(dead, [], 'dead letters');
  } catch (e) {
    const err = run.failure || e;
    const dir = saveLogs();
    const msg = `${err.message}\nnode and function stderr saved in ${dir}`
      + `${run.failure ? '' : `\n(seed ${CONFIG.seed}; reproduce with ${REPRO})`}`
      + `\nchaos: ${JSON.stringify(chaosLog)}\ningress: ${JSON.stringify(ingressStats)}`
      + `\nlast node stderr:\n${current ? current.node.stderr().slice(-4000) : ''}`;
    throw new Error(msg);
  } finally {
    clearInterval(ticker);
    await drainer.stop();
  }

  run.stopping = true;
  const code = await current.node.stop('SIGTERM');
  assert.equal(code, 0, `exit code after SIGTERM\n${current.node.stderr().slice(-4000)}`);

  const totalMs = Date.now() - run.t0;
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
