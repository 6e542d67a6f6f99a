'use strict';
// Drives the shopping cart of examples/aws through Kinesis, as a client on
// AWS would: restocks socks (5) and hats (1) on `inventory-requests`, then
// alice adds 2 socks, bob 1 hat and carol 1 hat (out of stock by then) on
// `cart-requests`, each put once the previous result is back, and prints the
// results read from the streams `inventory` and `cart-results`. Only records
// put after it started count, so it can run again against the same streams.
//
//   KINESIS=http://127.0.0.1:4567 node examples/aws/drive.js
//
// Exits 1 when a result does not arrive within DRIVE_TIMEOUT_MS (60 s).

const kin = require('../../tests/integration/kinesis');

const KINESIS = process.env.KINESIS || 'http://127.0.0.1:4567';
const TIMEOUT_MS = Number(process.env.DRIVE_TIMEOUT_MS || 60000);
const deadline = Date.now() + TIMEOUT_MS;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Reads a stream's records from the moment of open() on, every shard.
class StreamReader {
  constructor(stream) {
    this.stream = stream;
    this.iterators = new Map(); // shard id -> next iterator (null: closed shard read to its end)
    this.pending = []; // records read, not yet taken
  }

  async open() {
    for (const shard of await kin.listShards(KINESIS, this.stream)) {
      if (shard.SequenceNumberRange.EndingSequenceNumber) continue; // closed before we started
      this.iterators.set(shard.ShardId, await kin.shardIterator(KINESIS, this.stream, shard.ShardId, { type: 'LATEST' }));
    }
    return this;
  }

  async poll() {
    for (const [shardId, iterator] of this.iterators) {
      if (!iterator) continue;
      const { records, nextIterator } = await kin.getRecords(KINESIS, iterator);
      this.iterators.set(shardId, nextIterator);
      for (const r of records) this.pending.push({ partitionKey: r.partitionKey, value: JSON.parse(r.data.toString()) });
    }
  }

  // Resolves with the first record `match(value)` accepts, removed from the pending ones.
  async take(match, what) {
    for (;;) {
      const i = this.pending.findIndex((r) => match(r.value));
      if (i >= 0) return this.pending.splice(i, 1)[0];
      if (Date.now() > deadline) {
        throw new Error(`drive: no ${what} on the stream ${this.stream} within ${TIMEOUT_MS / 1000} s `
          + '(is hearth-node running with this module? its log says why not)');
      }
      await this.poll();
      await sleep(200);
    }
  }
}

const put = (stream, partitionKey, value) =>
  kin.putRecords(KINESIS, stream, [{ partitionKey, data: JSON.stringify(value) }]);

async function main() {
  const stock = await new StreamReader('inventory').open();
  const results = await new StreamReader('cart-results').open();

  await put('inventory-requests', 'socks', { itemId: 'socks', quantity: 5 });
  await put('inventory-requests', 'hats', { itemId: 'hats', quantity: 1 });
  for (const itemId of ['socks', 'hats']) {
    const r = await stock.take((v) => v.itemId === itemId, `stock report for ${itemId}`);
    console.log(`stock    ${r.value.itemId.padEnd(6)} ${r.value.inStock} in stock   (inventory, key ${r.partitionKey})`);
  }
  for (const [userId, itemId, quantity] of [['alice', 'socks', 2], ['bob', 'hats', 1], ['carol', 'hats', 1]]) {
    await put('cart-requests', userId, { userId, itemId, quantity });
    const r = await results.take((v) => v.userId === userId && v.itemId === itemId, `result for ${userId}`);
    const v = r.value;
    const cart = Object.entries(v.cart).map(([item, n]) => `${n} ${item}`).join(', ') || 'empty';
    console.log(`${v.userId.padEnd(8)} ${v.quantity} ${v.itemId.padEnd(6)} ${v.status.padEnd(12)} cart: ${cart.padEnd(10)}`
      + ` (cart-results, key ${r.partitionKey})`);
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
