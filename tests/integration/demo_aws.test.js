'use strict';
// `make demo-aws` once through (scripts/demo-aws.sh with HEARTH_DEMO_ONCE=1):
// kinesalite, s3rver, the functions and a node on free ports; the carts put
// into Kinesis come back on the egress streams with the expected results, the
// bucket holds checkpoint manifests with the Kinesis shard positions, and the
// script exits 0 with every server it started stopped.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const RUN_TIMEOUT_MS = 110000;

let script;
let dataDir;

// Kills what is left of the script's process group (nothing, if it cleaned up).
function killGroup() {
  if (!script) return;
  try {
    process.kill(-script.pid, 'SIGKILL');
  } catch (e) {
    // the group is gone
  }
}
process.on('exit', killGroup);

after(() => {
  killGroup();
  if (dataDir && !process.env.HEARTH_KEEP_TMP) fs.rmSync(dataDir, { recursive: true, force: true });
});

// Resolves true when something accepts a connection at 127.0.0.1:port.
function listening(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('the AWS demo drives the carts through Kinesis and checkpoints to S3', { timeout: 120000 }, async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-demo-aws-'));
  const env = { ...process.env, HEARTH_DEMO_ONCE: '1', HEARTH_DEMO_DATA: dataDir };
  if (env.HEARTH_NODE) env.HEARTH_NODE = path.resolve(env.HEARTH_NODE);
  // A process group of its own, so that whatever it leaves behind can be found.
  script = spawn('bash', [path.join(REPO_ROOT, 'scripts', 'demo-aws.sh')], {
    cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  script.stdout.on('data', (d) => { output += d; });
  script.stderr.on('data', (d) => { output += d; });
  let timer;
  const code = await Promise.race([
    new Promise((resolve) => script.once('exit', (c, signal) => resolve(c ?? signal))),
    new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), RUN_TIMEOUT_MS); }),
  ]).finally(() => clearTimeout(timer));
  const log = (name) => {
    try {
      return fs.readFileSync(path.join(dataDir, name), 'utf8').slice(-3000);
    } catch (e) {
      return '(none)';
    }
  };
  const explain = () => `${output}\n--- node.log:\n${log('node.log')}\n--- local-aws.log:\n${log('local-aws.log')}`;
  assert.equal(code, 0, `demo-aws.sh exited with ${code}:\n${explain()}`);

  for (const line of [
    /^stock +socks +5 in stock +\(inventory, key socks\)$/m,
    /^stock +hats +1 in stock +\(inventory, key hats\)$/m,
    /^alice +2 socks +reserved +cart: 2 socks +\(cart-results, key alice\)$/m,
    /^bob +1 hats +reserved +cart: 1 hats +\(cart-results, key bob\)$/m,
    /^carol +1 hats +out-of-stock +cart: empty +\(cart-results, key carol\)$/m,
  ]) assert.match(output, line, explain());
  assert.match(output, /^ {2}demo\/manifest-\d{20}\.json +\d+ bytes$/m, 'a manifest in the bucket');
  assert.match(output, /^ {2}kinesis\/com\.example\/requests\/cart-requests\/shardId-\d+ = after:\d+$/m,
    'the newest manifest holds the cart stream\'s positions');
  assert.match(output, /^ {2}kinesis\/com\.example\/requests\/inventory-requests\/shardId-\d+ = after:\d+$/m);

  // Every process it started is gone: none left in its group, and nothing
  // answers at the addresses of Kinesis, S3, the functions and the node.
  assert.throws(() => process.kill(-script.pid, 0), { code: 'ESRCH' }, 'a process of the demo is left');
  const ports = [...output.matchAll(/http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
  assert.ok(ports.length >= 4, `the addresses are printed:\n${output}`);
  for (const port of new Set(ports)) assert.equal(await listening(port), false, `port ${port} still open`);
});
