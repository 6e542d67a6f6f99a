'use strict';
// Integration-test harness: runs the real `hearth-node` binary as a child
// process and talks to it over its ingress, egress and admin HTTP ports.
//
// The binary is taken from $HEARTH_NODE (ctest sets it), otherwise from
// <repo>/build/bin/hearth-node. Every node started here is killed when the
// test process ends, and the temporary directories made here are removed.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { StateFun } = require('apache-flink-statefun');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const READY_TIMEOUT_MS = 30000;
const STOP_TIMEOUT_MS = 30000;
const STDERR_LIMIT = 4 * 1024 * 1024;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Resolves with the promise's value, or with 'timeout' after ms; the timer
// never keeps the process alive.
function withTimeout(promise, ms) {
  let timer;
  const expired = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

function nodeBinary() {
  const bin = path.resolve(process.env.HEARTH_NODE || path.join(REPO_ROOT, 'build', 'bin', 'hearth-node'));
  if (!fs.existsSync(bin)) {
    throw new Error(`hearth-node binary not found at ${bin} (build it, or set HEARTH_NODE)`);
  }
  return bin;
}

// ---------------------------------------------------------------------------
// temporary directories and process bookkeeping

const tempDirs = new Set();
const liveNodes = new Set();

function makeTempDir(prefix = 'hearth-it-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

function killLiveNodesNow() {
  for (const child of liveNodes) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch (e) {
      // already gone
    }
  }
  liveNodes.clear();
}

function removeTempDirs() {
  if (process.env.HEARTH_KEEP_TMP) return;
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

process.on('exit', () => {
  killLiveNodesNow();
  removeTempDirs();
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killLiveNodesNow();
    removeTempDirs();
    process.exit(128 + os.constants.signals[signal]);
  });
}

// Stops every node this process started (SIGKILL after a grace period) and
// removes the temporary directories. Use as the `after` hook of a test file.
async function cleanup() {
  await Promise.all([...liveNodes].map(async (child) => {
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch (e) {
      return;
    }
    const exited = exitPromise(child);
    const result = await withTimeout(exited, STOP_TIMEOUT_MS);
    if (result === 'timeout') {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch (e) {
        // gone
      }
      await exited;
    }
  }));
  killLiveNodesNow();
  removeTempDirs();
}

// The shopping-cart example's module.yaml with its functions at
// 127.0.0.1:<functionsPort> and its ingress and egress on free ports.
function shoppingCartModule(functionsPort) {
  const original = fs.readFileSync(path.join(REPO_ROOT, 'examples', 'shopping-cart', 'module.yaml'), 'utf8');
  const moved = original
    .replace('http://127.0.0.1:8000/', `http://127.0.0.1:${functionsPort}/`)
    .replace('port: 8090', 'port: 0')
    .replace('port: 8091', 'port: 0');
  if (!moved.includes(`127.0.0.1:${functionsPort}/{function.name}`) || moved.includes('8090') || moved.includes('8091')) {
    throw new Error('the shopping cart module.yaml changed: its endpoint or ports were not found');
  }
  return moved;
}

// ---------------------------------------------------------------------------
// spawning

function exitPromise(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

function collect(stream, limit) {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    text += chunk;
    if (text.length > limit) text = text.slice(text.length - limit);
  });
  return () => text;
}

function spawnNode({ module, moduleName = 'module.yaml', args = [], dataDir, adminPort = 0, env }) {
  const dir = makeTempDir();
  const moduleFile = path.join(dir, moduleName);
  fs.writeFileSync(moduleFile, module);
  const data = dataDir || path.join(dir, 'data');
  const argv = ['--module', moduleFile, '--data-dir', data];
  if (adminPort !== null) argv.push('--admin-port', String(adminPort));
  argv.push(...args);
  // HEARTH_NODE_ARGS: more arguments for every node a test starts (for
  // example `--set scheduler.threads=1`), to run a suite in another setting.
  if (process.env.HEARTH_NODE_ARGS) argv.push(...process.env.HEARTH_NODE_ARGS.split(/\s+/).filter(Boolean));
  const child = spawn(nodeBinary(), argv, {
    stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, env: env ? { ...process.env, ...env } : process.env,
  });
  const stderr = collect(child.stderr, STDERR_LIMIT);
  const stdout = collect(child.stdout, STDERR_LIMIT);
  const exited = exitPromise(child);
  liveNodes.add(child);
  exited.then(() => liveNodes.delete(child));
  return { child, moduleFile, dataDir: data, argv, stderr, stdout, exited };
}

