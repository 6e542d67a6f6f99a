'use strict';
// The keyed counter of the benchmarks, on the official StateFun JS SDK:
// `bench/counter`, int state `count`, +1 per message. A plain node:http server
// around the SDK's handler, as the SDK's own examples do.
//
//   node bench/functions/statefun_counter.js [port]   (0 or none: any free port)
//
// Prints "listening <port>" once bound; binds 127.0.0.1 only.

const http = require('node:http');
const { StateFun } = require('apache-flink-statefun');

const statefun = new StateFun();
statefun.bind({
  typename: 'bench/counter',
  specs: [{ name: 'count', type: StateFun.intType() }],
  fn(context) {
    context.storage.count = (context.storage.count || 0) + 1;
  },
});

const server = http.createServer(statefun.handler());
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
