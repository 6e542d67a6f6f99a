'use strict';
// Starts a single-node Restate server (from the npm package
// @restatedev/restate-server, see bench/package.json) and the Counter service
// (counter.mjs), registers the service, and waits until the ingress serves it.
//
//   const { startRestate } = require('./restate/restate.js');
//   const r = await startRestate({ workDir, log });
//   if (!r.ok) console.log('Restate skipped:', r.reason);
//   ... POST `${r.ingressUrl}/Counter/<key>/add`         -> "<new value>" (JSON)
//   ... POST `${r.ingressUrl}/Counter/<key>/add/send`    -> 202, {"invocationId":..}
//   ... GET  r.countUrl                                  -> completed adds, plain text
//   await r.stop();
//
// Requests to the ingress need no body and no Content-Type (an empty body is
// what `add` takes); HTTP/1.1 and keep-alive both work.
//
// Everything listens on 127.0.0.1: the server's ingress, admin API and
// node-to-node ("message fabric") port, on free ports picked at start
// (listen-mode = "tcp", so no unix sockets either), and the service's two
// ports. Usage telemetry is off (disable-telemetry = true and DO_NOT_TRACK=1).
// The server's data lives in <workDir>/data (wiped first), its configuration
// in <workDir>/restate.toml, its log in <workDir>/restate-server.log and the
// service's output in <workDir>/counter.log.
//
// startRestate never throws: when the server binary or the SDK is missing, or
// something fails to start, it stops whatever it started and returns
// { ok: false, reason }.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const HOST = '127.0.0.1';
const COUNTER_SCRIPT = path.join(__dirname, 'counter.mjs');
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

function findServerBinary() {
  if (process.env.RESTATE_SERVER_BIN) {
    const p = process.env.RESTATE_SERVER_BIN;
    return fs.existsSync(p) ? { path: p } : { reason: `RESTATE_SERVER_BIN=${p} does not exist` };
  }
  const pkg = `@restatedev/restate-server-${process.platform}-${process.arch}`;
  try {
    return { path: require.resolve(`${pkg}/bin/restate-server`) };
  } catch {
    return { reason: `restate-server binary not found (${pkg}); run npm ci in bench/` };
  }
}

