'use strict';
// What the benchmark scripts share: processes they start (stopped by pid,
// also when the script fails), /proc readings, HTTP GETs and wrk runs.

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

/// Starts `cmd` and resolves with {child, match, output()} once its output
/// (stdout and stderr, copied to `logFile`) matches `ready`.
function start(cmd, args, ready, { env, cwd, logFile, timeoutMs = 60000 } = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const log = logFile ? fs.createWriteStream(logFile) : null;
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (log) log.end(`\n[exited: ${signal || code}]\n`);
  });
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd}: not ready after ${timeoutMs / 1000} s:\n${seen.slice(-2000)}`)), timeoutMs);
    const onData = (d) => {
      if (log) log.write(d);
      seen += d;
      if (child.matched) return;
      const m = ready.exec(seen);
      if (m) {
        child.matched = true;
        clearTimeout(timer);
        resolve({ child, match: m, output: () => seen });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!child.matched) reject(new Error(`${cmd} exited (${code}) before ready:\n${seen.slice(-2000)}`));
    });
  });
}

/// SIGTERM, then SIGKILL after 30 s; resolves once it exited.
function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/// CPU seconds (user + system) used so far by process `pid`.
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/// Context switches (voluntary and not) of every live thread of `pid`.
function contextSwitches(pid) {
  let n = 0;
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
      for (const m of s.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) n += Number(m[1]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return n;
}

/// One HTTP request without a body; resolves to {status, body}.
function get(url, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/// One wrk run with a script of bench/lua; resolves to its RESULT line
/// (bench/lua/report.lua) with `rate` (requests per second) added.
function wrk(url, script, { connections, seconds, env = {}, started = () => {} }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '-s', script, url];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, {
      env: { ...process.env, LUA_PATH: `${path.join(__dirname, 'lua')}/?.lua;;`, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    started(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      children.delete(child);
      const m = /^RESULT (.*)$/m.exec(out);
      if (code !== 0 || !m) return reject(new Error(`wrk ${args.join(' ')} failed (${code}):\n${out}`));
      const r = JSON.parse(m[1]);
      r.rate = r.requests / r.seconds;
      resolve(r);
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

module.exports = { sleep, start, stop, cpuSeconds, contextSwitches, get, wrk, median };