const READY_RE = /hearth-node ready((?: \w+=\S+)+)[ \t]*\r?\n/;

function parseReady(line) {
  const m = READY_RE.exec(line);
  if (!m) return null;
  const urls = {};
  for (const field of m[1].trim().split(/\s+/)) {
    const [name, hostPort] = field.split('=');
    const i = hostPort.lastIndexOf(':');
    if (i < 0) {
      urls[name] = hostPort; // a name (node=...), not an address
      continue;
    }
    let host = hostPort.slice(0, i);
    const port = Number(hostPort.slice(i + 1));
    if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
    urls[name] = `http://${host}:${port}`;
  }
  return urls;
}

// Starts a node on a module given as YAML text and waits for its ready line.
//
// options: module (YAML string), moduleName (file name, default module.yaml),
//          args (extra CLI args, e.g. ['--set', 'partitions=2']),
//          dataDir (default: a fresh temporary directory).
// Returns {ingress, egress, admin (base URLs or undefined), proc, pid,
//          moduleFile, dataDir, stderr(), stop(signal='SIGTERM') -> exit code}.
async function startNode(options) {
  const s = spawnNode(options);
  const { child } = s;

  const node = {
    proc: child,
    pid: child.pid,
    moduleFile: s.moduleFile,
    dataDir: s.dataDir,
    stderr: s.stderr,
    stdout: s.stdout,
    exited: s.exited,
    // Sends `signal` to the node and resolves with its exit code (or the
    // name of the signal that killed it). SIGKILLs it if it does not exit
    // within the stop timeout, and then rejects.
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, signal);
        } catch (e) {
          // exited meanwhile
        }
      }
      const result = await withTimeout(s.exited, STOP_TIMEOUT_MS);
      if (result === 'timeout') {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch (e) {
          // gone
        }
        await s.exited;
        throw new Error(`hearth-node did not exit within ${STOP_TIMEOUT_MS} ms of ${signal}\n${tail(s.stderr())}`);
      }
      return result.code !== null ? result.code : result.signal;
    },
  };

  const ready = await new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk) => {
      buffer += chunk;
      const urls = parseReady(buffer);
      if (urls) {
        finish();
        resolve(urls);
      }
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`hearth-node printed no ready line within ${READY_TIMEOUT_MS} ms\n${tail(s.stderr())}`));
    }, READY_TIMEOUT_MS);
    s.exited.then(({ code, signal }) => {
      finish();
      reject(new Error(`hearth-node exited before it was ready (code ${code}, signal ${signal})\n${tail(s.stderr())}`));
    });
    let done = false;
    function finish() {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.stderr.removeListener('data', onData);
    }
    child.stderr.on('data', onData);
  }).catch(async (err) => {
    await node.stop('SIGKILL').catch(() => {});
    throw err;
  });

  node.ingress = ready.ingress;
  node.egress = ready.egress;
  node.admin = ready.admin;
  // A cluster member: its agent's HOST:PORT and its node id.
  if (ready.cluster) node.cluster = ready.cluster.replace(/^http:\/\//, '');
  node.nodeId = ready.node;
  return node;
}

// Runs a node that is expected to exit by itself (e.g. on a bad module).
// Resolves with {code, signal, stderr, moduleFile}; kills it and resolves
// with code 'timeout' if it is still running after timeoutMs.
async function runNode(options, timeoutMs = 30000) {
  const s = spawnNode(options);
  const result = await withTimeout(s.exited, timeoutMs);
  if (result === 'timeout') {
    try {
      process.kill(s.child.pid, 'SIGKILL');
    } catch (e) {
      // gone
    }
    await s.exited;
    return { code: 'timeout', signal: null, stderr: s.stderr(), moduleFile: s.moduleFile };
  }
  return { code: result.code, signal: result.signal, stderr: s.stderr(), moduleFile: s.moduleFile };
}

function tail(text, n = 4000) {
  return text.length > n ? `...${text.slice(text.length - n)}` : text;
}

// ---------------------------------------------------------------------------
// module.yaml

