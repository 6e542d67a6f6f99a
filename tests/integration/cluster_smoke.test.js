'use strict';
// The smoke verifier (smoke_verifier.test.js) on a cluster: the same seeded
// command trees (tests/functions/smoke.js) over the smoke/interpreter
// instances, sent through the ingress of every node while nodes fail, leave
// and join. Three nodes n1 (the coordinator), n2 and n3, each with its own
// data dir, one shared checkpoint dir, and the smoke function server as a
// child process.
//
// The driver sends each command tree under its own Idempotency-Key to a node
// chosen round-robin among the nodes up, and retries it with the same key on
// that same node until it is accepted: a key is known only to the node whose
// log took it, so the same key on another node would be a second message.
// While a node is down, its commands wait for it to come back. The driver is
// paced (SMOKE_RATE) so that it runs through the whole chaos schedule, and it
// does not run more than a share of the workload ahead of the schedule.
//
// The chaos schedule, one phase after the other while the driver runs, each
// phase ending when every member runs one epoch again:
//   1. SIGKILL a random node (the coordinator may be drawn), restarted at once
//      on its data dir (SMOKE_KILLS times);
//   2. SIGKILL the coordinator n1, restarted on its data dir;
//   3. SIGKILL n2 or n3 and keep it down SMOKE_DOWN_MS (10 s): the others
//      must keep accepting commands meanwhile, and apply messages for every
//      address (a verify probe to every instance, sent through the others,
//      comes back on the egress before the node is restarted);
//   4. n4 joins the running cluster;
//   5. n2 or n3 is drained with `hearth cluster drain` (the CLI exits 0, the
//      node exits 0 by itself once its log is covered);
//   6. a member other than the coordinator is frozen with SIGSTOP until the
//      coordinator has declared it gone (SMOKE_FREEZE_MS at least, beyond
//      cluster.node_timeout), then continued: it finds itself fenced and
//      rejoins as a newer incarnation; what it acknowledged and no checkpoint
//      covered is applied once it is back.
// Then, as in the single-node test: verify commands to every instance until
// every counter is exact (over-counting fails at once), every expected record
// of smoke-effects popped exactly once, racing delayed messages at most once
// and each instance's `races` state equal to its race records, no dead
// letters on any node, and every node exits 0 on SIGTERM.
//
// One request in flight per address: the function server records every pair
// of requests for one address that were in flight together. A frozen node
// that thaws may still call functions until it learns it is fenced, so pairs
// within a freeze and until the next running epoch after it are allowed;
// any other fails the test.
//
// Egress is popped from every node up, round-robin. A pop through one node
// may take the record from another node's store, so pops are stopped (and
// those in flight awaited) before a node is killed, frozen or drained: a
// record popped by a request whose answer the kill cuts off would be lost to
// the test. They go on from the other nodes meanwhile.
//
// Environment (defaults in brackets):
//   SMOKE_SEED           workload and chaos seed [random; printed]
//   SMOKE_COMMANDS       root command trees [6000]
//   SMOKE_INSTANCES      instances [64]
//   SMOKE_KILLS          SIGKILLs of a random node, each restarted at once [1]
//   SMOKE_CONCURRENCY    ingress requests in flight at most [64]
//   SMOKE_RATE           commands sent per second at most, 0: unpaced [100]
//   SMOKE_DOWN_MS        how long the node kept down stays down, at least [10000]
//   SMOKE_FREEZE_MS      how long the frozen node stays stopped, at least [6000]
//   SMOKE_CHECKPOINT_INTERVAL  [300ms]
//   SMOKE_TIMEOUT_MS     whole test [270000]
//   SMOKE_REPORT         file to write the run's summary to (JSON)
// On failure every node's and the function server's stderr are written under
// /tmp/cluster-smoke-logs/.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const h = require('./harness');
const smoke = require('../functions/smoke');
const driver = require('./smoke_driver');

const { intEnv } = driver;

