'use strict';
// Checks the test function servers and the shopping-cart functions against
// a minimal request-reply client, without a node.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startTestFunctions } = require('./servers');
const { invoke, values, decodeInt, decodeString } = require('./fake_runtime');
const buildCartHandler = require('../../examples/shopping-cart/functions');

const COMMAND = 'test/Command';
const cmd = (v) => values.json(COMMAND, v);

let fns;

before(async () => {
  fns = await startTestFunctions({ counterEgressTopic: 'counts', ttlWriteMs: 1500, ttlCallMs: 2500 });
});

after(async () => {
  if (fns) await fns.close();
});

test('a first request without state gets the missing specs, then the batch runs', async () => {
  const url = fns.url('/counter');
  const batch = [{ value: values.string('a') }, { value: values.string('b') }];

  const first = await invoke(url, { target: ['test/counter', 'x'], invocations: batch });
  assert.equal(first.status, 200);
  assert.equal(first.contentType, 'application/octet-stream');
  assert.deepEqual(first.answer, {
    kind: 'incomplete',
    missing: [{ name: 'count', typename: 'io.statefun.types/int', expiration: null }],
  });
  assert.equal(fns.records.counter.invocations.x, undefined, 'no user code ran');

  const second = await invoke(url, { target: ['test/counter', 'x'], state: { count: null }, invocations: batch });
  assert.equal(second.answer.kind, 'result');
  assert.equal(second.answer.mutations.length, 1);
  assert.equal(second.answer.mutations[0].type, 'MODIFY');
  assert.equal(decodeInt(second.answer.mutations[0].value.bytes), 2, 'later invocations see earlier writes');
  assert.deepEqual(second.answer.egress.map((e) => [e.namespace, e.type, e.value.typename]),
    Array(2).fill(['io.statefun.playground', 'egress', 'io.statefun.playground/EgressRecord']));
  assert.deepEqual(JSON.parse(second.answer.egress[1].value.bytes), { topic: 'counts', payload: '{"id":"x","count":2}' });

  const third = await invoke(url, { target: ['test/counter', 'x'], state: { count: values.int(2) }, invocations: [{ value: cmd({ op: 'get' }) }] });
  assert.deepEqual(third.answer.mutations, []);
  assert.deepEqual(fns.records.counter.reads.x, [2]);

  const log = fns.stats.log.filter((e) => e.fn === 'test/counter' && e.id === 'x');
  assert.deepEqual(log.map((e) => [e.invocations, e.state.map((s) => `${s.name}:${s.hasValue}`).join(), e.response]), [
    [2, '', 'incomplete'],
    [2, 'count:false', 'result'],
    [1, 'count:true', 'result'],
  ]);
  assert.equal(fns.stats.byAddress['test/counter/x'], 3);
  assert.equal(fns.records.counter.maxInflight.x, 1);
});

test('overlapping requests for one address are detected', async () => {
  const url = fns.url('/counter');
  const many = Array.from({ length: 30 }, () => ({ value: values.string('inc') }));
  await Promise.all([1, 2].map(() => invoke(url, { target: ['test/counter', 'overlap'], state: { count: null }, invocations: many })));
  assert.equal(fns.records.counter.maxInflight.overlap, 2);
  assert.equal(fns.stats.maxInflightByAddress['test/counter/overlap'], 2);
  assert.equal(fns.stats.inflightByAddress['test/counter/overlap'], 0);
});

test('test/ttl declares its expiration modes', async () => {
  const r = await invoke(fns.url('/ttl'), { target: ['test/ttl', 't'], invocations: [{ value: cmd({ op: 'read' }) }] });
  assert.deepEqual(r.answer.missing, [
    { name: 'seen', typename: 'io.statefun.types/int', expiration: { mode: 1, ms: 1500 } },
    { name: 'touched', typename: 'io.statefun.types/int', expiration: { mode: 2, ms: 2500 } },
  ]);
  const w = await invoke(fns.url('/ttl'), { target: ['test/ttl', 't'], state: { seen: null, touched: values.int(4) }, invocations: [{ value: cmd({ op: 'write' }) }] });
  assert.deepEqual(w.answer.mutations.map((m) => [m.name, decodeInt(m.value.bytes)]), [['seen', 1], ['touched', 5]]);
  assert.deepEqual(fns.records.ttl.calls.t.map((c) => [c.op, c.seen, c.touched]), [['write', null, 4]]);
});

