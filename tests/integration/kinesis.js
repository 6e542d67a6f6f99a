'use strict';
// Kinesis test helpers: kinesalite (an in-memory Kinesis, npm devDependency)
// as a local peer, and a minimal Kinesis client (JSON 1.1 API, SigV4 signed
// with node's crypto; no AWS SDK), all binary-safe.
//
// kinesalite runs in a child process bound to 127.0.0.1, so that a test can
// kill it (an outage) and a crash of it cannot take the test process down.
// It stops when its stdin closes, so one started here never outlives the test
// process; cleanup() stops the live ones earlier (use it in `after`).
//
// What kinesalite does not do (see also ../shared/docs/connectors-notes.md):
// - no throughput limits: never ProvisionedThroughputExceededException, never
//   a failed record in PutRecords (LimitExceededException only for its shard
//   limit on CreateStream / SplitShard / MergeShards);
// - it checks that a request is signed, not the signature;
// - ListShards returns every shard in one page (no NextToken, MaxResults
//   ignored), and GetRecords has no ChildShards;
// - records put within about a second after a split or merge get arrival
//   times up to a second in the future (the children's start time);
// - GetShardIterator AT_TIMESTAMP on a shard with no record at or after the
//   time never answers (the request hangs until its timeout).

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const READY_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 10000;
const OUTPUT_LIMIT = 1024 * 1024;

const DEFAULT_CREDENTIALS = { accessKeyId: 'hearth-test', secretAccessKey: 'hearth-test-secret' };
const DEFAULT_REGION = 'us-east-1';
const MAX_HASH_KEY = (1n << 128n) - 1n;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function tail(text, n = 4000) {
  return text.length > n ? `...${text.slice(text.length - n)}` : text;
}

// ---------------------------------------------------------------------------
// the peer

const liveChildren = new Set();
const livePeers = new Set();

process.on('exit', () => {
  for (const child of liveChildren) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch (e) {
      // already gone
    }
  }
});

// The child: kinesalite on 127.0.0.1, its port as one JSON line on stdout,
// exit when stdin closes.
const CHILD_SCRIPT = `
const kinesalite = require(process.argv[1]);
const opts = JSON.parse(process.argv[2]);
const server = kinesalite(opts);
server.on('error', (e) => { console.error(e.stack || String(e)); process.exit(1); });
server.listen(opts.port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
`;

// Starts kinesalite in a child process. Options: port (0: a free one),
// dataDir (kinesalite's --path: LevelDB files that survive a restart on the
// same dir; default in memory), createStreamMs / deleteStreamMs /
// updateStreamMs (default 0: instant), shardLimit (default 50).
// Resolves with {endpoint: 'http://127.0.0.1:PORT', port, pid, exited,
// stderr(), stop(), kill(signal)}:
// - stop(): closes its stdin (SIGKILL after a grace period); resolves with
//   its exit code;
// - kill(signal = 'SIGKILL'): an outage; resolves once it has exited.
async function startKinesis({
  port = 0, dataDir, createStreamMs = 0, deleteStreamMs = 0, updateStreamMs = 0, shardLimit = 50,
} = {}) {
  const opts = { port, createStreamMs, deleteStreamMs, updateStreamMs, shardLimit };
  if (dataDir) opts.path = dataDir;
  const main = require.resolve('kinesalite', { paths: [REPO_ROOT] });
  const child = spawn(process.execPath, ['-e', CHILD_SCRIPT, main, JSON.stringify(opts)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      resolve({ code, signal });
    });
  });
  child.stdin.on('error', () => {}); // EPIPE once it is gone: seen as its exit

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (stderr.length > OUTPUT_LIMIT) stderr = stderr.slice(stderr.length - OUTPUT_LIMIT);
  });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const eol = stdout.indexOf('\n');
      if (eol >= 0) {
        try {
          resolve(JSON.parse(stdout.slice(0, eol)).port);
        } catch (e) {
          reject(new Error(`kinesalite printed ${JSON.stringify(stdout.slice(0, eol))} instead of its port`));
        }
      }
    });
    child.on('error', reject);
    exited.then(({ code, signal }) => reject(new Error(`kinesalite exited (code ${code}, signal ${signal}) before listening`)));
  });

  const kill = (signal) => {
    try {
      process.kill(child.pid, signal);
    } catch (e) {
      // gone
    }
  };
  const peer = {
    endpoint: undefined,
    port: undefined,
    pid: child.pid,
    exited,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.stdin.end();
      let timer;
      const result = await Promise.race([
        exited,
        new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS); }),
      ]).finally(() => clearTimeout(timer));
      livePeers.delete(peer);
      if (result === 'timeout') {
        kill('SIGKILL');
        await exited;
        throw new Error(`kinesalite did not exit within ${STOP_TIMEOUT_MS} ms of its stdin closing\n${tail(stderr)}`);
      }
      return result.code !== null ? result.code : result.signal;
    },
    async kill(signal = 'SIGKILL') {
      kill(signal);
      livePeers.delete(peer);
      return exited;
    },
  };
  livePeers.add(peer);

  let timer;
  const got = await Promise.race([
    ready,
    new Promise((resolve) => { timer = setTimeout(() => resolve(null), READY_TIMEOUT_MS); }),
  ]).catch((e) => e).finally(() => clearTimeout(timer));
  if (typeof got !== 'number') {
    kill('SIGKILL');
    await exited;
    livePeers.delete(peer);
    const why = got instanceof Error ? got.message : `no port within ${READY_TIMEOUT_MS} ms`;
    throw new Error(`kinesalite did not start: ${why}\n${tail(stderr)}`);
  }
  peer.port = got;
  peer.endpoint = `http://127.0.0.1:${got}`;
  return peer;
}

