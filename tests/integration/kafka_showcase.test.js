'use strict';
// The StateFun playground's JavaScript showcase module.yaml (a Kafka ingress
// of topic `names` to showcase/serving, an exactly-once Kafka egress), as it
// is apart from the broker address, against the mock cluster: names produced
// with kcat (key = the name, value = a GreetRequest JSON) reach
// showcase/serving, which counts how often it has seen each name, as the
// showcase's function does.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const k = require('./kafka');
const { StateFun } = require('apache-flink-statefun');
const { serveStateFun } = require('../functions/servers');

// The showcase's module.yaml; only `kafka:9092` and the endpoint's host differ.
const SHOWCASE = `kind: io.statefun.endpoints.v2/http
spec:
  functions: showcase/*
  urlPathTemplate: http://host-machine:8000/statefun
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: showcase/names
  address: kafka:9092
  consumerGroupId: my-group-id
  topics:
    - topic: names
      valueType: showcase/GreetRequest
      targets:
        - showcase/serving
---
kind: io.statefun.kafka.v1/egress
spec:
  id: showcase/greets
  address: kafka:9092
  deliverySemantic:
    type: exactly-once
    transactionTimeoutMillis: 100000
`;

const GREET = StateFun.jsonType('showcase/GreetRequest');
const greetings = [];
let server;

before(async () => {
  const statefun = new StateFun();
  statefun.bind({
    typename: 'showcase/serving',
    specs: [{ name: 'seen', type: StateFun.intType() }],
    fn(context, message) {
      const seen = (context.storage.seen || 0) + 1;
      context.storage.seen = seen;
      greetings.push(`Hello ${message.as(GREET).name}! I've seen you ${seen} times!`);
    },
  });
  server = await serveStateFun(statefun);
});

after(async () => {
  await h.cleanup();
  if (server) await server.close();
  await k.cleanup();
});

test("the showcase's module.yaml runs unchanged apart from addresses", { timeout: 120000 }, async () => {
  const mock = await k.startKafkaMock({ topics: { names: 2 } });
  const moduleYaml = SHOWCASE.replaceAll('kafka:9092', mock.bootstrap)
    .replace('http://host-machine:8000', `http://127.0.0.1:${server.port}`);
  // The ingress's default startupPosition is latest: the node runs before the names are produced.
  const node = await h.startNode({ module: moduleYaml, args: ['--set', 'checkpoint.interval=300ms'] });
  await h.poll(async () => (await h.request(`${node.admin}/metrics`)).text.includes('hearth_kafka_consumer_lag'),
    30000, 'the ingress reading its partitions');
  const names = ['Joe', 'Anna', 'Li', 'Joe', 'Anna', 'Joe'];
  await k.produce(mock.bootstrap, 'names', names.map((name) => ({ key: name, value: JSON.stringify({ name }) })));
  const want = { Joe: 3, Anna: 2, Li: 1 };
  const seen = async () => Object.fromEntries(await Promise.all(Object.keys(want).map(
    async (name) => [name, await h.storedInt(node.admin, 'showcase', 'serving', name, 'seen')])));
  await h.poll(async () => JSON.stringify(await seen()) === JSON.stringify(want), 60000, 'every name seen');
  assert.deepEqual(await seen(), want);
  assert.ok(greetings.includes("Hello Joe! I've seen you 3 times!"));
  assert.equal(await node.stop('SIGTERM'), 0);
});