test('test/delayer sends and cancels delayed messages', async () => {
  const url = fns.url('/delayer');
  const send = await invoke(url, { target: ['test/delayer', 'd'], invocations: [{ value: cmd({ op: 'send', delayMs: 1234, token: 'tk', target: 'r', label: 'hi' }) }] });
  assert.equal(send.answer.delayed.length, 1);
  const [d] = send.answer.delayed;
  assert.equal(d.cancel, false);
  assert.equal(d.token, 'tk');
  assert.equal(d.delayMs, 1234);
  assert.deepEqual(d.target, { namespace: 'test', type: 'recorder', id: 'r' });
  assert.equal(decodeString(d.value.bytes), 'hi');

  const cancel = await invoke(url, { target: ['test/delayer', 'd'], invocations: [{ value: cmd({ op: 'cancel', token: 'tk' }) }] });
  assert.deepEqual(cancel.answer.delayed.map((x) => [x.cancel, x.token]), [[true, 'tk']]);
});

test('test/recorder and test/pinger: callers', async () => {
  const ping = await invoke(fns.url('/pinger'), { target: ['test/pinger', 'p'], invocations: [{ value: cmd({ target: 'r9' }) }] });
  assert.deepEqual(ping.answer.messages.map((m) => [m.target, decodeString(m.value.bytes)]),
    [[{ namespace: 'test', type: 'recorder', id: 'r9' }, 'ping']]);

  const rec = await invoke(fns.url('/recorder'), {
    target: ['test/recorder', 'r9'],
    state: { count: null },
    invocations: [{ value: values.string('ping'), caller: ['test/pinger', 'p'] }, { value: values.string('plain') }],
  });
  assert.equal(rec.answer.kind, 'result');
  assert.deepEqual(fns.records.recorder.deliveries.r9.map((d) => [d.value, d.caller, d.count]), [
    ['ping', { namespace: 'test', type: 'pinger', id: 'p' }, 1],
    ['plain', null, 2],
  ]);
  const entry = fns.stats.log.filter((e) => e.fn === 'test/recorder').at(-1);
  assert.deepEqual(entry.callers, [{ namespace: 'test', type: 'pinger', id: 'p' }, null]);
});

test('test/flaky answers 500 while failing', async () => {
  const req = { target: ['test/flaky', 'f'], state: { count: null }, invocations: [{ value: cmd({ label: 'one' }) }] };
  fns.records.flaky.failing = true;
  const failed = await invoke(fns.url('/flaky'), req);
  assert.equal(failed.status, 500);
  assert.equal(fns.stats.log.at(-1).response, 'error');
  fns.records.flaky.failing = false;
  const ok = await invoke(fns.url('/flaky'), req);
  assert.equal(ok.status, 200);
  assert.deepEqual(fns.records.flaky.processed.f, [{ label: 'one', count: 1 }]);
  assert.equal(fns.records.flaky.attempts.f, 2);
});

test('GET /stats reports the counters', async () => {
  const res = await fetch(fns.url('/stats'));
  assert.equal(res.status, 200);
  const stats = await res.json();
  assert.equal(stats.mode, 'up');
  assert.equal(stats.requests, fns.stats.requests);
  assert.ok(stats.byFunction['test/counter'] >= 3);
});

test('the server goes down and comes back on the same port', async () => {
  const req = { target: ['test/counter', 'updown'], state: { count: null }, invocations: [{ value: values.string('inc') }] };
  const port = fns.port;

  await fns.down('503');
  const unavailable = await invoke(fns.url('/counter'), req);
  assert.equal(unavailable.status, 503);
  assert.equal(fns.stats.unavailable, 1);
  await fns.up();

  await fns.down('refuse');
  await assert.rejects(invoke(fns.url('/counter'), req), (err) => /fetch failed/.test(err.message));
  await fns.up();
  assert.equal(fns.port, port);
  const back = await invoke(fns.url('/counter'), req);
  assert.equal(back.status, 200);
  assert.equal(fns.records.counter.counts.updown, 1);
});

