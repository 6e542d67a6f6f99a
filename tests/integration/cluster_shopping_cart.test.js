'use strict';
// The shopping-cart example on a three-node cluster: its own functions and
// module.yaml (ports moved to free ones), carts and inventory spread over
// the nodes by their key groups, driven through every node's ingress, the
// results read from every node's egress. Carts and inventory talk to each
// other across nodes; each result comes out once.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const h = require('./harness');
const buildHandler = require('../../examples/shopping-cart/functions');

const FAST = ['--set', 'cluster.heartbeat=500ms', '--set', 'cluster.node_timeout=4s',
  '--set', 'checkpoint.interval=300ms'];

let server;
let shared;
const nodes = [];

const restock = (node, itemId, quantity) =>
  h.sendOk(node.ingress, 'com.example', 'inventory', itemId, { itemId, quantity }, 'com.example/Restock');

const addToCart = (node, userId, itemId, quantity) =>
  h.sendOk(node.ingress, 'com.example', 'cart', userId, { userId, itemId, quantity }, 'com.example/AddToCart');

// Pops `count` records of `topic`, asking the nodes' egress in turn.
async function collect(topic, count) {
  const out = [];
  let i = 0;
  await h.poll(async () => {
    const rec = await h.popEgress(nodes[i++ % nodes.length].egress, topic);
    if (rec !== null) out.push(rec);
    return out.length >= count;
  }, 60000, () => `${count} records on ${topic} (got ${JSON.stringify(out)})`, 20);
  return out;
}

before(async () => {
  server = http.createServer(buildHandler());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  shared = h.makeTempDir('hearth-cluster-cart-');
  const moduleYaml = h.shoppingCartModule(server.address().port);
  for (const id of ['n1', 'n2', 'n3']) {
    const args = ['--checkpoint-dir', shared, '--cluster-port', '0', '--node-id', id, ...FAST];
    if (nodes.length > 0) args.push('--join', nodes[0].cluster);
    nodes.push(await h.startNode({ module: moduleYaml, args }));
  }
  await h.poll(async () => {
    const states = await Promise.all(nodes.map(async (n) => {
      const [c, health] = await Promise.all([h.request(`${n.admin}/cluster`), h.request(`${n.admin}/health`)]);
      return `${c.json.epoch}/${c.json.members.length}/${health.json.pipeline}`;
    }));
    return new Set(states).size === 1 && states[0].endsWith('/3/running');
  }, 90000, 'a running three-node epoch');
});

after(async () => {
  await h.cleanup();
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const ITEMS = Array.from({ length: 6 }, (_, i) => `item${i}`);
const USERS = Array.from({ length: 12 }, (_, i) => `user${i}`);

test('carts and inventory spread over the nodes reserve stock through every ingress', { timeout: 180000 }, async () => {
  for (const [i, item] of ITEMS.entries()) await restock(nodes[i % 3], item, 10);
  const stocked = await collect('inventory', ITEMS.length);
  assert.deepEqual(stocked.sort(), ITEMS.map((itemId) => JSON.stringify({ itemId, inStock: 10 })).sort());

  await h.runParallel(USERS.length, 6, (u) => addToCart(nodes[u % 3], USERS[u], ITEMS[u % ITEMS.length], 2));
  const results = (await collect('cart-results', USERS.length)).map((r) => JSON.parse(r));
  assert.equal(new Set(results.map((r) => r.userId)).size, USERS.length, 'one result per user');
  for (const r of results) {
    const u = USERS.indexOf(r.userId);
    assert.deepEqual(r, { userId: r.userId, itemId: ITEMS[u % ITEMS.length], quantity: 2, status: 'reserved',
      cart: { [ITEMS[u % ITEMS.length]]: 2 } });
  }

  // Carts and inventory live on more than one node.
  const listed = await h.request(`${nodes[1].admin}/actors?limit=1000`);
  assert.equal(listed.status, 200, listed.text);
  const where = (type) => new Set(listed.json.actors
    .filter((a) => a.address.namespace === 'com.example' && a.address.type === type).map((a) => a.node));
  assert.ok(where('cart').size >= 2, `carts on ${[...where('cart')]}`);
  assert.ok(where('inventory').size >= 2, `inventory on ${[...where('inventory')]}`);
});

test('the last item goes to one customer; a restock lets the other try again', { timeout: 180000 }, async () => {
  await restock(nodes[2], 'rare', 1);
  assert.deepEqual(await collect('inventory', 1), [JSON.stringify({ itemId: 'rare', inStock: 1 })]);
  await addToCart(nodes[0], 'ann', 'rare', 1);
  assert.deepEqual((await collect('cart-results', 1)).map((r) => JSON.parse(r).status), ['reserved']);
  await addToCart(nodes[1], 'ben', 'rare', 1);
  assert.deepEqual((await collect('cart-results', 1)).map((r) => JSON.parse(r).status), ['out-of-stock']);
  await restock(nodes[0], 'rare', 1);
  await collect('inventory', 1);
  await addToCart(nodes[2], 'ben', 'rare', 1);
  assert.deepEqual((await collect('cart-results', 1)).map((r) => JSON.parse(r).status), ['reserved']);
});

test('nothing else was emitted, on any node', { timeout: 60000 }, async () => {
  for (const n of nodes) {
    assert.equal(await h.popEgress(n.egress, 'cart-results'), null);
    assert.equal(await h.popEgress(n.egress, 'inventory'), null);
  }
});
