'use strict';
// The Kinesis connector, against kinesalite (in memory, 127.0.0.1): records
// put to a stream reach the functions (partition key = id, data passed
// through as the stream's valueType), kinesisEgressMessage records come out
// in the right stream with the right partition keys, a node SIGKILLed
// mid-stream resumes from its checkpoint's shard positions with exact
// function state, and a shard split while records flow keeps every key's
// order (the parent is read to its end before its children).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const kin = require('./kinesis');
const { StateFun, kinesisEgressMessage } = require('apache-flink-statefun');
const c = require('./connector_checks');
const { serveStateFun } = require('../functions/servers');

function kinesisFunctions() {
  const statefun = new StateFun();
  const calls = {};
  c.bindCounter(statefun, {
    typename: 'kinesis/counter', commandType: 'kinesis/Command', calls,
    egress: (context, value) => kinesisEgressMessage({
      typename: 'com.example/results', stream: 'results', partitionKey: context.self.id, value,
    }),
  });
  return { statefun, calls };
}

function kinesisModule(functionsPort, endpoint) {
  return `kind: io.statefun.endpoints.v2/http
spec:
  functions: kinesis/*
  urlPathTemplate: http://127.0.0.1:${functionsPort}/statefun
---
kind: io.statefun.kinesis.v1/ingress
spec:
  id: com.example/commands
  awsRegion:
    type: custom-endpoint
    endpoint: ${endpoint}
    id: us-east-1
  awsCredentials:
    type: basic
    accessKeyId: test-key
    secretAccessKey: test-secret
  startupPosition:
    type: earliest
  streams:
    - stream: commands
      valueType: kinesis/Command
      targets:
        - kinesis/counter
---
kind: io.statefun.kinesis.v1/egress
spec:
  id: com.example/results
  awsRegion:
    type: custom-endpoint
    endpoint: ${endpoint}
    id: us-east-1
  awsCredentials:
    type: basic
    accessKeyId: test-key
    secretAccessKey: test-secret
  maxOutstandingRecords: 50
`;
}

let fns;
let server;

before(async () => {
  fns = kinesisFunctions();
  server = await serveStateFun(fns.statefun);
});

after(async () => {
  await h.cleanup();
  if (server) await server.close();
  await kin.cleanup();
});

const commands = (ids, from, to) =>
  c.commands(ids, from, to, (partitionKey, data) => ({ partitionKey, data }));
const checkResults = (records, ids, rounds) => c.checkCounts(records, ids, rounds, {
  keyOf: (r) => r.partitionKey, valueOf: (r) => r.data.toString(), type: 'kinesis/Command',
});

test('records from a stream reach the functions; egress records come out in the right stream', { timeout: 180000 }, async () => {
  const peer = await kin.startKinesis();
  await kin.createStream(peer.endpoint, 'commands', 2);
  await kin.createStream(peer.endpoint, 'results', 1);
  const node = await h.startNode({
    module: kinesisModule(server.port, peer.endpoint),
    args: ['--set', 'checkpoint.interval=300ms'],
  });
  const ids = Array.from({ length: 8 }, (_, i) => `user-${i}`);
  await kin.putRecords(peer.endpoint, 'commands', commands(ids, 0, 5));
  const results = await kin.readAll(peer.endpoint, 'results', { count: ids.length * 5, timeoutMs: 90000 });
  assert.equal(results.length, ids.length * 5);
  checkResults(results, ids, 5);
  assert.equal(await node.stop('SIGTERM'), 0);
});

test('a node SIGKILLed mid-stream resumes from its checkpoint positions, and a split keeps each key in order', { timeout: 240000 }, async () => {
  const peer = await kin.startKinesis();
  await kin.createStream(peer.endpoint, 'commands', 2);
  await kin.createStream(peer.endpoint, 'results', 1);
  const moduleYaml = kinesisModule(server.port, peer.endpoint);
  const dataDir = h.makeTempDir('hearth-kinesis-');
  const args = ['--set', 'checkpoint.interval=200ms'];
  let node = await h.startNode({ module: moduleYaml, dataDir, args });
  const ids = Array.from({ length: 10 }, (_, i) => `k${i}`);
  const rounds = 24;
  const base = fns.calls.counter;
  await kin.putRecords(peer.endpoint, 'commands', commands(ids, 0, 8));
  await h.poll(() => fns.calls.counter - base > ids.length * 2, 60000, 'some records applied');
  await node.stop('SIGKILL');
  // While the node is down: more records, then a split of a shard, then more.
  await kin.putRecords(peer.endpoint, 'commands', commands(ids, 8, 16));
  const open = (await kin.listShards(peer.endpoint, 'commands')).filter((s) => !s.SequenceNumberRange.EndingSequenceNumber);
  await kin.splitShard(peer.endpoint, 'commands', open[0].ShardId);
  node = await h.startNode({ module: moduleYaml, dataDir, args });
  await kin.putRecords(peer.endpoint, 'commands', commands(ids, 16, rounds));
  await h.assertStoredCounts(node.admin, 'kinesis', 'counter', Object.fromEntries(ids.map((id) => [id, rounds])));
  const results = await kin.readAll(peer.endpoint, 'results', { count: ids.length * rounds, timeoutMs: 90000 });
  checkResults(results, ids, rounds);
  assert.equal(await node.stop('SIGTERM'), 0);
});