test('shopping cart: cart, inventory and egress', async () => {
  const server = http.createServer(buildCartHandler());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  try {
    const add = await invoke(url, {
      target: ['com.example/cart', 'alice'],
      state: { items: null },
      invocations: [{ value: values.json('com.example/AddToCart', { userId: 'alice', itemId: 'socks', quantity: 2 }) }],
    });
    assert.deepEqual(add.answer.messages.map((m) => [m.target, m.value.typename, JSON.parse(m.value.bytes)]), [
      [{ namespace: 'com.example', type: 'inventory', id: 'socks' }, 'com.example/RequestItem', { itemId: 'socks', quantity: 2 }],
    ]);

    const handshake = await invoke(url, {
      target: ['com.example/inventory', 'socks'],
      invocations: [{ value: values.json('com.example/Restock', { itemId: 'socks', quantity: 5 }) }],
    });
    assert.deepEqual(handshake.answer.missing.map((m) => m.name), ['num_in_stock', 'num_reserved']);

    const restock = await invoke(url, {
      target: ['com.example/inventory', 'socks'],
      state: { num_in_stock: null, num_reserved: null },
      invocations: [{ value: values.json('com.example/Restock', { itemId: 'socks', quantity: 5 }) }],
    });
    assert.deepEqual(restock.answer.mutations.map((m) => [m.name, decodeInt(m.value.bytes)]), [['num_in_stock', 5]]);
    assert.deepEqual(JSON.parse(restock.answer.egress[0].value.bytes), { topic: 'inventory', payload: '{"itemId":"socks","inStock":5}' });

    const reserve = await invoke(url, {
      target: ['com.example/inventory', 'socks'],
      state: { num_in_stock: values.int(5), num_reserved: null },
      invocations: [
        { value: values.json('com.example/RequestItem', { itemId: 'socks', quantity: 2 }), caller: ['com.example/cart', 'alice'] },
        { value: values.json('com.example/RequestItem', { itemId: 'socks', quantity: 4 }), caller: ['com.example/cart', 'bob'] },
      ],
    });
    assert.deepEqual(reserve.answer.mutations.map((m) => [m.name, decodeInt(m.value.bytes)]), [['num_in_stock', 3], ['num_reserved', 2]]);
    assert.deepEqual(reserve.answer.messages.map((m) => [m.target.id, m.value.typename, JSON.parse(m.value.bytes)]), [
      ['alice', 'com.example/ItemReserved', { itemId: 'socks', quantity: 2 }],
      ['bob', 'com.example/ItemOutOfStock', { itemId: 'socks', requested: 4, available: 3 }],
    ]);

    const reserved = await invoke(url, {
      target: ['com.example/cart', 'alice'],
      state: { items: values.json('com.example/CartItems', { hats: 1 }) },
      invocations: [{ value: values.json('com.example/ItemReserved', { itemId: 'socks', quantity: 2 }), caller: ['com.example/inventory', 'socks'] }],
    });
    assert.deepEqual(JSON.parse(reserved.answer.egress[0].value.bytes), {
      topic: 'cart-results',
      payload: JSON.stringify({ userId: 'alice', itemId: 'socks', quantity: 2, status: 'reserved', cart: { hats: 1, socks: 2 } }),
    });
    assert.deepEqual(JSON.parse(reserved.answer.mutations[0].value.bytes), { hats: 1, socks: 2 });

    const out = await invoke(url, {
      target: ['com.example/cart', 'bob'],
      state: { items: null },
      invocations: [{ value: values.json('com.example/ItemOutOfStock', { itemId: 'socks', requested: 4, available: 3 }), caller: ['com.example/inventory', 'socks'] }],
    });
    assert.deepEqual(out.answer.mutations, []);
    assert.equal(JSON.parse(out.answer.egress[0].value.bytes).payload,
      JSON.stringify({ userId: 'bob', itemId: 'socks', quantity: 4, status: 'out-of-stock', cart: {} }));
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
