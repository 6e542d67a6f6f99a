'use strict';
// The Kafka connector, against librdkafka's mock cluster (tests/tools/kafka_mock.cpp)
// and kcat: records produced to a topic reach the functions (key = id, value
// passed through as the topic's valueType, one message per target); functions'
// kafkaEgressMessage records come out in the right topics with the right keys,
// exactly-once and at-least-once; a node SIGKILLed mid-stream resumes from its
// checkpoint's offsets with exact function state and loses no egress record.
// The mock does not enforce read_committed (see docs/connectors.md), so what a
// transactional consumer would see is checked on Hearth's side: its
// transaction counters.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const k = require('./kafka');
const { StateFun, kafkaEgressMessage } = require('apache-flink-statefun');
const { serveStateFun } = require('../functions/servers');

const COMMAND = StateFun.jsonType('kafka/Command');

// kafka/counter counts its messages and writes "<id>:<count>:<n>" to the
// exactly-once egress (topic `counts`); kafka/echo writes what it received
// (typename and raw value) to the at-least-once egress (topic `echo`).
function kafkaFunctions() {
  const statefun = new StateFun();
  const calls = { counter: 0, echo: 0 };
  statefun.bind({
    typename: 'kafka/counter',
    specs: [{ name: 'count', type: StateFun.intType() }],
    fn(context, message) {
      calls.counter++;
      const cmd = message.as(COMMAND);
      const count = (context.storage.count || 0) + 1;
      context.storage.count = count;
      context.send(kafkaEgressMessage({
        typename: 'com.example/counts', topic: 'counts', key: context.self.id,
        value: `${context.self.id}:${count}:${cmd.n}`,
      }));
    },
  });
  statefun.bind({
    typename: 'kafka/echo',
    fn(context, message) {
      calls.echo++;
      context.send(kafkaEgressMessage({
        typename: 'com.example/echo', topic: 'echo', key: context.self.id,
        value: JSON.stringify({ type: message.valueTypeName, value: message.rawValueBytes.toString('utf8') }),
      }));
    },
  });
  return { statefun, calls };
}

function kafkaModule(functionsPort, bootstrap, { startup = 'earliest', group = '' } = {}) {
  return `kind: io.statefun.endpoints.v2/http
spec:
  functions: kafka/*
  urlPathTemplate: http://127.0.0.1:${functionsPort}/statefun
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: com.example/commands
  address: ${bootstrap}
${group ? `  consumerGroupId: ${group}\n` : ''}  startupPosition:
    type: ${startup}
  topics:
    - topic: commands
      valueType: kafka/Command
      targets:
        - kafka/counter
        - kafka/echo
---
kind: io.statefun.kafka.v1/egress
spec:
  id: com.example/counts
  address: ${bootstrap}
  deliverySemantic:
    type: exactly-once
    transactionTimeout: 1min
---
kind: io.statefun.kafka.v1/egress
spec:
  id: com.example/echo
  address: ${bootstrap}
  deliverySemantic:
    type: at-least-once
`;
}

let fns;
let server;

before(async () => {
  fns = kafkaFunctions();
  server = await serveStateFun(fns.statefun);
});

after(async () => {
  await h.cleanup();
  if (server) await server.close();
  await k.cleanup();
});

