'use strict';
// The AWS services of the example, on this machine: Kinesis (kinesalite, in
// memory) with the example's four streams, and S3 (s3rver, objects as files
// under a directory) with the bucket `hearth-checkpoints`. Both listen on
// 127.0.0.1 and stop on SIGTERM, on Ctrl-C, or when the process that started
// them is gone (scripts/demo-aws.sh starts them in a session of their own, so
// that Ctrl-C reaches the node alone, whose last checkpoint still goes to S3).
//
//   node --openssl-legacy-provider examples/aws/local-aws.js
//
// KINESIS_PORT (default 4567) and S3_PORT (default 4568) choose the ports, 0
// a free one; S3_DIR (default build/demo-aws/s3) is where s3rver keeps the
// objects, an object being the file <S3_DIR>/<bucket>/<key>._S3rver_object.
// Prints the endpoints, then "local-aws ready".
//
// --openssl-legacy-provider: s3rver encrypts its ListObjectsV2 continuation
// tokens with DES, which Node's OpenSSL 3 refuses otherwise (a listing of
// more than one page would fail).

const path = require('node:path');
const kinesalite = require('kinesalite');
const S3rver = require('s3rver');
const kin = require('../../tests/integration/kinesis');

const STREAMS = {
  'cart-requests': 2, // AddToCart, partition key = user id     -> com.example/cart
  'inventory-requests': 1, // Restock, partition key = item id  -> com.example/inventory
  'cart-results': 2, // the carts' reports, partition key = user id
  inventory: 1, // the stock reports, partition key = item id
};
const BUCKET = 'hearth-checkpoints';

const port = (name, fallback) => Number(process.env[name] === undefined ? fallback : process.env[name]);

async function main() {
  const kinesis = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0 });
  await new Promise((resolve, reject) => {
    kinesis.once('error', reject);
    kinesis.listen(port('KINESIS_PORT', 4567), '127.0.0.1', resolve);
  });
  const kinesisEndpoint = `http://127.0.0.1:${kinesis.address().port}`;
  for (const [stream, shards] of Object.entries(STREAMS)) await kin.createStream(kinesisEndpoint, stream, shards);

  const dir = path.resolve(process.env.S3_DIR || path.join(__dirname, '..', '..', 'build', 'demo-aws', 's3'));
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: port('S3_PORT', 4568),
    directory: dir,
    silent: true,
    configureBuckets: [{ name: BUCKET }],
  });
  const s3Address = await s3.run();

  console.log(`kinesis ${kinesisEndpoint} streams: ${Object.keys(STREAMS).join(', ')}`);
  console.log(`s3 http://127.0.0.1:${s3Address.port} bucket: ${BUCKET} (objects under ${dir})`);
  console.log('local-aws ready');

  // Open keep-alive connections (the node's) would hold the servers' close.
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    kinesis.close();
    kinesis.closeAllConnections();
    const closed = s3.close();
    s3.httpServer.closeAllConnections();
    closed.finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 500).unref();
}

main().catch((err) => {
  console.error(`local-aws: ${err.stack || err}`);
  process.exit(1);
});