function findSdk() {
  try {
    require.resolve('@restatedev/restate-sdk');
    return {};
  } catch {
    return { reason: '@restatedev/restate-sdk not found; run npm ci in bench/' };
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One HTTP/1.1 request; resolves { status, body } (never rejects on status).
function request(url, { method = 'GET', body, headers = {}, timeoutMs = 5_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout ${method} ${url}`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function tomlConfig({ dataDir, fabricPort, adminPort, ingressPort, partitions }) {
  const lines = [
    '# Written by bench/restate/restate.js for one benchmark run.',
    'node-name = "hearth-bench"',
    `base-dir = ${JSON.stringify(dataDir)}`,
    'listen-mode = "tcp"',
    `bind-ip = "${HOST}"`,
    `bind-port = ${fabricPort}`,
    `advertised-address = "http://${HOST}:${fabricPort}/"`,
    'disable-telemetry = true',
    'log-format = "compact"',
    'log-disable-ansi-codes = true',
  ];
  if (partitions) lines.push(`default-num-partitions = ${partitions}`);
  lines.push(
    '',
    '[admin]',
    `bind-ip = "${HOST}"`,
    `bind-port = ${adminPort}`,
    `advertised-admin-endpoint = "http://${HOST}:${adminPort}/"`,
    'disable-web-ui = true',
    '',
    '[ingress]',
    `bind-ip = "${HOST}"`,
    `bind-port = ${ingressPort}`,
    `advertised-ingress-endpoint = "http://${HOST}:${ingressPort}/"`,
    '',
  );
  return lines.join('\n');
}

// The environment for the server: ours minus any RESTATE_* that would change
// the configuration written above.
function serverEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('RESTATE_')) env[k] = v;
  }
  env.DO_NOT_TRACK = '1';
  return env;
}

function tail(file, lines = 15) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

class Child {
  constructor(name, proc) {
    this.name = name;
    this.proc = proc;
    this.exited = false;
    this.exitInfo = null;
    this.exitPromise = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exited = true;
        this.exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
        resolve();
      });
      proc.once('error', (err) => {
        this.exited = true;
        this.exitInfo = err.message;
        resolve();
      });
    });
  }

  get pid() { return this.proc.pid; }

  async stop() {
    if (this.exited || !this.pid) return;
    try { process.kill(this.pid, 'SIGTERM'); } catch { /* already gone */ }
    let timer;
    const grace = new Promise((resolve) => { timer = setTimeout(resolve, STOP_GRACE_MS, 'timeout'); });
    const outcome = await Promise.race([this.exitPromise, grace]);
    clearTimeout(timer);
    if (outcome === 'timeout' && !this.exited) {
      try { process.kill(this.pid, 'SIGKILL'); } catch { /* already gone */ }
      await this.exitPromise;
    }
  }
}

async function waitFor(what, fn, { deadline, children }) {
  let last = '';
  for (;;) {
    for (const c of children) {
      if (c.exited) throw new Error(`${c.name} exited (${c.exitInfo}) while waiting for ${what}`);
    }
    try {
      const r = await fn();
      if (r === true) return;
      last = r || '';
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await sleep(100);
  }
}

async function startRestate({ workDir, log = () => {}, partitions } = {}) {
  const t0 = Date.now();
  if (!workDir) return { ok: false, reason: 'startRestate: workDir is required' };
  const bin = findServerBinary();
  if (bin.reason) return { ok: false, reason: bin.reason };
  const sdk = findSdk();
  if (sdk.reason) return { ok: false, reason: sdk.reason };

  const children = [];
  const killAll = () => {
    for (const c of children) {
      if (!c.exited) try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  };
  // Never leave the two children behind if this process ends without stop().
  process.on('exit', killAll);
  const stop = async () => {
    await Promise.all(children.map((c) => c.stop()));
    process.removeListener('exit', killAll);
  };

  const serverLog = path.join(workDir, 'restate-server.log');
  const counterLog = path.join(workDir, 'counter.log');
  try {
    const dataDir = path.join(workDir, 'data');
    fs.mkdirSync(workDir, { recursive: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
    const [fabricPort, adminPort, ingressPort] = await freePorts(3);
    const configFile = path.join(workDir, 'restate.toml');
    fs.writeFileSync(configFile, tomlConfig({ dataDir, fabricPort, adminPort, ingressPort, partitions }));

    const serverOut = fs.openSync(serverLog, 'w');
    const server = new Child('restate-server', spawn(bin.path, ['--no-logo', '--config-file', configFile], {
      cwd: workDir,
      env: serverEnv(),
      stdio: ['ignore', serverOut, serverOut],
    }));
    fs.closeSync(serverOut);
    children.push(server);
    log(`restate-server pid ${server.pid}: ingress ${ingressPort}, admin ${adminPort}, fabric ${fabricPort}`);

    // The service starts while the server boots; it prints READY {...} when up.
    fs.writeFileSync(counterLog, '');
    const counterOut = fs.openSync(counterLog, 'a');
    const svcProc = spawn(process.execPath, [COUNTER_SCRIPT, '--port', '0', '--count-port', '0'], {
      cwd: __dirname,
      env: { ...process.env, RESTATE_LOGGING: process.env.RESTATE_LOGGING || 'WARN' },
      stdio: ['ignore', 'pipe', counterOut],
    });
    fs.closeSync(counterOut);
    const service = new Child('counter service', svcProc);
    children.push(service);
    const ready = new Promise((resolve) => {
      let buf = '';
      svcProc.stdout.setEncoding('utf8');
      svcProc.stdout.on('data', (chunk) => {
        buf += chunk;
        const m = /^READY (\{.*\})$/m.exec(buf);
        if (m) resolve(JSON.parse(m[1]));
        fs.appendFileSync(counterLog, chunk);
      });
    });

    const deadline = Date.now() + START_TIMEOUT_MS;
    const adminUrl = `http://${HOST}:${adminPort}`;
    const ingressUrl = `http://${HOST}:${ingressPort}`;

    let svcPorts = null;
    ready.then((p) => { svcPorts = p; });
    await waitFor('the counter service', async () => svcPorts !== null, { deadline, children });
    const serviceUri = `http://${HOST}:${svcPorts.port}`;
    const countUrl = `http://${HOST}:${svcPorts.countPort}/count`;
    log(`counter service pid ${service.pid}: ${serviceUri}, count ${countUrl}`);

    await waitFor('the admin API', async () => {
      const r = await request(`${adminUrl}/health`);
      return r.status === 200 || `admin /health ${r.status}`;
    }, { deadline, children });
    await waitFor('the ingress', async () => {
      const r = await request(`${ingressUrl}/restate/health`);
      return r.status === 200 || `ingress /restate/health ${r.status}`;
    }, { deadline, children });

    await waitFor('the deployment registration', async () => {
      const r = await request(`${adminUrl}/deployments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uri: serviceUri }),
        timeoutMs: 15_000,
      });
      return (r.status >= 200 && r.status < 300) || `POST /deployments ${r.status} ${r.body.slice(0, 300)}`;
    }, { deadline, children });

    // The ingress learns the new service asynchronously; `get` is shared and
    // not counted, so the count starts at 0.
    await waitFor('a call through the ingress', async () => {
      const r = await request(`${ingressUrl}/Counter/__ready__/get`, { method: 'POST' });
      return r.status === 200 || `ingress ${r.status} ${r.body.slice(0, 200)}`;
    }, { deadline, children });

    const startupMs = Date.now() - t0;
    log(`restate ready in ${startupMs} ms`);
    return {
      ok: true,
      ingressUrl,
      adminUrl,
      countUrl,
      serverPid: server.pid,
      servicePid: service.pid,
      serverLog,
      startupMs,
      stop,
    };
  } catch (err) {
    await stop().catch(() => {});
    const logTail = tail(serverLog);
    return {
      ok: false,
      reason: `${err.message}${logTail ? `\n--- ${serverLog} (tail) ---\n${logTail}` : ''}`,
    };
  }
}

module.exports = { startRestate };
