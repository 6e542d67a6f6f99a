'use strict';
// Shopping cart: two StateFun remote functions talking to each other.
//
//   com.example/cart       (id = user id)  state `items`: {itemId: quantity}
//   com.example/inventory  (id = item id)  states `num_in_stock`, `num_reserved`
//
// AddToCart {userId, itemId, quantity} enters through the ingress at the
// user's cart. The cart asks the item's inventory with RequestItem; the
// inventory answers the caller with ItemReserved or ItemOutOfStock, and the
// cart reports the outcome on the egress topic `cart-results`.
// Restock {itemId, quantity} adds stock and reports on the topic `inventory`.
// Where a report goes is the caller's choice: createStateFun({emit}) takes
// `emit(context, topic, record)`; the default writes to the playground egress
// (examples/aws/functions.js writes to Kinesis streams instead).
//
// Run: node functions.js   (listens on 127.0.0.1:$PORT, default 8000)

const http = require('node:http');
const { StateFun, messageBuilder, egressMessageBuilder } = require('apache-flink-statefun');

const CART = 'com.example/cart';
const INVENTORY = 'com.example/inventory';

const AddToCart = StateFun.jsonType('com.example/AddToCart');
const RequestItem = StateFun.jsonType('com.example/RequestItem');
const ItemReserved = StateFun.jsonType('com.example/ItemReserved');
const ItemOutOfStock = StateFun.jsonType('com.example/ItemOutOfStock');
const Restock = StateFun.jsonType('com.example/Restock');
const EgressRecord = StateFun.jsonType('io.statefun.playground/EgressRecord');

// Reports `record` on the playground egress topic `topic`.
function emitToPlayground(context, topic, record) {
  context.send(egressMessageBuilder({
    typename: 'io.statefun.playground/egress',
    value: { topic, payload: JSON.stringify(record) },
    valueType: EgressRecord,
  }));
}

function cart(context, message, emit) {
  const userId = context.self.id;
  if (message.is(AddToCart)) {
    const { itemId, quantity } = message.as(AddToCart);
    context.send(messageBuilder({
      typename: INVENTORY,
      id: itemId,
      value: { itemId, quantity },
      valueType: RequestItem,
    }));
    return;
  }
  const items = context.storage.items || {};
  if (message.is(ItemReserved)) {
    const { itemId, quantity } = message.as(ItemReserved);
    items[itemId] = (items[itemId] || 0) + quantity;
    context.storage.items = items;
    emit(context, 'cart-results', { userId, itemId, quantity, status: 'reserved', cart: items });
    return;
  }
  if (message.is(ItemOutOfStock)) {
    const { itemId, requested } = message.as(ItemOutOfStock);
    emit(context, 'cart-results', { userId, itemId, quantity: requested, status: 'out-of-stock', cart: items });
    return;
  }
  throw new Error(`cart: unexpected message type ${message.valueTypeName}`);
}

function inventory(context, message, emit) {
  const itemId = context.self.id;
  const inStock = context.storage.num_in_stock || 0;
  if (message.is(Restock)) {
    const { quantity } = message.as(Restock);
    context.storage.num_in_stock = inStock + quantity;
    emit(context, 'inventory', { itemId, inStock: inStock + quantity });
    return;
  }
  if (message.is(RequestItem)) {
    const { quantity } = message.as(RequestItem);
    const caller = context.caller;
    if (caller === null) throw new Error('inventory: RequestItem must come from a cart');
    let reply;
    if (inStock >= quantity) {
      context.storage.num_in_stock = inStock - quantity;
      context.storage.num_reserved = (context.storage.num_reserved || 0) + quantity;
      reply = { value: { itemId, quantity }, valueType: ItemReserved };
    } else {
      reply = { value: { itemId, requested: quantity, available: inStock }, valueType: ItemOutOfStock };
    }
    context.send(messageBuilder({ typename: caller.typename, id: caller.id, ...reply }));
    return;
  }
  throw new Error(`inventory: unexpected message type ${message.valueTypeName}`);
}

// Returns a StateFun instance with both functions bound; they report through
// `emit` (default: the playground egress).
function createStateFun({ emit = emitToPlayground } = {}) {
  const statefun = new StateFun();
  statefun.bind({
    typename: CART,
    specs: [{ name: 'items', type: StateFun.jsonType('com.example/CartItems') }],
    fn: (context, message) => cart(context, message, emit),
  });
  statefun.bind({
    typename: INVENTORY,
    specs: [
      { name: 'num_in_stock', type: StateFun.intType() },
      { name: 'num_reserved', type: StateFun.intType() },
    ],
    fn: (context, message) => inventory(context, message, emit),
  });
  return statefun;
}

// Builds the HTTP request handler, `(req, res) => Promise`, that serves both
// functions; `options` as for createStateFun.
function buildHandler(options) {
  return createStateFun(options).handler();
}

module.exports = buildHandler;
module.exports.buildHandler = buildHandler;
module.exports.createStateFun = createStateFun;

if (require.main === module) {
  const port = Number(process.env.PORT || 8000);
  http.createServer(buildHandler()).listen(port, '127.0.0.1', () => {
    console.log(`shopping-cart functions listening on http://127.0.0.1:${port}`);
  });
}
