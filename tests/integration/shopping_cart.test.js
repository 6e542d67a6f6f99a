'use strict';
// The shopping-cart example end to end: its own functions and module.yaml
// (ports moved to free ones), driven through the playground ingress/egress.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const h = require('./harness');
const buildHandler = require('../../examples/shopping-cart/functions');


let server;
let node;

const restock = (itemId, quantity) =>
  h.sendOk(node.ingress, 'com.example', 'inventory', itemId, { itemId, quantity }, 'com.example/Restock');

const addToCart = (userId, itemId, quantity) =>
  h.sendOk(node.ingress, 'com.example', 'cart', userId, { userId, itemId, quantity }, 'com.example/AddToCart');

const result = (userId, itemId, quantity, status, cart) =>
  JSON.stringify({ userId, itemId, quantity, status, cart });

before(async () => {
  server = http.createServer(buildHandler());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  node = await h.startNode({ module: h.shoppingCartModule(server.address().port) });
  assert.ok(node.ingress && node.egress && node.admin, 'ready line lacks ingress, egress or admin');
});

after(async () => {
  await h.cleanup();
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('restocks are reported on the inventory topic', { timeout: 120000 }, async () => {
  await restock('socks', 5);
  await restock('hats', 1);
  const records = await h.collectEgress(node.egress, 'inventory', 2);
  assert.deepEqual(records.sort(), [
    JSON.stringify({ itemId: 'hats', inStock: 1 }),
    JSON.stringify({ itemId: 'socks', inStock: 5 }),
  ]);
});

test('carts reserve stock until it runs out', { timeout: 120000 }, async () => {
  await addToCart('alice', 'socks', 2);
  assert.deepEqual(await h.collectEgress(node.egress, 'cart-results', 1),
    [result('alice', 'socks', 2, 'reserved', { socks: 2 })]);

  await addToCart('bob', 'hats', 1);
  assert.deepEqual(await h.collectEgress(node.egress, 'cart-results', 1),
    [result('bob', 'hats', 1, 'reserved', { hats: 1 })]);

  await addToCart('carol', 'hats', 1);
  assert.deepEqual(await h.collectEgress(node.egress, 'cart-results', 1),
    [result('carol', 'hats', 1, 'out-of-stock', {})]);

  await addToCart('alice', 'socks', 3);
  assert.deepEqual(await h.collectEgress(node.egress, 'cart-results', 1),
    [result('alice', 'socks', 3, 'reserved', { socks: 5 })]);

  // Socks are sold out now; alice's cart keeps what it had.
  await addToCart('alice', 'socks', 1);
  assert.deepEqual(await h.collectEgress(node.egress, 'cart-results', 1),
    [result('alice', 'socks', 1, 'out-of-stock', { socks: 5 })]);
});

test('a restock lets an out-of-stock customer try again', { timeout: 120000 }, async () => {
  await restock('hats', 2);
  assert.deepEqual(await h.collectEgress(node.egress, 'inventory', 1),
    [JSON.stringify({ itemId: 'hats', inStock: 2 })]);
  await addToCart('carol', 'hats', 2);
  assert.deepEqual(await h.collectEgress(node.egress, 'cart-results', 1),
    [result('carol', 'hats', 2, 'reserved', { hats: 2 })]);
});

test('nothing else was emitted', { timeout: 60000 }, async () => {
  assert.equal(await h.popEgress(node.egress, 'cart-results'), null);
  assert.equal(await h.popEgress(node.egress, 'inventory'), null);
});

test('the egress answers 405 for an undeclared topic', { timeout: 60000 }, async () => {
  const res = await h.request(`${node.egress}/receipts`);
  assert.equal(res.status, 405);
});