// A module for the test functions served at 127.0.0.1:<port>, with a
// playground ingress and (when topics are given) egress on free ports.
// maxNumBatchRequests is written only when given.
function testModule({
  port, functions = 'test/*', call = '60s', connect = '5s', egressTopics = [], ingress = true, maxNumBatchRequests,
}) {
  const docs = [
    [
      'kind: io.statefun.endpoints.v2/http',
      'spec:',
      `  functions: ${functions}`,
      `  urlPathTemplate: http://127.0.0.1:${port}/{function.name}`,
      ...(maxNumBatchRequests === undefined ? [] : [`  maxNumBatchRequests: ${maxNumBatchRequests}`]),
      '  transport:',
      '    type: io.statefun.transports.v1/async',
      `    call: ${call}`,
      `    connect: ${connect}`,
    ].join('\n'),
  ];
  if (ingress) {
    docs.push(['kind: io.statefun.playground.v1/ingress', 'spec:', '  port: 0'].join('\n'));
  }
  if (egressTopics.length > 0) {
    docs.push([
      'kind: io.statefun.playground.v1/egress',
      'spec:',
      '  port: 0',
      `  topics: [${egressTopics.join(', ')}]`,
    ].join('\n'));
  }
  return `${docs.join('\n---\n')}\n`;
}

// ---------------------------------------------------------------------------
// HTTP helpers

async function request(url, init = {}) {
  const res = await fetch(url, init);
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, bytes, text, json };
}

const STRING_TYPENAME = 'io.statefun.types/string';

// Encodes a message value the way StateFun SDKs read it:
//  - Buffer: raw bytes;
//  - string with the StateFun string type: the SDKs' string wrapper encoding;
//  - other string: UTF-8;
//  - anything else: JSON.
function encodeValue(body, typename) {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') {
    return typename === STRING_TYPENAME ? Buffer.from(StateFun.stringType().serialize(body)) : Buffer.from(body, 'utf8');
  }
  return Buffer.from(JSON.stringify(body), 'utf8');
}

// PUTs one message into the playground ingress: /<ns>/<type>/<id>, with
// Content-Type application/vnd.<typename>. Resolves with {status, text, json}.
async function send(ingress, ns, type, id, body, typename = STRING_TYPENAME, { method = 'PUT' } = {}) {
  const url = `${ingress}/${encodeURIComponent(ns)}/${encodeURIComponent(type)}/${encodeURIComponent(id)}`;
  return request(url, {
    method,
    headers: { 'Content-Type': `application/vnd.${typename}` },
    body: encodeValue(body, typename),
  });
}

// Like send(), but fails unless the ingress answered 200.
async function sendOk(...args) {
  const res = await send(...args);
  if (res.status !== 200) {
    throw new Error(`ingress answered ${res.status} for ${args.slice(1, 4).join('/')}: ${res.text}`);
  }
  return res;
}

// Pops one record of a playground egress topic: the payload text, or null
// when the topic is empty (404). Throws on any other status.
// Sends under an Idempotency-Key and sends again until the answer is 200: a
// request whose connection was cut (a kept-alive connection closed by the
// server as it was reused) has an unknown outcome, and the key makes the
// retry safe. Gives up after `timeoutMs`.
async function sendKeyed(ingress, ns, type, id, body, key, typename = STRING_TYPENAME, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(`${ingress}/${ns}/${type}/${encodeURIComponent(id)}`, {
      method: 'PUT',
      headers: { 'Content-Type': `application/vnd.${typename}`, 'Idempotency-Key': key },
      body: encodeValue(body, typename),
    }).catch((e) => ({ status: 0, text: String(e) }));
    if (res.status === 200) return res;
    if (Date.now() > deadline) throw new Error(`PUT ${ns}/${type}/${id} (key ${key}): ${res.status} ${res.text}`);
    await sleep(20);
  }
}

async function popEgress(egress, topic) {
  const res = await request(`${egress}/${encodeURIComponent(topic)}`);
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`egress answered ${res.status} for topic ${topic}: ${res.text}`);
  return res.text;
}

// Pops records of `topic` until `count` have arrived; returns them in order.
async function collectEgress(egress, topic, count, timeoutMs = 30000) {
  const out = [];
  await poll(async () => {
    for (;;) {
      const rec = await popEgress(egress, topic);
      if (rec === null) break;
      out.push(rec);
    }
    return out.length >= count;
  }, timeoutMs, () => `${count} records on egress topic ${topic} (got ${out.length}: ${JSON.stringify(out)})`);
  return out;
}

