'use strict';
// Kafka test helpers: a mock Kafka cluster (librdkafka's, hosted by the
// `hearth-kafka-mock` binary built from tests/tools/kafka_mock.cpp) and kcat
// to produce, consume and query offsets, all binary-safe.
//
// The binary is taken from $HEARTH_KAFKA_MOCK (ctest sets it), otherwise from
// <repo>/build/bin/hearth-kafka-mock; kcat from $HEARTH_KCAT or the PATH.
// A mock stops when its stdin closes, so one started here never outlives the
// test process; cleanup() stops the live ones earlier (use it in `after`).
//
// What the mock does not do (read_committed, fencing, transactional offsets)
// is listed in ../shared/docs/connectors-notes.md. It also creates a topic
// (4 partitions) when a client asks for an unknown one, so a misspelled topic
// reads as empty rather than failing.

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const KCAT = process.env.HEARTH_KCAT || 'kcat';
const READY_TIMEOUT_MS = 30000;
const STOP_TIMEOUT_MS = 10000;
const OUTPUT_LIMIT = 1024 * 1024;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function mockBinary() {
  const bin = path.resolve(process.env.HEARTH_KAFKA_MOCK || path.join(REPO_ROOT, 'build', 'bin', 'hearth-kafka-mock'));
  if (!fs.existsSync(bin)) {
    throw new Error(`hearth-kafka-mock binary not found at ${bin} (build it, or set HEARTH_KAFKA_MOCK)`);
  }
  return bin;
}

// Every child started here (mocks and kcat runs); SIGKILLed if the test
// process exits with them still running.
const liveChildren = new Set();
const liveMocks = new Set();

process.on('exit', () => {
  for (const child of liveChildren) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch (e) {
      // already gone
    }
  }
});

function track(child) {
  liveChildren.add(child);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      resolve({ code, signal });
    });
  });
  return exited;
}

function tail(text, n = 4000) {
  return text.length > n ? `...${text.slice(text.length - n)}` : text;
}

// ---------------------------------------------------------------------------
// the mock cluster

// Starts a mock cluster of `brokers` brokers (ids 1..brokers) with the given
// topics ({name: partitions}). Resolves with
//   {bootstrap, command(line), stop(), stderr(), pid}
// - command(line): sends one fault-injection command (`broker-down <id>`,
//   `broker-up <id>`, `topic <name> <partitions>`, `leader <topic> <p> <id>`,
//   `request-errors <api-key> <err>...`; see kafka_mock.cpp); resolves with
//   'ok', rejects with the mock's `error <why>`.
// - stop(): closes its stdin (SIGKILL after a grace period); resolves with
//   its exit code.
async function startKafkaMock({ topics = {}, brokers = 3 } = {}) {
  const args = ['--brokers', String(brokers)];
  for (const [name, partitions] of Object.entries(topics)) args.push('--topic', `${name}:${partitions}`);
  const child = spawn(mockBinary(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = track(child);
  child.stdin.on('error', () => {}); // EPIPE once it is gone: seen as its exit

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (stderr.length > OUTPUT_LIMIT) stderr = stderr.slice(stderr.length - OUTPUT_LIMIT);
  });

  // stdout: the bootstrap line, then one answer line per command, in order.
  const waiting = [];
  const lines = [];
  let buffer = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    for (let eol; (eol = buffer.indexOf('\n')) >= 0;) {
      const line = buffer.slice(0, eol);
      buffer = buffer.slice(eol + 1);
      if (waiting.length > 0) waiting.shift().resolve(line);
      else lines.push(line);
    }
  });
  const nextLine = (what) => new Promise((resolve, reject) => {
    if (lines.length > 0) resolve(lines.shift());
    else if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`hearth-kafka-mock exited (${what})\n${tail(stderr)}`));
    else waiting.push({ resolve, reject, what });
  });
  exited.then(({ code, signal }) => {
    liveMocks.delete(mock);
    for (const w of waiting.splice(0)) {
      w.reject(new Error(`hearth-kafka-mock exited (code ${code}, signal ${signal}) before answering ${w.what}\n${tail(stderr)}`));
    }
  });

  const mock = {
    pid: child.pid,
    bootstrap: undefined,
    exited,
    stderr: () => stderr,
    command(line) {
      if (line.includes('\n')) return Promise.reject(new Error('a mock command is one line'));
      const answer = nextLine(JSON.stringify(line));
      child.stdin.write(`${line}\n`);
      return answer.then((reply) => {
        if (reply !== 'ok') throw new Error(`hearth-kafka-mock: ${JSON.stringify(line)} answered ${JSON.stringify(reply)}`);
        return reply;
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.stdin.end();
      let timer;
      const result = await Promise.race([
        exited,
        new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS); }),
      ]).finally(() => clearTimeout(timer));
      if (result === 'timeout') {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch (e) {
          // gone
        }
        await exited;
        throw new Error(`hearth-kafka-mock did not exit within ${STOP_TIMEOUT_MS} ms of its stdin closing\n${tail(stderr)}`);
      }
      return result.code !== null ? result.code : result.signal;
    },
  };
  liveMocks.add(mock);

  let timer;
  const ready = await Promise.race([
    nextLine('the bootstrap line'),
    new Promise((resolve) => { timer = setTimeout(() => resolve(null), READY_TIMEOUT_MS); }),
  ]).catch((e) => e).finally(() => clearTimeout(timer));
  const match = typeof ready === 'string' && /^kafka-mock bootstrap=(\S+)$/.exec(ready);
  if (!match) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch (e) {
      // gone
    }
    await exited;
    const why = ready instanceof Error ? ready.message : `printed ${JSON.stringify(ready)} instead of its bootstrap line`;
    throw new Error(`hearth-kafka-mock did not start: ${why}\n${tail(stderr)}`);
  }
  mock.bootstrap = match[1];
  return mock;
}