const CONFIG = (() => {
  const seed = driver.seedFromEnv();
  return {
    seed,
    commands: intEnv('SMOKE_COMMANDS', 6000),
    instances: intEnv('SMOKE_INSTANCES', 64),
    kills: intEnv('SMOKE_KILLS', 1),
    concurrency: Math.max(1, intEnv('SMOKE_CONCURRENCY', 64)),
    rate: intEnv('SMOKE_RATE', 100),
    downMs: intEnv('SMOKE_DOWN_MS', 10000),
    freezeMs: intEnv('SMOKE_FREEZE_MS', 6000),
    checkpointInterval: process.env.SMOKE_CHECKPOINT_INTERVAL || '300ms',
    timeoutMs: intEnv('SMOKE_TIMEOUT_MS', 270000),
    verifyTimeoutMs: 90000,
    verifyStallMs: 30000,
    effectsStallMs: 30000,
    report: process.env.SMOKE_REPORT || '',
  };
})();

const REPRO = `SMOKE_SEED=${CONFIG.seed} SMOKE_COMMANDS=${CONFIG.commands} SMOKE_INSTANCES=${CONFIG.instances} `
  + `SMOKE_KILLS=${CONFIG.kills} SMOKE_CONCURRENCY=${CONFIG.concurrency} SMOKE_RATE=${CONFIG.rate} `
  + `SMOKE_DOWN_MS=${CONFIG.downMs} SMOKE_FREEZE_MS=${CONFIG.freezeMs} SMOKE_CHECKPOINT_INTERVAL=${CONFIG.checkpointInterval}`;

// cluster.node_timeout is 4 s: the freeze must outlast it.
const CLUSTER_SETTINGS = ['--set', 'cluster.heartbeat=500ms', '--set', 'cluster.node_timeout=4s',
  '--set', `checkpoint.interval=${CONFIG.checkpointInterval}`];
const RUNNING_TIMEOUT_MS = 90000;
const LOG_ROOT = '/tmp/cluster-smoke-logs';
const CLI = path.resolve(process.env.HEARTH_CLI || path.join(h.REPO_ROOT, 'build', 'bin', 'hearth'));

const putAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });

const run = driver.createRun({ tag: 'cluster-smoke', seed: CONFIG.seed, repro: REPRO });
const {
  progress, fatal, guarded, elapsed, waitFor,
} = run;

