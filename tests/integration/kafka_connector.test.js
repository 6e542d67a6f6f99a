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
const c = require('./connector_checks');
const { serveStateFun } = require('../functions/servers');

// kafka/counter counts its messages and writes "<id>:<count>:<n>:<type>" to
// the exactly-once egress (topic `counts`); kafka/echo writes what it
// received (typename and raw value) to the at-least-once egress (topic `echo`).
function kafkaFunctions() {
  const statefun = new StateFun();
  const calls = { echo: 0 };
  c.bindCounter(statefun, {
    typename: 'kafka/counter', commandType: 'kafka/Command', calls,
    egress: (context, value) => kafkaEgressMessage({
      typename: 'com.example/counts', topic: 'counts', key: context.self.id, value,
    }),
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

const metric = c.metric;
const commands = (ids, from, to) => c.commands(ids, from, to, (key, value) => ({ key, value }));
const countsOf = (records, ids, rounds) =>
  c.checkCounts(records, ids, rounds, { keyOf: (r) => r.key, valueOf: (r) => r.value.toString(), type: 'kafka/Command' });

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
  countsOf(counts, ids, 5);

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
  assert.equal(await metric(node, 'hearth_kafka_transactions', { outcome: 'aborted' }), 0,
    `no transaction was aborted; the node said:\n${node.stderr().slice(-4000)}`);
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
  countsOf(await k.consume(mock.bootstrap, 'counts', { count: ids.length * rounds, timeoutMs: 90000, exact: false }),
    ids, rounds);
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
  countsOf(all, ids, 6);
  await h.poll(async () => (await metric(node, 'hearth_kafka_transactions', { outcome: 'committed' })) > committed,
    60000, 'a new producer committing after the failed transaction');
  assert.match(node.stderr(), /Kafka egress com\.example\/counts: .*goes out again/);
  assert.equal(await node.stop('SIGTERM'), 0);
});

test('with Kafka gone, the node still stops promptly on SIGTERM', { timeout: 180000 }, async () => {
  const mock = await k.startKafkaMock({ topics: { commands: 3, counts: 2, echo: 1 } });
  const node = await h.startNode({
    module: kafkaModule(server.port, mock.bootstrap), args: ['--set', 'checkpoint.interval=200ms'],
  });
  const ids = ['g0', 'g1', 'g2'];
  await k.produce(mock.bootstrap, 'commands', commands(ids, 0, 2));
  await k.consume(mock.bootstrap, 'counts', { count: ids.length * 2, timeoutMs: 60000 });
  const base = fns.calls.counter;
  await k.produce(mock.bootstrap, 'commands', commands(ids, 2, 3));
  await h.poll(() => fns.calls.counter - base >= ids.length, 60000, 'the last records applied');
  await mock.stop(); // every broker gone, records possibly waiting to be produced
  const started = Date.now();
  assert.equal(await node.stop('SIGTERM'), 0);
  assert.ok(Date.now() - started < 20000, `stopped in ${Date.now() - started} ms`);
});
