#!/usr/bin/env node
'use strict';
// Smoke check of the Restate side of the benchmark: start the server and the
// Counter service, send 100 request-response calls over 10 keys and 100
// fire-and-forget sends, check the counters, check that every listener of the
// server is on 127.0.0.1, print timings, stop everything.
//
//   node bench/restate/smoke.js [workDir]
// (default: a fresh temp dir, removed when every check passed)
// Exit code 0 when every check passed. Bounded in time; loopback only.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { startRestate } = require('./restate.js');

const KEYS = 10;
const CALLS = 100;
const SENDS = 100;
const DRAIN_TIMEOUT_MS = 30_000;

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function post(url) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout POST ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

const ms = (t) => `${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(1)} ms`;

// Listening TCP sockets of one pid, from `ss -ltnpH`; null when ss is missing.
function listenersOf(pid) {
  let out;
  try {
    out = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  } catch {
    return null;
  }
  return out.split('\n').filter((l) => l.includes(`pid=${pid},`)).map((l) => l.trim().split(/\s+/)[3]);
}

async function main() {
  const ownDir = !process.argv[2];
  const workDir = process.argv[2] || fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-restate-'));
  const failures = [];
  const check = (cond, what) => {
    if (!cond) failures.push(what);
    console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  };

  let t = process.hrtime.bigint();
  const r = await startRestate({ workDir, log: (m) => console.log(`  ${m}`) });
  if (!r.ok) {
    console.log(`restate not available: ${r.reason}`);
    process.exitCode = 1;
    return;
  }
  console.log(`startRestate: ${ms(t)} (work dir ${workDir})`);

  try {
    const listeners = listenersOf(r.serverPid);
    if (listeners === null) {
      console.log('skip listener check (no ss)');
    } else {
      console.log(`restate-server listeners: ${listeners.join(' ')}`);
      check(listeners.length >= 3 && listeners.every((a) => a.startsWith('127.0.0.1:')),
        'every restate-server listener is on 127.0.0.1');
    }
    const svcListeners = listenersOf(r.servicePid);
    if (svcListeners !== null) {
      check(svcListeners.length === 2 && svcListeners.every((a) => a.startsWith('127.0.0.1:')),
        'both counter service listeners are on 127.0.0.1');
    }

    // Request-response: the keys in parallel, each key's calls in order.
    t = process.hrtime.bigint();
    const perKey = CALLS / KEYS;
    const results = await Promise.all(Array.from({ length: KEYS }, async (_, k) => {
      const values = [];
      for (let i = 0; i < perKey; i++) {
        const res = await post(`${r.ingressUrl}/Counter/smoke-${k}/add`);
        if (res.status !== 200) throw new Error(`add smoke-${k}: HTTP ${res.status} ${res.body}`);
        values.push(JSON.parse(res.body));
      }
      return values;
    }));
    console.log(`${CALLS} request-response calls over ${KEYS} keys: ${ms(t)}`);
    check(results.every((v) => v.every((x, i) => x === i + 1)),
      `request-response results go 1..${perKey} on every key`);

    let count = Number((await get(r.countUrl)).body);
    check(count === CALLS, `count after request-response is ${CALLS} (got ${count})`);

    // Fire-and-forget: accepted with 202, then executed.
    t = process.hrtime.bigint();
    const sends = await Promise.all(Array.from({ length: SENDS }, (_, i) =>
      post(`${r.ingressUrl}/Counter/smoke-${i % KEYS}/add/send`)));
    console.log(`${SENDS} sends accepted: ${ms(t)}`);
    check(sends.every((s) => s.status === 202), 'every send answered 202 Accepted');

    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while ((count = Number((await get(r.countUrl)).body)) < CALLS + SENDS && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 20));
    }
    console.log(`sends executed (count ${count}): ${ms(t)} after the first send`);
    check(count === CALLS + SENDS, `count reaches ${CALLS + SENDS} (got ${count})`);

    const finals = await Promise.all(Array.from({ length: KEYS }, (_, k) =>
      post(`${r.ingressUrl}/Counter/smoke-${k}/get`).then((res) => JSON.parse(res.body))));
    const want = perKey + SENDS / KEYS;
    check(finals.every((v) => v === want), `every key ends at ${want} (got ${finals.join(',')})`);
  } catch (err) {
    failures.push(err.message);
    console.log(`FAIL ${err.message}`);
  } finally {
    agent.destroy();
    t = process.hrtime.bigint();
    await r.stop();
    console.log(`stop: ${ms(t)}`);
    for (const pid of [r.serverPid, r.servicePid]) {
      let alive = true;
      try { process.kill(pid, 0); } catch { alive = false; }
      check(!alive, `pid ${pid} has exited`);
    }
  }

  // A temp dir of our own goes away when all passed; kept (with the logs) otherwise.
  if (ownDir && !failures.length) fs.rmSync(workDir, { recursive: true, force: true });
  console.log(failures.length ? `smoke: ${failures.length} failed` : 'smoke: all checks passed');
  process.exitCode = failures.length ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
