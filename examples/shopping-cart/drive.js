'use strict';
// Drives the shopping-cart example through a running hearth-node:
// restocks socks (5) and hats (1), then alice adds 2 socks, bob 1 hat and
// carol 1 hat (out of stock by then), printing each result from the egress.
//
//   INGRESS=http://127.0.0.1:8090 EGRESS=http://127.0.0.1:8091 node drive.js

const INGRESS = process.env.INGRESS || 'http://127.0.0.1:8090';
const EGRESS = process.env.EGRESS || 'http://127.0.0.1:8091';
const deadline = Date.now() + 30000;

async function send(fnType, id, messageType, value) {
  const res = await fetch(`${INGRESS}/com.example/${fnType}/${id}`, {
    method: 'PUT',
    headers: { 'Content-Type': `application/vnd.com.example/${messageType}` },
    body: JSON.stringify(value),
  });
  if (res.status !== 200) throw new Error(`ingress: ${res.status} ${await res.text()}`);
}

// Waits for the next record of an egress topic (200 = one record, 404 = none yet).
async function next(topic) {
  while (Date.now() < deadline) {
    const res = await fetch(`${EGRESS}/${topic}`);
    if (res.status === 200) return JSON.parse(await res.text());
    if (res.status !== 404) throw new Error(`egress: ${res.status} ${await res.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no record on ${topic} within 30 s`);
}

async function main() {
  await send('inventory', 'socks', 'Restock', { itemId: 'socks', quantity: 5 });
  await send('inventory', 'hats', 'Restock', { itemId: 'hats', quantity: 1 });
  for (let i = 0; i < 2; i++) {
    const r = await next('inventory');
    console.log(`stock    ${r.itemId.padEnd(6)} ${r.inStock} in stock`);
  }
  for (const [userId, itemId, quantity] of [['alice', 'socks', 2], ['bob', 'hats', 1], ['carol', 'hats', 1]]) {
    await send('cart', userId, 'AddToCart', { userId, itemId, quantity });
    const r = await next('cart-results');
    const cart = Object.entries(r.cart).map(([item, n]) => `${n} ${item}`).join(', ') || 'empty';
    console.log(`${r.userId.padEnd(8)} ${r.quantity} ${r.itemId.padEnd(6)} ${r.status.padEnd(12)} cart: ${cart}`);
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