// Prometheus text -> value of the first series matching name and every label.
async function metric(node, name, labels) {
  const res = await h.request(`${node.admin}/metrics`);
  for (const line of res.text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([key, v]) => line.includes(`${key}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

const commands = (ids, from, to) => {
  const out = [];
  for (let n = from; n < to; n++) for (const id of ids) out.push({ key: id, value: JSON.stringify({ n }) });
  return out;
};

test('records from a topic reach every target; egress records come out with the right keys', { timeout: 180000 }, async () => {
  const mock = await k.startKafkaMock({ topics: { commands: 3, counts: 2, echo: 1 } });
  const node = await h.startNode({
    module: kafkaModule(server.port, mock.bootstrap, { group: 'hearth-test' }),
    args: ['--set', 'checkpoint.interval=300ms'],
  });
  const ids = Array.from({ length: 12 }, (_, i) => `user-${i}`);
  await k.produce(mock.bootstrap, 'commands', commands(ids, 0, 5));
  const total = ids.length * 5;

  const counts = await k.consume(mock.bootstrap, 'counts', { count: total, timeoutMs: 90000 });
  assert.equal(counts.length, total);
  const seen = new Map();
  for (const r of counts) {
    const [id, count, n] = r.value.toString().split(':');
    assert.equal(r.key, id, 'the record key is the function id');
    seen.set(`${id}:${count}`, Number(n));
  }
  for (const id of ids)
    for (let c = 1; c <= 5; c++)
      assert.equal(seen.get(`${id}:${c}`), c - 1, `${id}'s message ${c} applied in order, once`);

  const echoes = await k.consume(mock.bootstrap, 'echo', { count: total, timeoutMs: 60000 });
  assert.equal(echoes.length, total);
  for (const r of echoes) {
    const got = JSON.parse(r.value.toString());
    assert.equal(got.type, 'kafka/Command', 'the value keeps the topic valueType');
    assert.ok(ids.includes(r.key));
    assert.match(got.value, /^\{"n":\d\}$/, 'the value passes through untouched');
  }
  assert.equal(await metric(node, 'hearth_kafka_records_in', { topic: 'commands' }), total);
  assert.equal(await metric(node, 'hearth_kafka_records_out', { egress: 'com.example/counts', topic: 'counts' }), total);
  assert.ok(await metric(node, 'hearth_kafka_transactions', { outcome: 'committed' }) >= 1);
  assert.equal(await metric(node, 'hearth_kafka_transactions', { outcome: 'aborted' }), 0);
  assert.equal(await node.stop('SIGTERM'), 0);
});

test('a node SIGKILLed mid-stream resumes from its checkpoint offsets: exact state, every egress record', { timeout: 240000 }, async () => {
  const mock = await k.startKafkaMock({ topics: { commands: 3, counts: 2, echo: 1 } });
  const moduleYaml = kafkaModule(server.port, mock.bootstrap);
  const dataDir = h.makeTempDir('hearth-kafka-');
  const args = ['--set', 'checkpoint.interval=200ms'];
  let node = await h.startNode({ module: moduleYaml, dataDir, args });
  const ids = Array.from({ length: 20 }, (_, i) => `k${i}`);
  const rounds = 30;
  const base = fns.calls.counter;
  await k.produce(mock.bootstrap, 'commands', commands(ids, 0, rounds / 2));
  // Kill once some records were applied, and a checkpoint covers some of them.
  await h.poll(() => fns.calls.counter - base > ids.length * 3, 60000, 'some records applied');
  await h.poll(async () => (await metric(node, 'hearth_checkpoints', {})) > 0, 60000, 'a checkpoint');
  await node.stop('SIGKILL');
  const producing = k.produce(mock.bootstrap, 'commands', commands(ids, rounds / 2, rounds));
  node = await h.startNode({ module: moduleYaml, dataDir, args });
  await producing;
  await h.assertStoredCounts(node.admin, 'kafka', 'counter', Object.fromEntries(ids.map((id) => [id, rounds])));

  // Every count of every id came out; a count never carries another message
  // (a replayed record recomputes the same value). Transactions aborted by
  // the kill may leave records a read_committed consumer would not see.
  const all = await k.consume(mock.bootstrap, 'counts', { count: ids.length * rounds, timeoutMs: 90000, exact: false });
  const byCount = new Map();
  for (const r of all) {
    const [id, count, n] = r.value.toString().split(':');
    const key = `${id}:${count}`;
    if (byCount.has(key)) assert.equal(byCount.get(key), n, `${key} carries one message`);
    byCount.set(key, n);
  }
  for (const id of ids)
    for (let c = 1; c <= rounds; c++) assert.equal(byCount.get(`${id}:${c}`), String(c - 1), `${id}:${c}`);
  assert.equal(await node.stop('SIGTERM'), 0);
});

test('a failed transaction is aborted and its records produced again; nothing is lost', { timeout: 180000 }, async () => {
  const mock = await k.startKafkaMock({ topics: { commands: 3, counts: 2, echo: 1 } });
  const node = await h.startNode({
    module: kafkaModule(server.port, mock.bootstrap),
    args: ['--set', 'checkpoint.interval=300ms'],
  });
  const ids = Array.from({ length: 10 }, (_, i) => `t${i}`);
  await k.produce(mock.bootstrap, 'commands', commands(ids, 0, 3));
  await k.consume(mock.bootstrap, 'counts', { count: ids.length * 3, timeoutMs: 60000 });
  const committed = await metric(node, 'hearth_kafka_transactions', { outcome: 'committed' });
  // The broker answers the next EndTxn as if a newer producer had fenced this one.
  await mock.command('request-errors 26 INVALID_PRODUCER_EPOCH');
  await k.produce(mock.bootstrap, 'commands', commands(ids, 3, 6));
  await h.poll(async () => (await metric(node, 'hearth_kafka_transactions', { outcome: 'aborted' })) >= 1,
    60000, 'an aborted transaction');
  const all = await k.consume(mock.bootstrap, 'counts', { count: ids.length * 6, timeoutMs: 90000, exact: false });
  const byCount = new Map(all.map((r) => {
    const [id, count, n] = r.value.toString().split(':');
    return [`${id}:${count}`, n];
  }));
  for (const id of ids)
    for (let c = 1; c <= 6; c++) assert.equal(byCount.get(`${id}:${c}`), String(c - 1), `${id}:${c}`);
  await h.poll(async () => (await metric(node, 'hearth_kafka_transactions', { outcome: 'committed' })) > committed,
    60000, 'a new producer committing after the failed transaction');
  assert.match(node.stderr(), /Kafka egress com\.example\/counts: .*goes out again/);
  assert.equal(await node.stop('SIGTERM'), 0);
});
