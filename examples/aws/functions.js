'use strict';
// The shopping cart of examples/shopping-cart/functions.js, unchanged, with
// its reports written to Kinesis instead of the playground egress: each
// report becomes a record of the egress `com.example/kinesis`, in the stream
// named after its topic (`cart-results`, `inventory`), with the function's id
// as the partition key (the user id for a cart, the item id for a stock
// report), its data the report's JSON.
//
// Run: node functions.js   (listens on 127.0.0.1:$PORT, default 8000; PORT=0
// picks a free port, printed on the first line)

const http = require('node:http');
const { kinesisEgressMessage } = require('apache-flink-statefun');
const { createStateFun } = require('../shopping-cart/functions');

// The egress id in module.yaml.
const EGRESS = 'com.example/kinesis';

function emitToKinesis(context, topic, record) {
  context.send(kinesisEgressMessage({
    typename: EGRESS,
    stream: topic,
    partitionKey: context.self.id,
    value: JSON.stringify(record),
  }));
}

// Builds the HTTP request handler, `(req, res) => Promise`, that serves both functions.
function buildHandler() {
  return createStateFun({ emit: emitToKinesis }).handler();
}

module.exports = buildHandler;
module.exports.buildHandler = buildHandler;

if (require.main === module) {
  const server = http.createServer(buildHandler());
  server.listen(Number(process.env.PORT || 8000), '127.0.0.1', () => {
    console.log(`shopping-cart functions (Kinesis egress) listening on http://127.0.0.1:${server.address().port}`);
  });
}
