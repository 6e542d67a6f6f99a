'use strict';
// Connectors in a three-node cluster, with checkpoints in S3: the Kafka
// partitions of an ingress are spread over the members; one member is
// SIGKILLed and never comes back (its data dir is deleted); the survivors
// restore its key groups from the bucket and read its Kafka partitions from
// the checkpoint's offsets. Every message is applied exactly once: nothing
// the lost machine had taken is lost, because Kafka still holds it.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('./harness');
const k = require('./kafka');
const { startS3 } = require('./s3');
const { StateFun, kafkaEgressMessage } = require('apache-flink-statefun');
const c = require('./connector_checks');
const { serveStateFun } = require('../functions/servers');

const FAST = ['--set', 'cluster.heartbeat=300ms', '--set', 'cluster.node_timeout=3s',
  '--set', 'checkpoint.interval=300ms'];

let server;
let mock;
let s3;
const calls = {};

before(async () => {
  const statefun = new StateFun();
  c.bindCounter(statefun, {
    typename: 'kafka/counter', commandType: 'kafka/Command', calls,
    egress: (context, value) => kafkaEgressMessage({
      typename: 'com.example/counts', topic: 'counts', key: context.self.id, value,
    }),
  });
  server = await serveStateFun(statefun);
  mock = await k.startKafkaMock({ topics: { commands: 6, counts: 2 } });
  s3 = await startS3({ bucket: 'cluster-checkpoints' });
});

after(async () => {
  await h.cleanup();
  if (server) await server.close();
  await k.cleanup();
  if (s3) await s3.stop();
});

function moduleYaml() {
  return `kind: io.statefun.endpoints.v2/http
spec:
  functions: kafka/*
  urlPathTemplate: http://127.0.0.1:${server.port}/statefun
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: com.example/commands
  address: ${mock.bootstrap}
  startupPosition:
    type: earliest
  topics:
    - topic: commands
      valueType: kafka/Command
      targets:
        - kafka/counter
---
kind: io.statefun.kafka.v1/egress
spec:
  id: com.example/counts
  address: ${mock.bootstrap}
  deliverySemantic:
    type: exactly-once
`;
}

async function epochOf(nodes, members) {
  let epoch = 0;
  await h.poll(async () => {
    const states = await Promise.all(nodes.map(async (n) => {
      const [c, health] = await Promise.all([h.request(`${n.admin}/cluster`), h.request(`${n.admin}/health`)]);
      return `${c.json.epoch}/${c.json.members.length}/${health.json.pipeline}`;
    }));
    epoch = Number(states[0].split('/')[0]);
    return new Set(states).size === 1 && states[0].endsWith(`/${members}/running`);
  }, 90000, `a running ${members}-node epoch`);
  return epoch;
}

const commands = (ids, from, to) => c.commands(ids, from, to, (key, value) => ({ key, value }));

test('a member lost for good: the survivors take over its key groups from S3 and its Kafka partitions from the checkpoint', { timeout: 240000 }, async () => {
  const nodes = [];
  const env = { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
  for (const id of ['n1', 'n2', 'n3']) {
    const args = ['--checkpoint-dir', `s3://${s3.bucket}/hearth`, '--set', `s3.endpoint=${s3.endpoint}`,
      '--cluster-port', '0', '--node-id', id, '--set', 'partitions=2', ...FAST];
    if (nodes.length > 0) args.push('--join', nodes[0].cluster);
    nodes.push(await h.startNode({ module: moduleYaml(), args, env }));
  }
  await epochOf(nodes, 3);
  const ids = Array.from({ length: 24 }, (_, i) => `key-${i}`);
  const rounds = 20;
  await k.produce(mock.bootstrap, 'commands', commands(ids, 0, rounds / 2));
  await h.poll(() => calls.counter > ids.length * 3, 60000, 'some records applied');
  // A checkpoint covers some of them: n3's key groups are in the bucket.
  const res = await h.request(`${nodes[0].admin}/checkpoints`, { method: 'POST' });
  assert.equal(res.status, 200, res.text);

  const lost = nodes.pop();
  await lost.stop('SIGKILL');
  fs.rmSync(lost.dataDir, { recursive: true, force: true });
  await k.produce(mock.bootstrap, 'commands', commands(ids, rounds / 2, rounds));
  await epochOf(nodes, 2);

  await h.assertStoredCounts(nodes[0].admin, 'kafka', 'counter', Object.fromEntries(ids.map((id) => [id, rounds])));
  const all = await k.consume(mock.bootstrap, 'counts', { count: ids.length * rounds, timeoutMs: 90000, exact: false });
  c.checkCounts(all, ids, rounds, { keyOf: (r) => r.key, valueOf: (r) => r.value.toString(), type: 'kafka/Command' });
  for (const n of nodes) assert.equal(await n.stop('SIGTERM'), 0);
});