// Stops every mock started here. Use in the `after` hook of a test file.
async function cleanup() {
  await Promise.all([...liveMocks].map((m) => m.stop().catch(() => {})));
}

// ---------------------------------------------------------------------------
// kcat

// Runs kcat with `args`, writing `input` (a Buffer) to its stdin. Resolves
// with {code, signal, stdout: Buffer, stderr: string}; kills it after
// timeoutMs (then code is 'timeout').
function kcat(args, { input, timeoutMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(KCAT, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const exited = track(child);
    const out = [];
    let err = '';
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      err += chunk;
      if (err.length > OUTPUT_LIMIT) err = err.slice(err.length - OUTPUT_LIMIT);
    });
    child.on('error', reject); // not found, not executable
    if (input) {
      child.stdin.on('error', () => {}); // kcat failed early: seen in its exit code
      child.stdin.end(input);
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch (e) {
        // gone
      }
    }, timeoutMs);
    // 'close' (not 'exit'): stdout is fully read.
    child.on('close', async () => {
      clearTimeout(timer);
      const { code, signal } = await exited;
      resolve({ code: timedOut ? 'timeout' : code, signal, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

function kcatFailure(what, args, res) {
  return new Error(`${what}: kcat ${args.join(' ')} ${res.code === 'timeout' ? 'timed out' : `exited with ${res.code}${res.signal ? ` (${res.signal})` : ''}`}\n${tail(res.stderr)}`);
}

// ---------------------------------------------------------------------------
// produce

const asBytes = (v, what) => {
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  throw new TypeError(`${what} must be a string, a Buffer or null, not ${typeof v}`);
};

// A random delimiter of `n` non-zero bytes, and its kcat spelling (\xNN...).
function randomDelimiter(n = 8) {
  const bytes = Buffer.from(crypto.randomBytes(n).map((b) => (b === 0 ? 1 : b)));
  return { bytes, arg: [...bytes].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('') };
}

// kcat's input for one run: key K value D ..., with delimiters found in no
// key or value nor across their joins (checked by splitting it again).
function frame(records) {
  for (;;) {
    const K = randomDelimiter();
    const D = randomDelimiter();
    const parts = [];
    for (const r of records) {
      if (r.key) parts.push(r.key, K.bytes);
      parts.push(r.value, D.bytes);
    }
    const input = Buffer.concat(parts);
    let at = 0;
    let clean = true;
    for (const r of records) {
      const end = input.indexOf(D.bytes, at);
      const message = input.subarray(at, end);
      const k = message.indexOf(K.bytes);
      const keyLength = r.key ? r.key.length : -1;
      if (end !== at + (r.key ? r.key.length + K.bytes.length : 0) + r.value.length || k !== keyLength) {
        clean = false;
        break;
      }
      at = end + D.bytes.length;
    }
    if (clean) return { input, K, D };
  }
}

// Produces `records` ({key, value, partition?, headers?}) to `topic`, in
// order, and resolves once kcat reports every one delivered (acks=all,
// idempotent, so order holds per partition). key: string, Buffer or null
// (null: no key); value: string, Buffer or null (a tombstone); partition:
// a number, or absent for the partitioner (librdkafka's default,
// consistent_random: CRC32 of the key, random without one; the option
// `partitioner: 'murmur2_random'` picks partitions as the Java client does);
// headers: {name: string}. Keys and values may hold any bytes (newlines, NUL).
// Throws on kcat's failure, and for what kcat cannot send: an empty message
// without a key, and an empty key with a null value (kcat's -Z makes both
// NULL).
async function produce(bootstrap, topic, records, { timeoutMs = 60000, partitioner } = {}) {
  const norm = records.map((r, i) => {
    const key = r.key === null || r.key === undefined ? null : asBytes(r.key, `record ${i}'s key`);
    const tombstone = r.value === null || r.value === undefined;
    const value = tombstone ? Buffer.alloc(0) : asBytes(r.value, `record ${i}'s value`);
    if (!key && value.length === 0) throw new Error(`record ${i}: kcat cannot send an empty or null value without a key`);
    if (tombstone && key.length === 0) throw new Error(`record ${i}: kcat cannot send an empty key with a null value`);
    const headers = Object.entries(r.headers || {}).map(([n, v]) => `${n}=${v}`);
    if (headers.some((h) => h.includes('\n'))) throw new Error(`record ${i}: a header with a newline`);
    return { key, value, tombstone, partition: r.partition, headers };
  });
  // Consecutive records with the same kcat options go in one run.
  const runs = [];
  for (const r of norm) {
    const options = JSON.stringify([r.partition, r.tombstone, r.headers]);
    const last = runs[runs.length - 1];
    if (last && last.options === options) last.records.push(r);
    else runs.push({ options, records: [r] });
  }
  for (const { records: run } of runs) {
    const { partition, tombstone, headers } = run[0];
    const { input, K, D } = frame(run);
    const args = ['-P', '-b', bootstrap, '-t', topic, '-K', K.arg, '-D', D.arg,
      '-X', 'enable.idempotence=true', '-X', `message.timeout.ms=${timeoutMs}`];
    if (partition !== undefined) args.push('-p', String(partition));
    if (partitioner) args.push('-X', `partitioner=${partitioner}`);
    if (tombstone) args.push('-Z');
    for (const h of headers) args.push('-H', h);
    const res = await kcat(args, { input, timeoutMs: timeoutMs + 10000 });
    if (res.code !== 0) throw kcatFailure(`producing ${run.length} records to ${topic}`, args, res);
  }
}

// ---------------------------------------------------------------------------
// consume

// One record a frame: an ASCII line of numbers, the raw key and value
// (lengths from the line), the headers as kcat's "n=v,n=v", a terminator.
const FORMAT = '%p %o %K %S %T\\n%k%s%h\\x1e\\x1f\\x1e\\x1f\\n';
const TERMINATOR = Buffer.from('\x1e\x1f\x1e\x1f\n', 'latin1');

function parseRecords(out, topic) {
  const records = [];
  let at = 0;
  while (at < out.length) {
    const eol = out.indexOf(0x0a, at);
    const fields = out.subarray(at, eol).toString('latin1').split(' ').map(Number);
    if (eol < 0 || fields.length !== 5 || fields.some(Number.isNaN)) {
      throw new Error(`unexpected kcat output for ${topic} at byte ${at}: ${JSON.stringify(out.subarray(at, at + 200).toString('latin1'))}`);
    }
    const [partition, offset, keyLength, valueLength, timestamp] = fields;
    let p = eol + 1;
    const keyBytes = keyLength < 0 ? null : out.subarray(p, p + keyLength);
    p += Math.max(keyLength, 0);
    const value = valueLength < 0 ? null : Buffer.from(out.subarray(p, p + valueLength));
    p += Math.max(valueLength, 0);
    const end = out.indexOf(TERMINATOR, p);
    if (end < 0) throw new Error(`kcat output for ${topic} cut in a record (partition ${partition} offset ${offset})`);
    // Best effort: kcat writes headers unescaped, so names and values with
    // ',' or '=' are ambiguous.
    const headers = {};
    const text = out.subarray(p, end).toString('utf8');
    if (text.length > 0) {
      for (const pair of text.split(',')) {
        const eq = pair.indexOf('=');
        if (eq < 0) headers[pair] = '';
        else headers[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
    }
    records.push({
      key: keyBytes && keyBytes.toString('utf8'),
      keyBytes: keyBytes && Buffer.from(keyBytes),
      value,
      partition,
      offset,
      timestamp,
      headers,
    });
    at = end + TERMINATOR.length;
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

// Every record now in `topic` (or in one partition), from the beginning.
async function readAll(bootstrap, topic, partition, timeoutMs) {
  const args = ['-C', '-q', '-e', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-f', FORMAT, '-m', '10'];
  if (partition !== undefined) args.push('-p', String(partition));
  const res = await kcat(args, { timeoutMs });
  if (res.code !== 0) throw kcatFailure(`consuming ${topic}`, args, res);
  return parseRecords(res.stdout, topic);
}

// Reads `topic` from the beginning until it holds at least `count` records
// and resolves with them, sorted by partition and offset:
//   [{key (string|null), keyBytes (Buffer|null), value (Buffer|null),
//     partition, offset, timestamp, headers ({name: string})}]
// exact (default): throws if there are more than `count`. Without `count`,
// resolves with what is there now. Throws after timeoutMs saying how many
// records were seen. Reads uncommitted records too (the mock does not hide
// aborted transactions).
async function consume(bootstrap, topic, { count, timeoutMs = 30000, exact = true, partition, intervalMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  let lastError;
  for (;;) {
    const left = deadline - Date.now();
    try {
      const records = await readAll(bootstrap, topic, partition, Math.max(left, 5000));
      seen = records.length;
      lastError = undefined;
      if (count === undefined) return records;
      if (records.length >= count) {
        if (exact && records.length > count) {
          throw Object.assign(new Error(`expected exactly ${count} records in ${topic}, found ${records.length}`), { final: true });
        }
        return records;
      }
    } catch (e) {
      if (e.final) throw e;
      lastError = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${count} records in ${topic}${partition === undefined ? '' : ` partition ${partition}`}: saw ${seen}${lastError ? `; last error: ${lastError.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------
// offsets

// The number of partitions of `topic` (creating it if unknown: the mock
// auto-creates).
async function partitionCount(bootstrap, topic, { timeoutMs = 30000 } = {}) {
  const args = ['-L', '-J', '-b', bootstrap, '-t', topic, '-m', '10'];
  const res = await kcat(args, { timeoutMs });
  if (res.code !== 0) throw kcatFailure(`metadata of ${topic}`, args, res);
  const meta = JSON.parse(res.stdout.toString('utf8'));
  const t = (meta.topics || []).find((x) => x.topic === topic);
  if (!t || t.error) throw new Error(`metadata of ${topic}: ${t ? t.error : 'topic missing'}\n${res.stdout}`);
  return t.partitions.length;
}

// The high watermark of each partition of `topic` (the offset the next record
// gets): an array indexed by partition.
async function offsets(bootstrap, topic, { timeoutMs = 30000 } = {}) {
  const n = await partitionCount(bootstrap, topic, { timeoutMs });
  const args = ['-Q', '-b', bootstrap, '-m', '10'];
  for (let p = 0; p < n; p++) args.push('-t', `${topic}:${p}:-1`);
  const res = await kcat(args, { timeoutMs });
  if (res.code !== 0) throw kcatFailure(`offsets of ${topic}`, args, res);
  const out = new Array(n).fill(undefined);
  for (const line of res.stdout.toString('utf8').split('\n')) {
    const m = /^(\S+) \[(\d+)\] offset (-?\d+)$/.exec(line.trim());
    if (m && m[1] === topic) out[Number(m[2])] = Number(m[3]);
  }
  if (out.some((o) => o === undefined || o < 0)) {
    throw new Error(`offsets of ${topic}: kcat printed\n${res.stdout}\n${tail(res.stderr)}`);
  }
  return out;
}

module.exports = {
  cleanup,
  consume,
  kcat,
  mockBinary,
  offsets,
  partitionCount,
  produce,
  startKafkaMock,
};