// Stops every peer started here. Use in the `after` hook of a test file.
async function cleanup() {
  await Promise.all([...livePeers].map((p) => p.stop().catch(() => {})));
}

// ---------------------------------------------------------------------------
// SigV4 (AWS Signature Version 4) for a JSON 1.1 POST

const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

// The headers to send with a POST of `body` (a Buffer) to `url` (a URL) for
// `service`: `headers` (lower-case names) plus host, x-amz-date and
// authorization, all of them signed.
function signedHeaders({ url, headers, body, credentials, region, service, now = new Date() }) {
  const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, ''); // 20240101T000000Z
  const day = amzDate.slice(0, 8);
  const all = { ...headers, host: url.host, 'x-amz-date': amzDate };
  if (credentials.sessionToken) all['x-amz-security-token'] = credentials.sessionToken;
  const names = Object.keys(all).map((n) => n.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(all).map(([n, v]) => [n.toLowerCase(), String(v).trim().replace(/\s+/g, ' ')]));
  const canonicalRequest = [
    'POST',
    url.pathname || '/',
    '', // no query
    names.map((n) => `${n}:${lower[n]}\n`).join(''),
    names.join(';'),
    sha256(body),
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), service), 'aws4_request');
  const signature = crypto.createHmac('sha256', key).update(stringToSign).digest('hex');
  return {
    ...lower,
    authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, `
      + `SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}

// ---------------------------------------------------------------------------
// the JSON 1.1 API

