'use strict';
// S3 test helper: s3rver 3.7.1 (npm devDependency), a local S3 on loopback
// with its data in a fresh temp directory, and the buckets a test needs
// already created (its configureBuckets option).
//
//   const { startS3 } = require('./s3');
//   const s3 = await startS3({ bucket: 'checkpoints' });
//   // s3.endpoint 'http://127.0.0.1:<port>', s3.bucket, s3.dir, s3.region,
//   // s3.accessKeyId / s3.secretAccessKey ('S3RVER' / 'S3RVER')
//   await s3.stop(); // stops it and removes s3.dir
//
// s3rver runs as a child process (this file is its main), started with
// --openssl-legacy-provider: its ListObjectsV2 continuation tokens are DES
// encrypted, which Node 20's OpenSSL 3 refuses otherwise (every listing of
// more than one page fails with HTTP 500 InternalError). The child is killed
// if the test process exits first. With { inProcess: true } it runs inside
// the test process instead: a little faster to start, but listings past the
// first page then work only if node itself was started with
// --openssl-legacy-provider, and the store serves requests only while the
// event loop runs (never spawnSync/execFileSync meanwhile).
//
// s3rver checks the access key but not SigV4 signatures, wants path-style
// URLs and an x-amz-content-sha256 header (see
// ../shared/docs/connectors-notes.md). Objects are files under
// <dir>/<bucket>/, so a test can look at what was stored.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const READY_TIMEOUT_MS = 30000;
const STOP_TIMEOUT_MS = 10000;
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' };

const liveChildren = new Set();
process.on('exit', () => {
  for (const child of liveChildren) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch (e) {
      // already gone
    }
  }
});

async function runInProcess(dir, buckets) {
  const S3rver = require('s3rver');
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: dir,
    silent: true,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  return { port, close: () => server.close() };
}

async function runChild(dir, buckets) {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', __filename, dir, ...buckets],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  liveChildren.add(child);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    liveChildren.delete(child);
    resolve({ code, signal });
  }));
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-8000); });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within ${READY_TIMEOUT_MS} ms: ${stderr}`)),
      READY_TIMEOUT_MS);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited (${code ?? signal}) before listening: ${stderr}`));
    });
  });
  const close = async () => {
    child.stdin.end(); // the child stops when its stdin closes
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  return { port, close };
}

// Starts s3rver with `bucket` (and `buckets`) created. Resolves with
// {endpoint, bucket, dir, region, accessKeyId, secretAccessKey, stop()}.
async function startS3({ bucket = 'hearth-test', buckets = [], inProcess = false } = {}) {
  const all = [...new Set([bucket, ...buckets])];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-s3-'));
  let server;
  try {
    server = inProcess ? await runInProcess(dir, all) : await runChild(dir, all);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let stopped = false;
  return {
    ...CREDENTIALS,
    endpoint: `http://127.0.0.1:${server.port}`,
    port: server.port,
    bucket,
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await server.close();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

module.exports = { startS3, S3_CREDENTIALS: CREDENTIALS };

// As a child process: node s3.js <dir> <bucket>...; prints "listening <port>"
// and stops when stdin closes.
if (require.main === module) {
  const [dir, ...buckets] = process.argv.slice(2);
  runInProcess(dir, buckets).then(({ port, close }) => {
    process.stdout.write(`listening ${port}\n`);
    process.stdin.resume();
    process.stdin.on('end', () => close().then(() => process.exit(0)));
  }, (e) => {
    process.stderr.write(`${e.stack || e}\n`);
    process.exit(1);
  });
}
