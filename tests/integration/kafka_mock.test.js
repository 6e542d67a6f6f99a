'use strict';
// The Kafka test peer itself (hearth-kafka-mock and the kcat helpers of
// kafka.js), without a node, so that a broken peer is not mistaken for a
// broken Hearth: records with any bytes go in and come out exactly; offsets,
// fault-injection commands, failures reported loudly, and a clean exit.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const k = require('./kafka');

let mock;

before(async () => {
  mock = await k.startKafkaMock({ topics: { records: 3, side: 3 } });
});

after(async () => {
  await k.cleanup();
});

// 100 records over 10 keys; every fifth value is binary (newlines, NUL,
// 0xff, CR, bytes that look like kcat's escapes), one is empty.
function hundredRecords() {
  const out = [];
  for (let i = 0; i < 100; i++) {
    let value = `value-${i}`;
    if (i % 5 === 0) value = Buffer.concat([Buffer.from(`bin-${i}\n\0`), Buffer.from([0xff, 0x00, 0x0a, 0x0d, 0x1e, 0x1f, i]), Buffer.from('\\x01\n')]);
    if (i === 42) value = '';
    out.push({ key: `key-${i % 10}`, value });
  }
  return out;
}

test('100 keyed records, some binary, come back exactly: keys, values, count, order per key', async () => {
  const sent = hundredRecords();
  await k.produce(mock.bootstrap, 'records', sent);
  const got = await k.consume(mock.bootstrap, 'records', { count: 100, timeoutMs: 30000 });
  assert.equal(got.length, 100);

  // Each key's records sit in one partition, in the order they were sent.
  const byKey = new Map();
  for (const r of got) {
    if (!byKey.has(r.key)) byKey.set(r.key, []);
    byKey.get(r.key).push(r);
  }
  assert.equal(byKey.size, 10);
  for (const [key, records] of byKey) {
    const expected = sent.filter((s) => s.key === key).map((s) => Buffer.from(s.value));
    assert.equal(new Set(records.map((r) => r.partition)).size, 1, `${key} in one partition`);
    assert.deepEqual(records.map((r) => r.value), expected, `${key}'s values, in order`);
    assert.deepEqual(records.map((r) => r.keyBytes), records.map(() => Buffer.from(key)));
  }
  assert.ok(new Set(got.map((r) => r.partition)).size > 1, 'the keys spread over the partitions');
  for (const r of got) assert.deepEqual(r.headers, {});

  const hw = await k.offsets(mock.bootstrap, 'records');
  assert.equal(hw.length, 3);
  assert.equal(hw.reduce((a, b) => a + b, 0), 100);
  for (let p = 0; p < 3; p++) assert.equal(got.filter((r) => r.partition === p).length, hw[p], `partition ${p}`);
});

test('explicit partitions, null keys, tombstones and headers', async () => {
  await k.produce(mock.bootstrap, 'side', [
    { key: null, value: 'no key', partition: 2 },
    { key: 'tomb', value: null, partition: 2 },
    { key: '', value: Buffer.from([0]), partition: 2 },
    { key: 'h', value: 'with headers', partition: 1, headers: { a: '1', b: 'two' } },
  ]);
  const p2 = await k.consume(mock.bootstrap, 'side', { count: 3, partition: 2 });
  assert.deepEqual(p2.map((r) => [r.key, r.value, r.offset]),
    [[null, Buffer.from('no key'), 0], ['tomb', null, 1], ['', Buffer.from([0]), 2]]);
  const all = await k.consume(mock.bootstrap, 'side', { count: 4 });
  assert.deepEqual(all.find((r) => r.key === 'h').headers, { a: '1', b: 'two' });
  assert.deepEqual(await k.offsets(mock.bootstrap, 'side'), [0, 1, 3]);
});

test('fault-injection commands answer ok; the cluster serves again after a broker is back', async () => {
  assert.equal(await mock.command('broker-down 1'), 'ok');
  assert.equal(await mock.command('broker-up 1'), 'ok');
  assert.equal(await mock.command('topic more 2'), 'ok');
  assert.equal(await mock.command('leader more 0 2'), 'ok');
  assert.equal(await mock.command('request-errors 0 NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT'), 'ok');
  await assert.rejects(mock.command('broker-down 99'), /answered "error /);
  await assert.rejects(mock.command('no-such-command'), /answered "error unknown command/);
  // The two injected Produce errors are retried by the idempotent producer.
  await k.produce(mock.bootstrap, 'more', [{ key: 'a', value: 'after', partition: 0 }]);
  const got = await k.consume(mock.bootstrap, 'more', { count: 1 });
  assert.deepEqual(got.map((r) => [r.key, r.value.toString()]), [['a', 'after']]);
  assert.deepEqual(await k.offsets(mock.bootstrap, 'more'), [1, 0]);
});

test('failures are loud: too few records, too many, an undeliverable record', async () => {
  await assert.rejects(k.consume(mock.bootstrap, 'records', { count: 101, timeoutMs: 1500 }), /saw 100/);
  await assert.rejects(k.consume(mock.bootstrap, 'records', { count: 99 }), /exactly 99 records in records, found 100/);
  assert.equal((await k.consume(mock.bootstrap, 'records', { count: 99, exact: false })).length, 100);
  await assert.rejects(k.produce(mock.bootstrap, 'records', [{ key: 'x', value: 'y', partition: 7 }], { timeoutMs: 5000 }),
    /exited with 1[\s\S]*Unknown partition/);
  await assert.rejects(k.produce(mock.bootstrap, 'records', [{ key: null, value: '' }]), /cannot send/);
});

test('the mock exits 0 on SIGTERM and when its stdin closes', async () => {
  const other = await k.startKafkaMock({ topics: { t: 1 }, brokers: 1 });
  assert.match(other.bootstrap, /^127\.0\.0\.1:\d+$/);
  process.kill(other.pid, 'SIGTERM');
  assert.deepEqual(await other.exited, { code: 0, signal: null });
  const third = await k.startKafkaMock();
  assert.equal(third.bootstrap.split(',').length, 3);
  assert.equal(await third.stop(), 0);
});