function cli(admin, ...args) {
  return new Promise((resolve) => {
    execFile(CLI, ['--node', admin, ...args], { timeout: 120000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

async function getJson(url) {
  const res = await driver.httpRequest(url, { timeoutMs: 10000 });
  return { status: res.status, json: JSON.parse(res.text) };
}

// ---------------------------------------------------------------------------
// the nodes

let moduleYaml;
let sharedDir;
let functionServer = null;
// id -> {id, dataDir, inc (the running process), status}; status is 'up'
// (takes new commands and pops), 'down' (killed), 'frozen', 'draining' or
// 'gone' (drained and exited). `pending`: commands whose key this node holds
// or may hold, not yet acknowledged.
const members = {};
const incarnations = []; // every process started, in order

function member(id) {
  if (!members[id]) {
    members[id] = {
      id, dataDir: h.makeTempDir(`hearth-cs-${id}-`), inc: null, status: 'down', pending: 0, acked: 0,
    };
  }
  return members[id];
}

// Ids of the nodes the test keeps in the cluster (not drained), and of those
// of them whose process runs (not killed, not frozen).
const memberIds = () => Object.values(members).filter((m) => m.status !== 'gone').map((m) => m.id).sort();
const runningIds = () => Object.values(members).filter((m) => m.status === 'up' || m.status === 'draining')
  .map((m) => m.id).sort();
const upIds = () => Object.values(members).filter((m) => m.status === 'up' && m.inc && m.inc.alive).map((m) => m.id).sort();

async function startMember(id, join) {
  const m = member(id);
  const args = ['--checkpoint-dir', sharedDir, '--cluster-port', '0', '--node-id', id, ...CLUSTER_SETTINGS];
  if (join) args.push('--join', join);
  const started = Date.now();
  const node = await h.startNode({ module: moduleYaml, args, dataDir: m.dataDir });
  const inc = {
    id, n: incarnations.length, node, pid: node.pid, alive: true, killedByTest: false, leaving: false, readyMs: Date.now() - started,
  };
  incarnations.push(inc);
  node.exited.then(({ code, signal }) => {
    inc.alive = false;
    inc.exit = { code, signal };
    if (!inc.killedByTest && !inc.leaving && !run.stopping) {
      fatal(`${id} (pid ${inc.pid}) exited on its own (code ${code}, signal ${signal})\n${node.stderr().slice(-6000)}`);
    }
  });
  m.inc = inc;
  m.status = 'up';
  return inc;
}

// Resolves with the epoch once every node running holds one view with
// exactly those nodes as members, at one epoch, and runs its pipeline.
async function running(what) {
  let last;
  const ids = runningIds();
  await guarded(h.poll(async () => {
    const views = await Promise.all(ids.map(async (id) => {
      const { admin } = members[id].inc.node;
      const [c, health] = await Promise.all([getJson(`${admin}/cluster`), getJson(`${admin}/health`)]);
      return {
        id, epoch: c.json.epoch, members: c.json.members.map((x) => x.id), pipeline: health.json.pipeline,
      };
    }));
    last = views;
    return new Set(views.map((v) => v.epoch)).size === 1
      && views.every((v) => v.pipeline === 'running' && JSON.stringify(v.members) === JSON.stringify(ids));
  }, RUNNING_TIMEOUT_MS, () => `a running epoch of ${ids.join(', ')} ${what} (last: ${JSON.stringify(last)})`, 100));
  return last[0].epoch;
}

async function clusterView(id) {
  return (await getJson(`${members[id].inc.node.admin}/cluster`)).json;
}

// ---------------------------------------------------------------------------
// ingress: round-robin over the nodes up, then pinned to the node chosen

const ingressStats = driver.createIngressStats();
let nextIngress = 0;

// Sends one command under `key` to a node up, chosen round-robin, and then
// until it is accepted always to that node (whichever process of it runs).
// The node counts the command as pending from its choice on, so that a
// phase that takes a node out sees every command that may reach it.
async function sendAnywhere(id, body, key) {
  let m;
  for (;;) {
    if (run.failure) throw run.failure;
    const ids = upIds();
    if (ids.length > 0) {
      m = members[ids[nextIngress++ % ids.length]];
      m.pending += 1;
      break;
    }
    await h.sleep(50);
  }
  const target = () => {
    const { inc } = m;
    if (!inc || !inc.alive) return null;
    return { ingress: inc.node.ingress, healthy: () => m.inc === inc && inc.alive && !inc.killedByTest && m.status === 'up' };
  };
  try {
    await driver.putUntilAccepted(run, { target, stats: ingressStats, agent: putAgent }, id, body, key);
  } finally {
    m.pending -= 1;
  }
  m.acked += 1;
}

// ---------------------------------------------------------------------------

after(async () => {
  run.stopping = true;
  for (const m of Object.values(members)) {
    if (m.status === 'frozen' && m.inc && m.inc.alive) {
      try {
        process.kill(m.inc.pid, 'SIGCONT');
      } catch (e) {
        // gone
      }
    }
  }
  await h.cleanup();
  putAgent.destroy();
  driver.killFunctionChildren();
});

let lastStats = null;

function saveLogs(extra) {
  fs.mkdirSync(LOG_ROOT, { recursive: true });
  const dir = fs.mkdtempSync(path.join(LOG_ROOT, `${CONFIG.seed}-`));
  for (const inc of incarnations) fs.writeFileSync(path.join(dir, `${inc.id}-${inc.n}-pid${inc.pid}.stderr`), inc.node.stderr());
  driver.functionLogs.forEach((f, i) => fs.writeFileSync(path.join(dir, `functions-${i}-pid${f.pid}.stderr`), f.stderr));
  if (functionServer) fs.writeFileSync(path.join(dir, 'functions-current.stderr'), functionServer.stderr());
  if (lastStats) fs.writeFileSync(path.join(dir, 'function-stats.json'), JSON.stringify(lastStats, null, 1));
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(extra, null, 1));
  return dir;
}

test(`cluster smoke: ${CONFIG.commands} command trees over ${CONFIG.instances} instances on 3-4 nodes, `
  + 'kills, a node down, a join, a drain and a freeze: exactly-once state and egress', { timeout: CONFIG.timeoutMs }, async (t) => {
  progress(`seed ${CONFIG.seed} (reproduce with ${REPRO})`);
  t.diagnostic(`seed ${CONFIG.seed}`);

  // the workload and what it must end with
  const workload = smoke.generateWorkload(CONFIG.seed, { instances: CONFIG.instances, commands: CONFIG.commands });
  const want = smoke.expectationOf(workload.commands, CONFIG.instances);
  const bodies = workload.commands.map(({ c }) => Buffer.from(JSON.stringify({ c })));
  progress(`workload: ${JSON.stringify(want.stats)}, ${want.effects.size} egress ids, ${want.forbidden.size} forbidden`);

  functionServer = await driver.startFunctionServer(run, 0);
  sharedDir = h.makeTempDir('hearth-cs-shared-');
  moduleYaml = h.testModule({
    port: functionServer.port,
    functions: 'smoke/*',
    call: '120s',
    connect: '5s',
    egressTopics: Object.values(smoke.TOPICS),
  });
  await startMember('n1');
  await startMember('n2', members.n1.inc.node.cluster);
  await startMember('n3', members.n2.inc.node.cluster);
  await running('at the start');
  progress('n1, n2, n3 run one epoch');

  // what the egress shows; probes are verify commands of negative rounds
  const probes = new Map(); // round -> Set of instances that answered
  const checker = driver.createEgressChecker(run, want, CONFIG.instances, {
    onProbe: (r) => {
      if (!probes.has(r.round)) probes.set(r.round, new Set());
      probes.get(r.round).add(Number(r.id));
    },
  });
  const { seenEffects, seenRaces } = checker;
  let nextEgress = 0;
  const drainer = driver.createDrainer(run, checker.handlers, () => {
    const ids = upIds();
    if (ids.length === 0) return null;
    const m = members[ids[nextEgress++ % ids.length]];
    const { inc } = m;
    return { egress: inc.node.egress, healthy: () => m.inc === inc && inc.alive && m.status === 'up' };
  });

  // -------------------------------------------------------------------------
  // chaos

  const chaosRng = smoke.createRng(CONFIG.seed ^ 0x5eed5eed);
  const chaosLog = [];
  const frozenWindows = []; // [from, to] in ms since the epoch: overlaps allowed
  let acked = 0;
  const log = (entry) => {
    chaosLog.push({ at: elapsed(), acked, ...entry });
    progress(`chaos ${JSON.stringify(entry)}`);
  };

  // Stops popping (awaiting pops in flight), changes what `pick` sees, goes on.
  async function withoutPops(change) {
    await drainer.pause();
    try {
      return await change();
    } finally {
      drainer.resume();
    }
  }

  async function kill(id) {
    const m = members[id];
    const { inc } = m;
    await withoutPops(async () => {
      m.status = 'down';
      inc.killedByTest = true;
      process.kill(inc.pid, 'SIGKILL');
      await inc.node.exited;
    });
    return inc;
  }

  async function restart(id) {
    const join = id === 'n1' ? undefined : members.n1.inc.node.cluster;
    return startMember(id, join);
  }

  async function killAndRestart(id, why) {
    const at = Date.now();
    const old = await kill(id);
    await h.sleep(chaosRng.int(300));
    const inc = await restart(id);
    const epoch = await running(`after ${id} was restarted`);
    log({
      phase: why, node: id, killedPid: old.pid, pid: inc.pid, readyMs: inc.readyMs, epoch, untilRunningMs: Date.now() - at,
    });
  }

  async function downWhileOthersWork(id) {
    const at = Date.now();
    const others = upIds().filter((x) => x !== id);
    const ackedAtKill = Object.fromEntries(others.map((x) => [x, members[x].acked]));
    const appliedAtKill = seenEffects.size;
    const old = await kill(id);
    const epochWithout = await running(`without ${id}`);
    // A verify probe to every instance through the others: each answers on
    // the egress only once its message is applied and a checkpoint of the
    // cluster without `id` has completed.
    const round = -1;
    await guarded(h.runParallel(CONFIG.instances, 16, (i) => sendAnywhere(String(i),
      Buffer.from(JSON.stringify({ c: [{ t: 'verify', expected: want.counters[i], round }] })), `probe-${CONFIG.seed}-${-round}-${i}`)));
    await waitFor(() => probes.has(round) && probes.get(round).size === CONFIG.instances, 60000,
      () => `probe answers from every instance while ${id} is down (${probes.has(round) ? probes.get(round).size : 0} of ${CONFIG.instances})`);
    const probedMs = Date.now() - at;
    await waitFor(() => Date.now() - at >= CONFIG.downMs, CONFIG.downMs + 1000, `${CONFIG.downMs} ms down`);
    const acceptedMeanwhile = Object.fromEntries(others.map((x) => [x, members[x].acked - ackedAtKill[x]]));
    const appliedMeanwhile = seenEffects.size - appliedAtKill;
    for (const x of others) assert.ok(acceptedMeanwhile[x] > 0, `commands accepted by ${x} while ${id} was down: ${JSON.stringify(acceptedMeanwhile)}`);
    const inc = await restart(id);
    const epoch = await running(`after ${id} came back`);
    log({
      phase: 'down', node: id, killedPid: old.pid, pid: inc.pid, downMs: Date.now() - at, epochWithout, probedMs, acceptedMeanwhile, appliedMeanwhile, epoch,
    });
  }

  async function join(id) {
    const at = Date.now();
    const via = members[upIds().filter((x) => x !== 'n1')[0] || 'n1'];
    const inc = await startMember(id, via.inc.node.cluster);
    const epoch = await running(`after ${id} joined`);
    log({
      phase: 'join', node: id, via: via.id, pid: inc.pid, epoch, untilRunningMs: Date.now() - at,
    });
  }

  async function drain(id) {
    const at = Date.now();
    const m = members[id];
    const { inc } = m;
    // No new commands to it, and no pops through it: it leaves by itself.
    await withoutPops(async () => {
      m.status = 'draining';
    });
    await waitFor(() => m.pending === 0, 60000, () => `the ${m.pending} commands pinned to ${id} to be accepted`);
    inc.leaving = true;
    const drained = await cli(members.n1.inc.node.admin, 'cluster', 'drain', id);
    assert.equal(drained.code, 0, `hearth cluster drain ${id}: ${drained.stderr}`);
    assert.match(drained.stdout, new RegExp(`^draining ${id} \\(epoch \\d+\\)`));
    const exit = await guarded(h.withTimeout(inc.node.exited, 120000));
    assert.deepEqual(exit, { code: 0, signal: null }, `${id} exits 0 once drained\n${inc.node.stderr().slice(-4000)}`);
    m.status = 'gone';
    const epoch = await running(`after ${id} was drained`);
    log({
      phase: 'drain', node: id, pid: inc.pid, exitedAfterMs: Date.now() - at, epoch,
    });
  }

  async function freeze(id) {
    const m = members[id];
    const { inc } = m;
    const before = (await clusterView('n1')).members.find((x) => x.id === id);
    const window = [0, Infinity]; // until the next running epoch after SIGCONT
    await withoutPops(async () => {
      m.status = 'frozen';
      window[0] = Date.now();
      frozenWindows.push(window);
      await h.freeze(inc.pid);
    });
    const at = window[0];
    // Stopped at least freezeMs, and until the coordinator has declared it gone.
    let goneAfterMs = null;
    await guarded(h.poll(async () => {
      if (goneAfterMs === null && !(await clusterView('n1')).members.some((x) => x.id === id)) goneAfterMs = Date.now() - at;
      return goneAfterMs !== null && Date.now() - at >= CONFIG.freezeMs;
    }, CONFIG.freezeMs + 30000, `the coordinator to declare the frozen ${id} gone`, 200));
    process.kill(inc.pid, 'SIGCONT');
    const frozenMs = Date.now() - at;
    m.status = 'up';
    const epoch = await running(`after ${id} was continued`);
    window[1] = Date.now();
    const afterThaw = (await clusterView('n1')).members.find((x) => x.id === id);
    assert.ok(afterThaw.incarnation > before.incarnation,
      `${id} rejoined as a newer incarnation (before ${before.incarnation}, after ${afterThaw.incarnation})`);
    log({
      phase: 'freeze', node: id, pid: inc.pid, frozenMs, goneAfterMs, incarnations: [before.incarnation, afterThaw.incarnation], epoch, graceMs: window[1] - at - frozenMs,
    });
  }

  const pickOne = (ids) => ids[chaosRng.int(ids.length)];
  const phases = [];
  for (let k = 0; k < CONFIG.kills; k++) phases.push({ name: `random kill ${k + 1}`, run: () => killAndRestart(pickOne(memberIds()), 'random kill') });
  phases.push({ name: 'coordinator kill', run: () => killAndRestart('n1', 'coordinator kill') });
  phases.push({ name: 'down', run: () => downWhileOthersWork(pickOne(['n2', 'n3'])) });
  phases.push({ name: 'join', run: () => join('n4') });
  phases.push({ name: 'drain', run: () => drain(pickOne(['n2', 'n3'])) });
  phases.push({ name: 'freeze', run: () => freeze(pickOne(memberIds().filter((x) => x !== 'n1'))) });

  // Phase p starts once starts[p] commands are acknowledged; the driver does
  // not start command starts[p + 1] (or 90% of them after the last phase)
  // before phase p has ended, so that every phase runs while commands flow.
  const starts = phases.map((_, p) => Math.floor(CONFIG.commands * (0.04 + (0.68 * p) / Math.max(1, phases.length - 1))));
  let phasesDone = 0;
  const driveLimit = () => (phasesDone + 1 < phases.length ? starts[phasesDone + 1]
    : phasesDone + 1 === phases.length ? Math.floor(CONFIG.commands * 0.9) : CONFIG.commands);
  const chaos = (async () => {
    for (let p = 0; p < phases.length; p++) {
      await waitFor(() => acked >= starts[p], CONFIG.timeoutMs, `${starts[p]} acknowledged commands`, 20);
      await h.sleep(chaosRng.int(200));
      progress(`phase ${phases[p].name}`);
      await phases[p].run();
      phasesDone = p + 1;
    }
  })();
  chaos.catch((e) => fatal(`chaos: ${e.stack || e}`));

  const ticker = setInterval(() => {
    progress(`acked ${acked}/${CONFIG.commands}, effects ${seenEffects.size}/${want.effects.size}, races ${seenRaces.size}, `
      + `nodes ${JSON.stringify(Object.values(members).map((m) => `${m.id}:${m.status}:${m.pending}`))}, `
      + `ingress ${JSON.stringify(ingressStats)}, egress ${JSON.stringify(drainer.counts)}`);
  }, 10000);
  ticker.unref();

  let driveMs = 0;
  let convergeMs = 0;
  let verifyRounds = 0;
  let overlaps = null;
  const runInfo = () => ({
    seed: CONFIG.seed, repro: REPRO, chaos: chaosLog, frozenWindows, ingress: ingressStats, egress: drainer.counts, acked,
  });
  try {
    // drive
    const driveStart = Date.now();
    let nextSlot = 0;
    await guarded(h.runParallel(CONFIG.commands, CONFIG.concurrency, async (i) => {
      if (i >= driveLimit()) await waitFor(() => i < driveLimit(), CONFIG.timeoutMs, `the chaos phase before command ${i}`, 20);
      if (CONFIG.rate > 0) {
        const now = Date.now();
        const slot = Math.max(now, nextSlot);
        nextSlot = slot + 1000 / CONFIG.rate;
        if (slot > now) await h.sleep(slot - now);
      }
      await sendAnywhere(workload.commands[i].id, bodies[i], `csmoke-${CONFIG.seed}-${i}`);
      acked += 1;
    }));
    driveMs = Date.now() - driveStart;
    progress(`drive done: ${CONFIG.commands} commands in ${driveMs} ms; acknowledged by `
      + `${JSON.stringify(Object.fromEntries(Object.values(members).map((m) => [m.id, m.acked])))}`);
    await guarded(chaos);

    // verify until every counter is exact, then every egress record once,
    // then the races
    const sendVerify = (round) => h.runParallel(CONFIG.instances, 32, (i) => sendAnywhere(String(i),
      Buffer.from(JSON.stringify({ c: [{ t: 'verify', expected: want.counters[i], round }] })), `cverify-${CONFIG.seed}-${round}-${i}`));
    ({ verifyRounds, convergeMs } = await driver.verifyStage(run, {
      want,
      checker,
      sendVerify,
      driveStart,
      verifyTimeoutMs: CONFIG.verifyTimeoutMs,
      verifyStallMs: CONFIG.verifyStallMs,
      effectsStallMs: CONFIG.effectsStallMs,
      timeoutMs: CONFIG.timeoutMs,
    }));

    for (const id of memberIds()) {
      const dead = await h.deadLetters(members[id].inc.node.admin);
      assert.deepEqual(dead, [], `dead letters on ${id}`);
    }

    // one request in flight per address, but within a freeze and its grace
    lastStats = await driver.functionStats(functionServer);
    const excused = (o) => frozenWindows.some(([from, to]) => o.from <= to && o.to >= from);
    overlaps = {
      total: lastStats.overlapCount,
      excused: lastStats.overlaps.filter(excused).length,
      maxInflight: Math.max(0, ...Object.values(lastStats.maxInflightByAddress)),
      requests: lastStats.requests,
    };
    const outside = lastStats.overlaps.filter((o) => !excused(o));
    assert.ok(lastStats.overlaps.length === lastStats.overlapCount, `more overlaps than listed: ${lastStats.overlapCount}`);
    assert.deepEqual(outside.map((o) => ({
      address: o.address, from: new Date(o.from).toISOString(), to: new Date(o.to).toISOString(),
    })), [], `two requests in flight for one address outside a freeze (freezes: ${JSON.stringify(frozenWindows.map(
      ([a, b]) => [new Date(a).toISOString(), new Date(b).toISOString()]))})`);

    // every node stops on SIGTERM with exit 0 (all at once)
    await drainer.stop();
    run.stopping = true;
    const live = memberIds().map((id) => members[id]);
    const stops = await Promise.allSettled(live.map((m) => m.inc.node.stop('SIGTERM')));
    const exits = Object.fromEntries(live.map((m, i) => [m.id,
      stops[i].status === 'fulfilled' ? stops[i].value : `no exit within 30 s of SIGTERM (pid ${m.inc.pid}), SIGKILLed`]));
    progress(`exits after SIGTERM: ${JSON.stringify(exits)}`);
    assert.deepEqual(exits, Object.fromEntries(live.map((m) => [m.id, 0])), 'every node exits 0 on SIGTERM');
  } catch (e) {
    const err = run.failure || e;
    if (!lastStats) lastStats = await driver.functionStats(functionServer).catch(() => null);
    const dir = saveLogs(runInfo());
    const msg = `${err.message}\nnode and function stderr saved in ${dir}`
      + `${run.failure ? '' : `\n(seed ${CONFIG.seed}; reproduce with ${REPRO})`}`
      + `\nchaos: ${JSON.stringify(chaosLog)}\ningress: ${JSON.stringify(ingressStats)}`;
    throw new Error(msg);
  } finally {
    clearInterval(ticker);
    await drainer.stop();
  }

  const summary = {
    seed: CONFIG.seed,
    commands: CONFIG.commands,
    instances: CONFIG.instances,
    rate: CONFIG.rate,
    model: want.stats,
    egressRecords: want.effects.size,
    racesDelivered: seenRaces.size,
    racesIssued: want.races.size,
    driveMs,
    convergeMs,
    verifyRounds,
    ackedBy: Object.fromEntries(Object.values(members).map((m) => [m.id, m.acked])),
    ingress: ingressStats,
    egress: drainer.counts,
    overlaps,
    chaos: chaosLog,
    incarnations: incarnations.map((i) => ({
      id: i.id, n: i.n, pid: i.pid, readyMs: i.readyMs, exit: i.exit,
    })),
    totalMs: Date.now() - run.t0,
  };
  progress(`summary ${JSON.stringify(summary)}`);
  t.diagnostic(`summary ${JSON.stringify(summary)}`);
  if (CONFIG.report) fs.writeFileSync(CONFIG.report, `${JSON.stringify(summary, null, 2)}\n`);
});
