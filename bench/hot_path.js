'use strict';
// The hot-path benchmark: Hearth's own cost per invocation, for one or more
// builds side by side in one run (their points interleaved, so that the
// machine's drift hits them alike). Behind each node: the minimal C++ counter
// endpoint (so the function is not the bound), 1,000 keys.
//
//   node bench/hot_path.js --bin NAME=DIR [--bin NAME=DIR ...] [--out DIR]
//                          [--seconds 5] [--repeats 3] [--js]
//
// Per build and point: applied invocations/s, Hearth's CPU (user + system)
// per invocation, context switches of the node's threads per invocation, and
// latency percentiles. Points: request-response (?wait=true) at 1 and 64 in
// flight, fire-and-forget at 64 (rate = applied until the last was applied).
// With --js, the same against the official JS SDK counter, and that endpoint
// alone. Writes hot_path.json to --out; prints a table.

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const procs = require('./procs.js');
const { sleep, start, stop, cpuSeconds, contextSwitches, get, median } = procs;

const ROOT = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const all = (name) => argv.flatMap((a, i) => (a === `--${name}` ? [argv[i + 1]] : []));
const SECONDS = Number(opt('seconds', 5));
const REPEATS = Number(opt('repeats', 3));
const OUT = path.resolve(opt('out', path.join(ROOT, 'build-release', 'bench')));
const KEYS = 1000;
const builds = all('bin').map((b) => {
  const [name, dir] = b.includes('=') ? b.split('=') : [path.basename(path.dirname(b)), b];
  return { name, bin: path.resolve(dir) };
});
if (builds.length === 0) builds.push({ name: 'this', bin: path.join(ROOT, 'build-release', 'bin') });
const wrk = (url, script, connections, env = {}) => procs.wrk(url, script, { connections, seconds: SECONDS, env });

async function completed(node) {
  return JSON.parse((await get(`${node.admin}/status`)).body).counters.invocations_completed;
}

async function startEndpoint(kind) {
  const [cmd, args] = kind === 'js'
    ? ['node', [path.join(__dirname, 'functions', 'statefun_counter.js'), '0']]
    : [path.join(builds[0].bin, 'hearth-bench-counter'), ['--port', '0', '--threads', '1100']];
  const { child, match } = await start(cmd, args, /listening (\d+)\n/, { logFile: path.join(OUT, `hot-${kind}-endpoint.log`) });
  return { child, url: `http://127.0.0.1:${match[1]}/` };
}

let seq = 0;
async function startNode(build, functionUrl) {
  const dir = path.join(OUT, `hot-${build.name}-${++seq}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const module = path.join(dir, 'module.yaml');
  fs.writeFileSync(module, [
    'kind: io.statefun.endpoints.v2/http', 'spec:', '  functions: bench/*', `  urlPathTemplate: ${functionUrl}`,
    '  transport:', '    type: io.statefun.transports.v1/async', '    call: 60s', '---',
    'kind: io.statefun.playground.v1/ingress', 'spec:', '  port: 0', ''].join('\n'));
  const args = ['--module', module, '--data-dir', path.join(dir, 'data'), '--admin-port', '0',
    '--set', 'ingress.threads=320'];
  const { child, match } = await start(path.join(build.bin, 'hearth-node'), args,
    /ingress=127\.0\.0\.1:(\d+) admin=127\.0\.0\.1:(\d+)/, { logFile: path.join(dir, 'node.log') });
  const node = { child, ingress: `http://127.0.0.1:${match[1]}`, admin: `http://127.0.0.1:${match[2]}` };
  // Every key once (its first call registers its state).
  await wrk(node.ingress, path.join(__dirname, 'lua', 'ingress.lua'), 16, { KEYS: String(KEYS), WAIT: 'true' });
  return node;
}

/// One point against `node`: request-response (wait) or fire-and-forget.
async function point(node, connections, wait) {
  const pid = node.child.pid;
  const done0 = await completed(node);
  const cpu0 = cpuSeconds(pid), cs0 = contextSwitches(pid), t0 = Date.now();
  const r = await wrk(node.ingress, path.join(__dirname, 'lua', 'ingress.lua'), connections,
    wait ? { KEYS: String(KEYS), WAIT: 'true' } : { KEYS: String(KEYS) });
  let applied = r.requests, t1 = Date.now();
  if (!wait) {
    for (const deadline = Date.now() + 120000; ;) {
      if ((await completed(node)) - done0 >= r.requests) break;
      if (Date.now() > deadline) throw new Error('fire-and-forget: not all applied within 120 s');
      await sleep(10);
    }
    t1 = Date.now();
  }
  const cpu = cpuSeconds(pid) - cpu0, cs = contextSwitches(pid) - cs0;
  return {
    rate: wait ? r.rate : applied / ((t1 - t0) / 1000),
    cpu_us: (cpu * 1e6) / Math.max(1, applied),
    ctx_per_inv: cs / Math.max(1, applied),
    p50_ms: r.p50_us / 1000, p99_ms: r.p99_us / 1000, errors: r.errors,
  };
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const kinds = ['cpp', ...(argv.includes('--js') ? ['js'] : [])];
  const points = [
    { name: 'rr-1', connections: 1, wait: true },
    { name: 'rr-64', connections: 64, wait: true },
    { name: 'ff-64', connections: 64, wait: false },
  ];
  const res = { date: new Date().toISOString(), seconds: SECONDS, repeats: REPEATS, builds: builds.map((b) => b.name), points: {} };
  for (const kind of kinds) {
    const ep = await startEndpoint(kind);
    try {
      if (kind === 'js') {
        const body = path.join(OUT, 'to_function.bin');
        execFileSync(path.join(builds[0].bin, 'hearth-bench-counter'), ['--write-request', body]);
        const runs = [];
        for (let i = 0; i < REPEATS; i++)
          runs.push((await wrk(ep.url, path.join(__dirname, 'lua', 'to_function.lua'), 64, { BODY_FILE: body })).rate);
        res.points['js-endpoint-alone-64'] = { endpoint: { rate: median(runs), runs } };
      }
      const nodes = [];
      for (const b of builds) nodes.push(await startNode(b, ep.url));
      try {
        for (const p of points) {
          const key = `${kind}-${p.name}`;
          const runs = Object.fromEntries(builds.map((b) => [b.name, []]));
          // Interleaved: each repeat runs every build once, in turn.
          for (let i = 0; i < REPEATS; i++)
            for (let j = 0; j < builds.length; j++)
              runs[builds[j].name].push(await point(nodes[j], p.connections, p.wait));
          res.points[key] = {};
          for (const b of builds) {
            const rs = runs[b.name];
            const out = { runs: rs };
            for (const f of Object.keys(rs[0])) out[f] = median(rs.map((r) => r[f]));
            res.points[key][b.name] = out;
            console.log(`${key.padEnd(10)} ${b.name.padEnd(10)} ${out.rate.toFixed(0).padStart(7)}/s  ` +
              `${out.cpu_us.toFixed(1).padStart(6)} µs CPU/inv  ${out.ctx_per_inv.toFixed(2).padStart(5)} ctx/inv  ` +
              `p50 ${out.p50_ms.toFixed(2)} ms  p99 ${out.p99_ms.toFixed(2)} ms  errors ${out.errors}`);
          }
        }
      } finally {
        for (const n of nodes) await stop(n.child);
      }
    } finally {
      await stop(ep.child);
    }
  }
  fs.writeFileSync(path.join(OUT, 'hot_path.json'), JSON.stringify(res, null, 1) + '\n');
}

main().catch((e) => {
  console.error(e.stack || e.message);
  process.exit(1);
});
