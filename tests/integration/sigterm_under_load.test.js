'use strict';
// SIGTERM under load, 20 times in a row: every stop must exit 0 (a crash at
// shutdown, such as a destructor touching something already gone, fails it),
// and every acknowledged message is applied exactly once across the restarts.
//
// Senders use one Idempotency-Key per message and retry it until it is
// answered 2xx (a request cut by the shutdown has an unknown outcome), so
// the stored count of each address must equal its acknowledged keys.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const { startTestFunctions } = require('../functions/servers');

const ROUNDS = 20;
const IDS = 12;
const ACKS_PER_ROUND = 60; // acknowledged messages before each SIGTERM

let fns;

before(async () => {
  fns = await startTestFunctions();
});

after(async () => {
  await h.cleanup();
  if (fns) await fns.close();
});

test(`${ROUNDS} SIGTERMs under load: exit 0 every time, every acknowledged message applied once`, { timeout: 600000 }, async () => {
  const moduleYaml = h.testModule({ port: fns.port, call: '60s' });
  const dataDir = h.makeTempDir('hearth-sigterm-');
  const args = ['--set', 'checkpoint.interval=200ms', '--set', 'partitions=2'];
  const current = { ingress: null };
  const acked = {};
  let ackedTotal = 0;
  let stopping = false;
  let ackWaiter = null;

  async function sender(id) {
    acked[id] = 0;
    for (let seq = 0; !stopping; seq++) {
      const key = `${id}-${seq}`;
      for (;;) { // the same key until it is acknowledged
        const ingress = current.ingress;
        if (ingress) {
          const res = await h.request(`${ingress}/test/counter/${id}`, {
            method: 'PUT',
            headers: { 'Content-Type': `application/vnd.${h.STRING_TYPENAME}`, 'Idempotency-Key': key },
            body: h.encodeValue('inc', h.STRING_TYPENAME),
          }).catch(() => ({ status: 0 }));
          if (res.status === 200) break;
        }
        await h.sleep(10); // the node is restarting: try again
      }
      acked[id]++;
      ackedTotal++;
      if (ackWaiter && ackedTotal >= ackWaiter.target) ackWaiter.resolve();
    }
  }

  const untilAcked = (target) => new Promise((resolve) => {
    if (ackedTotal >= target) resolve();
    else ackWaiter = { target, resolve };
  });

  let node = await h.startNode({ module: moduleYaml, dataDir, args });
  current.ingress = node.ingress;
  const senders = Array.from({ length: IDS }, (_, i) => sender(`k${i}`));
  for (let round = 0; round < ROUNDS; round++) {
    await untilAcked(ackedTotal + ACKS_PER_ROUND);
    current.ingress = null;
    const code = await node.stop('SIGTERM');
    assert.equal(code, 0, `exit code after SIGTERM in round ${round + 1}\n${node.stderr().slice(-4000)}`);
    assert.ok(node.stderr().includes('hearth-node: stopped'), `round ${round + 1}: the node logged its stop`);
    node = await h.startNode({ module: moduleYaml, dataDir, args });
    current.ingress = node.ingress;
  }
  stopping = true;
  await Promise.all(senders);
  const health = await h.health(node.admin);
  assert.equal(health.status, 200, health.text);
  await h.assertStoredCounts(node.admin, 'test', 'counter', acked);
  assert.equal(await node.stop('SIGTERM'), 0, node.stderr().slice(-4000));
});
