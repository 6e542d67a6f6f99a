'use strict';
// The Kinesis test peer itself (kinesalite and the helpers of kinesis.js),
// without a node, so that a broken peer is not mistaken for a broken Hearth:
// records with any bytes go in and come out exactly; reads follow a split
// and a merge from the closed parents into the children; a killed peer
// refuses connections, and one with a data dir keeps its records across a
// restart.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const k = require('./kinesis');

after(async () => {
  await k.cleanup();
});

// `n` records over 10 partition keys; every fifth is binary (NUL, 0xff,
// CR/LF, invalid UTF-8), one is empty.
function records(n, prefix) {
  const out = [];
  for (let i = 0; i < n; i++) {
    let data = Buffer.from(`${prefix}-${i}`);
    if (i % 5 === 0) data = Buffer.concat([Buffer.from(`${prefix}-bin-${i}\n\0`), Buffer.from([0xff, 0x00, 0x0a, 0x0d, 0xc3, 0x28, i])]);
    if (i === 7) data = Buffer.alloc(0);
    out.push({ partitionKey: `key-${i % 10}`, data });
  }
  return out;
}

// Asserts that `got` holds exactly the records `sent` (same keys and bytes,
// each once) and that each key's records came back in the order sent.
function assertExactly(got, sent) {
  assert.equal(got.length, sent.length, 'record count');
  const byKey = (list) => {
    const m = new Map();
    for (const r of list) {
      if (!m.has(r.partitionKey)) m.set(r.partitionKey, []);
      m.get(r.partitionKey).push(Buffer.from(r.data));
    }
    return m;
  };
  const want = byKey(sent);
  const have = byKey(got);
  assert.deepEqual([...have.keys()].sort(), [...want.keys()].sort());
  for (const [key, values] of want) assert.deepEqual(have.get(key), values, `${key}'s records, in order`);
}

test('a 2-shard stream: 50 records with binary data come back exactly, each key in one shard in order', async () => {
  const peer = await k.startKinesis();
  await k.createStream(peer.endpoint, 'records', 2);
  const summary = await k.describeStreamSummary(peer.endpoint, 'records');
  assert.equal(summary.StreamStatus, 'ACTIVE');
  assert.equal(summary.OpenShardCount, 2);

  const sent = records(50, 'r');
  const put = await k.putRecords(peer.endpoint, 'records', sent);
  assert.equal(put.length, 50);

  const got = await k.readAll(peer.endpoint, 'records', { count: 50, settleMs: 300 });
  assertExactly(got, sent);
  const shardsOf = new Map();
  for (const r of got) {
    if (!shardsOf.has(r.partitionKey)) shardsOf.set(r.partitionKey, new Set());
    shardsOf.get(r.partitionKey).add(r.shardId);
  }
  for (const [key, shards] of shardsOf) assert.equal(shards.size, 1, `${key} in one shard`);
  assert.equal(new Set(got.map((r) => r.shardId)).size, 2, 'the keys spread over both shards');

  // PutRecords' answers name the shard and sequence number each record got.
  const bySeq = new Map(got.map((r) => [r.sequenceNumber, r]));
  for (let i = 0; i < sent.length; i++) {
    const r = bySeq.get(put[i].sequenceNumber);
    assert.ok(r, `record ${i}'s sequence number was read`);
    assert.equal(r.shardId, put[i].shardId);
    assert.deepEqual(r.data, Buffer.from(sent[i].data));
  }
  // Within a shard, sequence numbers ascend.
  for (const id of new Set(got.map((r) => r.shardId))) {
    const seqs = got.filter((r) => r.shardId === id).map((r) => r.sequenceNumber);
    assert.deepEqual([...seqs].sort(k.compareSequence), seqs);
  }

  // AFTER_SEQUENCE_NUMBER and an explicit hash key.
  const shards = await k.listShards(peer.endpoint, 'records');
  const first = got.find((r) => r.shardId === shards[1].ShardId);
  const it = await k.shardIterator(peer.endpoint, 'records', shards[1].ShardId, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: first.sequenceNumber });
  const rest = await k.getRecords(peer.endpoint, it);
  assert.equal(rest.records.length, got.filter((r) => r.shardId === shards[1].ShardId).length - 1);
  const [pinned] = await k.putRecords(peer.endpoint, 'records', [{ partitionKey: 'key-0', data: 'pinned', explicitHashKey: k.hashKeyIn(shards[1]) }]);
  assert.equal(pinned.shardId, shards[1].ShardId);

  await assert.rejects(k.describeStreamSummary(peer.endpoint, 'no-such-stream'), (e) => e.type === 'ResourceNotFoundException');
  assert.equal(await peer.stop(), 0);
});