// Calls fn until it returns a truthy value (awaiting promises); resolves with
// that value. Rejects after timeoutMs naming `what` and the last error.
async function poll(fn, timeoutMs = 30000, what = 'condition', intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${why}${lastError ? `: ${lastError.stack || lastError}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

async function health(admin) {
  return request(`${admin}/health`);
}

// The int value of state `name` of <ns>/<type>:<id> as the node stores it
// (admin API); 0 when the address has no such state yet.
async function storedInt(admin, ns, type, id, name = 'count') {
  const res = await request(`${admin}/actors/${ns}/${type}/${encodeURIComponent(id)}`);
  if (res.status === 404) return 0;
  if (res.status !== 200 || !res.json) throw new Error(`GET /actors/${ns}/${type}/${id} answered ${res.status}: ${res.text}`);
  const st = res.json.states && res.json.states[name];
  return st ? st.value : 0;
}

// Waits until every id of `expected` ({id: count}) stores at least its count,
// then checks each stores exactly that (more would be a message applied twice).
async function assertStoredCounts(admin, ns, type, expected, timeoutMs = 120000) {
  const last = {};
  await poll(async () => {
    for (const [id, want] of Object.entries(expected)) {
      last[id] = await storedInt(admin, ns, type, id);
      if (last[id] < want) return false;
    }
    return true;
  }, timeoutMs, () => `stored counts ${JSON.stringify(expected)} (last read ${JSON.stringify(last)})`, 100);
  for (const [id, want] of Object.entries(expected)) {
    require('node:assert/strict').equal(await storedInt(admin, ns, type, id), want, `stored count of ${ns}/${type}:${id}`);
  }
}

async function deadLetters(admin) {
  const res = await request(`${admin}/dead-letters`);
  if (res.status !== 200 || !res.json || !Array.isArray(res.json.dead_letters)) {
    throw new Error(`GET /dead-letters answered ${res.status}: ${res.text}`);
  }
  return res.json.dead_letters;
}

// Runs `count` tasks with at most `parallel` in flight; task(i) returns a promise.
async function runParallel(count, parallel, task) {
  let next = 0;
  const results = new Array(count);
  async function worker() {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return results;
}

// Waits until every node of `nodes` (started with startNode) runs its part
// of one epoch of a cluster of exactly nodes.length members.
async function clusterRunning(nodes, what = 'a running epoch', timeoutMs = 90000) {
  let last;
  await poll(async () => {
    last = await Promise.all(nodes.map(async (n) => {
      const [c, h] = await Promise.all([request(`${n.admin}/cluster`), request(`${n.admin}/health`)]);
      return { epoch: c.json && c.json.epoch, members: c.json && c.json.members.length, pipeline: h.json && h.json.pipeline };
    }));
    return new Set(last.map((v) => v.epoch)).size === 1
      && last.every((v) => v.pipeline === 'running' && v.members === nodes.length);
  }, timeoutMs, () => `${what} (last: ${JSON.stringify(last)})`, 100);
}

/// Freezes process `pid` with SIGSTOP and returns once every one of its
/// threads is stopped. kill() returns before that: the stop begins when one
/// thread takes the signal, and on a loaded machine the other threads run on
/// meanwhile (a frozen node could still answer a request sent right after).
async function freeze(pid) {
  process.kill(pid, 'SIGSTOP');
  const state = (tid) => {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0]; // after "pid (comm) "
  };
  try {
    await poll(() => fs.readdirSync(`/proc/${pid}/task`).every((tid) => {
      try {
        return 'Tt'.includes(state(tid)); // stopped (t: under a tracer)
      } catch {
        return true; // the thread ended
      }
    }), 10000, `every thread of ${pid} stopped`, 5);
  } catch (e) {
    try {
      process.kill(pid, 'SIGCONT'); // not left frozen by a failed freeze
    } catch { /* gone already */ }
    throw e;
  }
}

module.exports = {
  REPO_ROOT,
  clusterRunning,
  STRING_TYPENAME,
  cleanup,
  collectEgress,
  assertStoredCounts,
  deadLetters,
  encodeValue,
  health,
  freeze,
  makeTempDir,
  nodeBinary,
  poll,
  popEgress,
  request,
  runNode,
  runParallel,
  send,
  sendKeyed,
  sendOk,
  sleep,
  withTimeout,
  startNode,
  storedInt,
  testModule,
  shoppingCartModule,
  tail,
};