// One Kinesis call: `op` ('PutRecords', ...) with `params` (an object).
// Resolves with the answer's JSON ({} for an empty answer). Rejects with an
// Error whose `type` is AWS's error type (e.g. 'ResourceNotFoundException')
// and `statusCode` the HTTP status; connection errors reject as node's
// (e.g. code 'ECONNREFUSED').
function kinesisRequest(endpoint, op, params, {
  credentials = DEFAULT_CREDENTIALS, region = DEFAULT_REGION, timeoutMs = 10000,
} = {}) {
  const url = new URL(endpoint);
  const body = Buffer.from(JSON.stringify(params));
  const headers = signedHeaders({
    url,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Kinesis_20131202.${op}` },
    body,
    credentials,
    region,
    service: 'kinesis',
  });
  headers['content-length'] = String(body.length);
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method: 'POST', headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = text ? JSON.parse(text) : {};
        } catch (e) {
          json = undefined;
        }
        if (res.statusCode === 200 && json !== undefined) {
          resolve(json);
          return;
        }
        const type = (json && json.__type ? String(json.__type).split('#').pop() : '')
          || String(res.headers['x-amzn-errortype'] || '').split(':')[0];
        const message = (json && (json.message || json.Message)) || text.slice(0, 500);
        const err = new Error(`Kinesis ${op}: HTTP ${res.statusCode} ${type}: ${message}`);
        err.type = type;
        err.statusCode = res.statusCode;
        reject(err);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`Kinesis ${op}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function describeStreamSummary(endpoint, stream, opts) {
  const res = await kinesisRequest(endpoint, 'DescribeStreamSummary', { StreamName: stream }, opts);
  return res.StreamDescriptionSummary;
}

// Resolves once `stream` is ACTIVE; throws with its last status after timeoutMs.
async function waitActive(endpoint, stream, { timeoutMs = 10000, ...opts } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = (await describeStreamSummary(endpoint, stream, opts)).StreamStatus;
      if (last === 'ACTIVE') return;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) throw new Error(`stream ${stream} not ACTIVE within ${timeoutMs} ms (last: ${last})`);
    await sleep(50);
  }
}

// Creates `stream` with `shards` shards and waits until it is ACTIVE.
async function createStream(endpoint, stream, shards = 1, opts = {}) {
  await kinesisRequest(endpoint, 'CreateStream', { StreamName: stream, ShardCount: shards }, opts);
  await waitActive(endpoint, stream, opts);
}

async function deleteStream(endpoint, stream, opts) {
  await kinesisRequest(endpoint, 'DeleteStream', { StreamName: stream }, opts);
}

// Every shard of `stream` (open and closed) as AWS describes them
// ({ShardId, ParentShardId?, AdjacentParentShardId?, HashKeyRange,
// SequenceNumberRange: {StartingSequenceNumber, EndingSequenceNumber?}}),
// following NextToken.
async function listShards(endpoint, stream, opts) {
  const shards = [];
  let params = { StreamName: stream };
  for (;;) {
    const res = await kinesisRequest(endpoint, 'ListShards', params, opts);
    shards.push(...(res.Shards || []));
    if (!res.NextToken) return shards;
    params = { NextToken: res.NextToken }; // never with StreamName
  }
}

// Puts `records` ([{partitionKey, data: Buffer|string, explicitHashKey?}],
// strings as UTF-8) in order, 500 per request. Resolves with one
// {shardId, sequenceNumber} per record; throws if any record failed.
async function putRecords(endpoint, stream, records, opts) {
  const out = [];
  for (let i = 0; i < records.length; i += 500) {
    const batch = records.slice(i, i + 500);
    const res = await kinesisRequest(endpoint, 'PutRecords', {
      StreamName: stream,
      Records: batch.map((r) => {
        const entry = { PartitionKey: String(r.partitionKey), Data: Buffer.from(r.data).toString('base64') };
        if (r.explicitHashKey !== undefined) entry.ExplicitHashKey = String(r.explicitHashKey);
        return entry;
      }),
    }, opts);
    const failed = (res.Records || []).filter((r) => r.ErrorCode);
    if (res.FailedRecordCount || failed.length || (res.Records || []).length !== batch.length) {
      throw new Error(`PutRecords to ${stream}: ${res.FailedRecordCount} of ${batch.length} failed: `
        + JSON.stringify(failed.slice(0, 5)));
    }
    for (const r of res.Records) out.push({ shardId: r.ShardId, sequenceNumber: r.SequenceNumber });
  }
  return out;
}

// A shard iterator: type 'TRIM_HORIZON' | 'LATEST' | 'AT_SEQUENCE_NUMBER' |
// 'AFTER_SEQUENCE_NUMBER' (with sequenceNumber) | 'AT_TIMESTAMP' (with
// timestamp: a Date or milliseconds).
async function shardIterator(endpoint, stream, shardId, { type = 'TRIM_HORIZON', sequenceNumber, timestamp } = {}, opts) {
  const params = { StreamName: stream, ShardId: shardId, ShardIteratorType: type };
  if (sequenceNumber !== undefined) params.StartingSequenceNumber = sequenceNumber;
  if (timestamp !== undefined) params.Timestamp = Number(timestamp) / 1000;
  return (await kinesisRequest(endpoint, 'GetShardIterator', params, opts)).ShardIterator;
}

// One GetRecords: {records: [{sequenceNumber, partitionKey, data: Buffer,
// arrival: ms}], nextIterator (null at the end of a closed shard),
// millisBehindLatest}.
async function getRecords(endpoint, iterator, { limit, ...opts } = {}) {
  const params = { ShardIterator: iterator };
  if (limit) params.Limit = limit;
  const res = await kinesisRequest(endpoint, 'GetRecords', params, opts);
  return {
    records: (res.Records || []).map((r) => ({
      sequenceNumber: r.SequenceNumber,
      partitionKey: r.PartitionKey,
      data: Buffer.from(r.Data || '', 'base64'),
      arrival: Math.round(Number(r.ApproximateArrivalTimestamp) * 1000),
    })),
    nextIterator: res.NextShardIterator || null,
    millisBehindLatest: res.MillisBehindLatest,
  };
}

// Compares two decimal sequence numbers (-1, 0, 1).
function compareSequence(a, b) {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// Reads every shard of `stream` from TRIM_HORIZON (closed parents to their
// end, children as they appear) until at least `count` records were seen,
// then on for `settleMs` more (to catch records beyond `count`). Resolves
// with the records ([{shardId, sequenceNumber, partitionKey, data: Buffer,
// arrival}]), shard by shard in ListShards order, each shard's in sequence
// order. Throws after timeoutMs with how many it saw in which shard (the
// error's `records` has them).
async function readAll(endpoint, stream, { count, timeoutMs = 20000, settleMs = 0, intervalMs = 100, ...opts } = {}) {
  if (!(count >= 0)) throw new Error('readAll: give a count');
  const deadline = Date.now() + timeoutMs;
  const shards = new Map(); // shardId -> {iterator, done, records}
  let total = 0;
  let settleUntil = null;
  let lastError = null;
  const describe = () => [...shards].map(([id, s]) => `${id}: ${s.records.length}${s.done ? ' (read to its end)' : ''}`).join(', ');
  for (;;) {
    let progress = false;
    try {
      for (const s of await listShards(endpoint, stream, opts)) {
        if (!shards.has(s.ShardId)) shards.set(s.ShardId, { iterator: null, done: false, records: [] });
      }
      for (const [id, s] of shards) {
        if (s.done) continue;
        if (!s.iterator) {
          const last = s.records[s.records.length - 1];
          s.iterator = await shardIterator(endpoint, stream, id, last
            ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: last.sequenceNumber }
            : { type: 'TRIM_HORIZON' }, opts);
        }
        // Drain this shard as far as it goes now.
        for (;;) {
          let res;
          try {
            res = await getRecords(endpoint, s.iterator, opts);
          } catch (e) {
            if (e.type === 'ExpiredIteratorException') {
              s.iterator = null; // from the last record read, next round
              break;
            }
            throw e;
          }
          for (const r of res.records) s.records.push({ shardId: id, ...r });
          total += res.records.length;
          if (res.records.length) progress = true;
          s.iterator = res.nextIterator;
          if (!s.iterator) {
            s.done = true;
            break;
          }
          if (!res.records.length) break;
        }
      }
      lastError = null;
    } catch (e) {
      lastError = e;
    }
    const now = Date.now();
    if (total >= count) {
      if (settleUntil === null) settleUntil = now + settleMs;
      if (now >= settleUntil) break;
    }
    if (now > deadline) {
      const seen = [...shards.values()].flatMap((s) => s.records);
      const err = new Error(`readAll ${stream}: saw ${total} of ${count} records within ${timeoutMs} ms `
        + `(${describe()})${lastError ? `; last error: ${lastError.message}` : ''}`);
      err.records = seen;
      throw err;
    }
    if (!progress) await sleep(intervalMs);
  }
  return [...shards.values()].flatMap((s) => s.records);
}

// Splits `shardId` at newStartingHashKey (default: the middle of its hash key
// range) and waits until the stream is ACTIVE again. Resolves with the
// shards after the split.
async function splitShard(endpoint, stream, shardId, newStartingHashKey, opts = {}) {
  if (newStartingHashKey === undefined) {
    const shard = (await listShards(endpoint, stream, opts)).find((s) => s.ShardId === shardId);
    if (!shard) throw new Error(`splitShard: no shard ${shardId} in ${stream}`);
    const lo = BigInt(shard.HashKeyRange.StartingHashKey);
    const hi = BigInt(shard.HashKeyRange.EndingHashKey);
    newStartingHashKey = (lo + (hi - lo) / 2n).toString();
  }
  await kinesisRequest(endpoint, 'SplitShard', {
    StreamName: stream, ShardToSplit: shardId, NewStartingHashKey: String(newStartingHashKey),
  }, opts);
  await waitActive(endpoint, stream, opts);
  return listShards(endpoint, stream, opts);
}

// Merges two open shards with adjacent hash key ranges and waits until the
// stream is ACTIVE again. Resolves with the shards after the merge.
async function mergeShards(endpoint, stream, shardId, adjacentShardId, opts = {}) {
  await kinesisRequest(endpoint, 'MergeShards', {
    StreamName: stream, ShardToMerge: shardId, AdjacentShardToMerge: adjacentShardId,
  }, opts);
  await waitActive(endpoint, stream, opts);
  return listShards(endpoint, stream, opts);
}

// The ExplicitHashKey that lands a record in `shard` (the start of its range).
function hashKeyIn(shard) {
  return shard.HashKeyRange.StartingHashKey;
}

module.exports = {
  DEFAULT_CREDENTIALS,
  DEFAULT_REGION,
  MAX_HASH_KEY,
  cleanup,
  compareSequence,
  createStream,
  deleteStream,
  describeStreamSummary,
  getRecords,
  hashKeyIn,
  kinesisRequest,
  listShards,
  mergeShards,
  putRecords,
  readAll,
  shardIterator,
  signedHeaders,
  splitShard,
  startKinesis,
  waitActive,
};