test('a split and a merge: reads go from the closed parents into the children, every record once', async () => {
  const peer = await k.startKinesis();
  await k.createStream(peer.endpoint, 'resharded', 2);
  const before = records(20, 'before');
  await k.putRecords(peer.endpoint, 'resharded', before);

  const [parent] = await k.listShards(peer.endpoint, 'resharded');
  const afterSplit = await k.splitShard(peer.endpoint, 'resharded', parent.ShardId);
  assert.equal(afterSplit.length, 4);
  const closed = afterSplit.find((s) => s.ShardId === parent.ShardId);
  assert.ok(closed.SequenceNumberRange.EndingSequenceNumber, 'the split parent is closed');
  const children = afterSplit.filter((s) => s.ParentShardId === parent.ShardId);
  assert.equal(children.length, 2);
  for (const c of children) assert.equal(c.SequenceNumberRange.EndingSequenceNumber, undefined);

  const middle = records(30, 'middle');
  await k.putRecords(peer.endpoint, 'resharded', middle);

  // Merge the two children back into one.
  const [lo, hi] = children.sort((a, b) => (BigInt(a.HashKeyRange.StartingHashKey) < BigInt(b.HashKeyRange.StartingHashKey) ? -1 : 1));
  const afterMerge = await k.mergeShards(peer.endpoint, 'resharded', lo.ShardId, hi.ShardId);
  assert.equal(afterMerge.length, 5);
  const merged = afterMerge.find((s) => s.ParentShardId === lo.ShardId && s.AdjacentParentShardId === hi.ShardId);
  assert.ok(merged, 'the merged shard names both parents');

  const last = records(10, 'last');
  await k.putRecords(peer.endpoint, 'resharded', last);

  const sent = [...before, ...middle, ...last];
  const got = await k.readAll(peer.endpoint, 'resharded', { count: sent.length, settleMs: 300 });
  assertExactly(got, sent);

  const shardOf = (prefix) => new Set(got.filter((r) => r.data.toString('latin1').startsWith(prefix)).map((r) => r.shardId));
  const otherOriginal = afterSplit.find((s) => !s.ParentShardId && s.ShardId !== parent.ShardId).ShardId;
  // Before the split: the parent and the other original shard only.
  for (const id of shardOf('before')) assert.ok([parent.ShardId, otherOriginal].includes(id), `before in ${id}`);
  // Between split and merge: the children (not the closed parent).
  for (const id of shardOf('middle')) assert.ok([lo.ShardId, hi.ShardId, otherOriginal].includes(id), `middle in ${id}`);
  assert.ok([...shardOf('middle')].some((id) => id === lo.ShardId || id === hi.ShardId), 'some records in the children');
  // After the merge: the merged shard (not its closed parents).
  for (const id of shardOf('last')) assert.ok([merged.ShardId, otherOriginal].includes(id), `last in ${id}`);
  assert.equal(await peer.stop(), 0);
});

test('a killed peer refuses connections; with a data dir, a restart on the same port keeps the records', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-kinesalite-'));
  try {
    let peer = await k.startKinesis({ dataDir });
    await k.createStream(peer.endpoint, 'kept', 1);
    const sent = records(10, 'kept');
    await k.putRecords(peer.endpoint, 'kept', sent);
    const { port, endpoint } = peer;
    const { signal } = await peer.kill();
    assert.equal(signal, 'SIGKILL');
    await assert.rejects(k.listShards(endpoint, 'kept'), (e) => e.code === 'ECONNREFUSED');

    peer = await k.startKinesis({ dataDir, port });
    assert.equal(peer.endpoint, endpoint);
    assertExactly(await k.readAll(peer.endpoint, 'kept', { count: 10, settleMs: 200 }), sent);
    assert.equal(await peer.stop(), 0);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('readAll fails loudly, naming what it saw, when fewer records arrive', async () => {
  const peer = await k.startKinesis();
  await k.createStream(peer.endpoint, 'short', 1);
  await k.putRecords(peer.endpoint, 'short', records(3, 'short'));
  await assert.rejects(k.readAll(peer.endpoint, 'short', { count: 4, timeoutMs: 500 }), (e) => {
    assert.match(e.message, /saw 3 of 4 records/);
    assert.match(e.message, /shardId-000000000000: 3/);
    assert.equal(e.records.length, 3);
    return true;
  });
  await peer.stop();
});
