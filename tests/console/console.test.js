'use strict';
// The web console in headless Chromium, against a real node that runs the
// shopping-cart example: find a cart, read its items, send it messages from
// the page and from the hearth CLI and watch its state change on the page;
// the overview's charts, functions, actor paging, dead letters and
// checkpoints; a second node with an admin token, which the console asks
// for once per tab; and a cluster of three nodes, whose console has a
// Cluster page and shows the node of each address.
//
// Needs the console built (npm run build:console, or the `console` build
// target) where the node looks for it: <directory of hearth-node>/../console,
// or $HEARTH_CONSOLE_DIR (passed as --console-dir). Chromium is taken from
// $HEARTH_CHROMIUM, default /usr/bin/chromium (Debian's package `chromium`).
// Screenshots go to build/test-artifacts/.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { chromium } = require('playwright-core');
const h = require('../integration/harness');
const { StateFun } = require('apache-flink-statefun');
const buildHandler = require('../../examples/shopping-cart/functions');
const { startTestFunctions } = require('../functions/servers');

const CLI = path.resolve(process.env.HEARTH_CLI || path.join(h.REPO_ROOT, 'build', 'bin', 'hearth'));
const CHROMIUM = process.env.HEARTH_CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = path.join(h.REPO_ROOT, 'build', 'test-artifacts');
const EXAMPLE_MODULE = path.join(h.REPO_ROOT, 'examples', 'shopping-cart', 'module.yaml');
const WAIT_MS = 20000;
// Addresses the tests open before they exist.
const NEW_ADDRESSES = ['test/inspector/typed', 'test/counter/c1', 'com.example/cart/mallory'];

let server;
let fns;
let node;
let browser;
let page;
const pageErrors = [];
const badResponses = [];
const actorListRequests = [];

// The example's module.yaml with free ports and a short call budget, so that
// a message the cart cannot handle becomes a dead letter within seconds;
// plus the test functions (test/*), whose test/inspector records every
// message as the SDK reads it.
function exampleModule(functionsPort, testFunctionsPort) {
  const moved = fs.readFileSync(EXAMPLE_MODULE, 'utf8')
    .replace('http://127.0.0.1:8000/', `http://127.0.0.1:${functionsPort}/`)
    .replace('port: 8090', 'port: 0')
    .replace('port: 8091', 'port: 0')
    .replace('call: 30s', 'call: 2s');
  assert.ok(moved.includes(`127.0.0.1:${functionsPort}/`) && moved.includes('call: 2s'), 'unexpected module.yaml');
  const testEndpoint = h.testModule({ port: testFunctionsPort, call: '10s', ingress: false });
  return `${moved.trimEnd()}\n---\n${testEndpoint}`;
}

const restock = (itemId, quantity) =>
  h.sendOk(node.ingress, 'com.example', 'inventory', itemId, { itemId, quantity }, 'com.example/Restock');
const addToCart = (userId, itemId, quantity) =>
  h.sendOk(node.ingress, 'com.example', 'cart', userId, { userId, itemId, quantity }, 'com.example/AddToCart');

async function cartItems(userId) {
  const r = await h.request(`${node.admin}/actors/com.example/cart/${userId}`);
  return r.status === 200 && r.json.states.items ? r.json.states.items.json : undefined;
}

function hearth(...args) {
  const admin = node.admin.replace('http://', '');
  return new Promise((resolve) => {
    execFile(CLI, ['--node', admin, ...args], { timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

// Waits until the locator's text satisfies `check` (a RegExp or a function);
// returns the text.
async function waitForText(locator, check, what, timeoutMs = WAIT_MS) {
  let last;
  const ok = typeof check === 'function' ? check : (t) => check.test(t);
  try {
    await h.poll(async () => {
      last = (await locator.first().textContent({ timeout: 1000 })) || '';
      return ok(last);
    }, timeoutMs, () => `${what} (last text: ${JSON.stringify(last)})`, 100);
  } catch (e) {
    // What the page showed, for the failure report.
    const file = await screenshot('console-failure.png').catch(() => 'none');
    e.message += `\n  page: ${page.url()}\n  screenshot: ${file}`;
    throw e;
  }
  return last;
}

const stateCell = (name) => page.locator(`tr[data-state="${name}"] td.state-value`);

async function screenshot(name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

before(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (scripts/install-deps.sh) or set HEARTH_CHROMIUM`);
  }
  server = http.createServer(buildHandler());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const args = ['--set', 'checkpoint.interval=500ms', '--set', 'passivation.idle_ms=600000'];
  if (process.env.HEARTH_CONSOLE_DIR) args.push('--console-dir', path.resolve(process.env.HEARTH_CONSOLE_DIR));
  fns = await startTestFunctions();
  node = await h.startNode({ module: exampleModule(server.address().port, fns.port), args });

  const index = await h.request(`${node.admin}/`);
  assert.equal(index.status, 200,
    `GET / on the admin port answered ${index.status} ${index.text}: build the console (npm run build:console) next to the node binary, or set HEARTH_CONSOLE_DIR`);
  assert.match(index.headers.get('content-type') || '', /text\/html/);
  assert.match(index.text, /<div id="app">/);

  await restock('socks', 20);
  await restock('hats', 5);
  await addToCart('alice', 'socks', 2);
  await h.poll(async () => JSON.stringify(await cartItems('alice')) === '{"socks":2}', 30000, "alice's cart holding 2 socks");
  // Enough inventory addresses for more than two pages of the actors list.
  await h.runParallel(120, 8, (i) => restock(`item-${String(i).padStart(3, '0')}`, i + 1));

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(WAIT_MS);
  page.on('pageerror', (e) => pageErrors.push(e.stack || String(e)));
  page.on('response', (res) => {
    const url = new URL(res.url());
    if (url.pathname === '/actors') actorListRequests.push(url.searchParams);
    // An address that does not exist yet answers 404 until a message creates it.
    const newAddress = res.status() === 404 && NEW_ADDRESSES.some((a) => url.pathname === `/actors/${a}`);
    // A single node answers 404 to GET /cluster: the console then has no Cluster page.
    const single = res.status() === 404 && url.pathname === '/cluster';
    if (res.status() >= 400 && !newAddress && !single) badResponses.push(`${res.status()} ${res.url()}`);
  });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await h.cleanup();
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  if (fns) await fns.close();
});

test('the overview shows the node live', { timeout: 120000 }, async () => {
  const clusterAnswer = page.waitForResponse((res) => new URL(res.url()).pathname === '/cluster');
  await page.goto(`${node.admin}/`);
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  assert.equal(await page.title(), 'Overview · Hearth console');
  // A single node: no Cluster page in the navigation.
  assert.equal((await clusterAnswer).status(), 404);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Checkpoints' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Cluster' }).count(), 0);
  // Four charts, drawn on canvases.
  await h.poll(async () => (await page.locator('figure.chart canvas').count()) === 4, WAIT_MS, 'four charts');

  // Traffic while the page samples /status: invocations per second must show it.
  let sending = true;
  const traffic = (async () => {
    for (let i = 0; sending && i < 200; i += 1) {
      await restock('socks', 1);
      await h.sleep(20);
    }
  })();
  try {
    const rate = page.locator('.stat', { hasText: 'Invocations/s' }).locator('dd');
    await waitForText(rate, (t) => Number(t.replace(/,/g, '')) > 0, 'a non-zero invocation rate');
  } finally {
    sending = false;
    await traffic;
  }

  const status = (await h.request(`${node.admin}/status`)).json;
  const partitionRows = page.locator('section', { has: page.getByRole('heading', { name: 'Partitions' }) }).locator('tbody tr');
  assert.equal(await partitionRows.count(), status.partitions.length);
  const lastCheckpoint = page.locator('section', { has: page.getByRole('heading', { name: 'Last checkpoint' }) });
  await waitForText(lastCheckpoint.locator('.stat', { hasText: 'Checkpoint' }).locator('dd'), /^#\d+$/, 'the last checkpoint id');
  await waitForText(page.locator('header .node-line'), /^Hearth \d+\.\d+\.\d+ · up .* · \d+ partitions$/, 'the node line');
});

test('the functions page lists the endpoint and the function types', { timeout: 120000 }, async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Functions' }).click();
  await page.getByRole('heading', { level: 1, name: 'Functions' }).waitFor();
  await page.getByRole('cell', { name: 'com.example/*' }).waitFor();
  await page.getByRole('cell', { name: 'com.example/cart', exact: true }).waitFor();
  await page.getByRole('cell', { name: 'com.example/inventory', exact: true }).waitFor();
});

test('the actors list is searched and paged on the node', { timeout: 120000 }, async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Actors' }).click();
  await page.getByRole('heading', { level: 1, name: 'Actors' }).waitFor();

  await page.getByLabel('Function type').fill('com.example/inventory');
  await page.getByRole('button', { name: 'Search' }).click();
  const summary = page.locator('.pager p');
  await waitForText(summary, /^Showing 1–50 of 122 live actors$/, 'the first page of inventories');
  assert.equal(await page.locator('table.actors tbody tr').count(), 50);

  await page.getByRole('button', { name: 'Next page' }).click();
  await waitForText(summary, /^Showing 51–100 of 122 live actors$/, 'the second page');
  assert.match(page.url(), /offset=50/);
  await page.getByRole('button', { name: 'Next page' }).click();
  await waitForText(summary, /^Showing 101–122 of 122 live actors$/, 'the last page');
  assert.equal(await page.getByRole('button', { name: 'Next page' }).isDisabled(), true);
  await page.getByRole('button', { name: 'Previous page' }).click();
  await waitForText(summary, /^Showing 51–100 of 122 live actors$/, 'back to the second page');

  // Every list request asked the node for one page (50) only.
  assert.ok(actorListRequests.length >= 4, `list requests: ${actorListRequests.length}`);
  for (const q of actorListRequests) assert.equal(q.get('limit'), '50');

  // Find alice's cart.
  await page.getByLabel('Function type').fill('com.example/cart');
  await page.getByLabel('Id starts with').fill('al');
  await page.getByRole('button', { name: 'Search' }).click();
  await waitForText(summary, /^Showing 1–1 of 1 live actors$/, 'one cart starting with "al"');
  await page.getByRole('link', { name: 'com.example/cart/alice' }).click();
  await page.getByRole('heading', { level: 1, name: 'com.example/cart/alice' }).waitFor();
  assert.match(page.url(), /#\/actors\/com\.example\/cart\/alice$/);
});

test("the actor page shows the cart's items; a message sent from the page changes them", { timeout: 120000 }, async () => {
  assert.equal(await waitForText(stateCell('items'), /socks/, 'the items state'), '{"socks":2}');
  const items = page.locator('tr[data-state="items"]');
  assert.match(await items.textContent(), /com\.example\/CartItems/);
  await page.getByRole('cell', { name: 'never' }).first().waitFor(); // the spec's expiry
  await page.locator('section', { has: page.getByRole('heading', { name: 'Recent invocations' }) }).locator('tbody tr').first().waitFor();

  assert.equal(await page.getByLabel('Type name').inputValue(), 'io.statefun.types/string');
  await page.getByLabel('Type name').fill('com.example/AddToCart');
  await page.getByLabel('Message', { exact: true }).fill('{"userId":"alice","itemId":"socks","quantity":3}');
  await page.getByRole('button', { name: 'Send and wait for effects' }).click();
  // The cart asks the inventory first: that batch sends one message and changes no state.
  const result = page.locator('.send-result');
  await waitForText(result, /Accepted at offset \d+\. Applied: no state changed; messages sent: 1;/, 'the effects summary');
  // The inventory's answer then fills the cart; the page refreshes by itself.
  await waitForText(stateCell('items'), (t) => t === '{"socks":5}', 'items with 5 socks');
  assert.deepEqual(await cartItems('alice'), { socks: 5 });
});

test('a message sent with the hearth CLI shows on the open page', { timeout: 120000 }, async () => {
  const r = await hearth('send', 'com.example/cart', 'alice', '--type', 'com.example/AddToCart',
    '--json', '{"userId":"alice","itemId":"hats","quantity":1}', '--wait');
  assert.equal(r.code, 0, r.stderr);
  const text = await waitForText(stateCell('items'), /hats/, 'items with a hat');
  assert.deepEqual(JSON.parse(text), { socks: 5, hats: 1 });
  const file = await screenshot('console-actor.png');
  assert.ok(fs.statSync(file).size > 10000, `${file} looks empty`);
});

async function sendFromPage(typename, text) {
  await page.getByLabel('Type name').fill(typename);
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send and wait for effects' }).click();
}

test('typed values sent from the page reach the function as the SDK reads them', { timeout: 120000 }, async () => {
  await page.goto(`${node.admin}/#/actors/test/inspector/typed`);
  await page.getByRole('heading', { level: 1, name: 'test/inspector/typed' }).waitFor();
  const received = () => (fns.records.inspector.received.typed || []);
  const cases = [
    ['io.statefun.types/string', 'héllo, wörld', (b) => StateFun.stringType().deserialize(b) === 'héllo, wörld'],
    ['io.statefun.types/int', '-42', (b) => StateFun.intType().deserialize(b) === -42],
    ['io.statefun.types/bool', 'true', (b) => StateFun.booleanType().deserialize(b) === true],
    ['io.statefun.types/float', '1.5', (b) => StateFun.floatType().deserialize(b) === 1.5],
    ['io.statefun.types/long', '9007199254740993', (b) => b.toString('hex') === '090100000000002000'],
    ['io.statefun.types/double', '2.5', (b) => b.toString('hex') === '090000000000000440'],
    ['com.example/Note', '{"text":"as is"}', (b) => b.toString('utf8') === '{"text":"as is"}'],
  ];
  for (const [typename, text, check] of cases) {
    const before = received().length;
    await sendFromPage(typename, text);
    await waitForText(page.locator('.send-result'), /Accepted at offset \d+\. Applied:/, `${typename} applied`);
    const got = await h.poll(() => received()[before], 10000, `test/inspector receiving ${typename}`);
    assert.equal(got.typename, typename);
    assert.ok(check(Buffer.from(got.base64, 'base64')), `${typename} ${text}: got bytes ${Buffer.from(got.base64, 'base64').toString('hex')}`);
  }

  // A bad int is refused on the page, before anything is sent.
  const count = received().length;
  await sendFromPage('io.statefun.types/int', 'seven');
  await waitForText(page.locator('.send-result'), /Not sent: the value is not a valid io\.statefun\.types\/int: not a number/, 'the refused int');
  assert.equal(received().length, count);

  // An int state is shown as its value.
  await page.goto(`${node.admin}/#/actors/test/counter/c1`);
  await waitForText(page.locator('.notice'), /No such address yet/, 'the unknown address notice');
  await sendFromPage('io.statefun.types/string', 'inc');
  await waitForText(stateCell('count'), (t) => t === '1', 'count 1');
  await sendFromPage('io.statefun.types/string', 'inc');
  await waitForText(stateCell('count'), (t) => t === '2', 'count 2');
  assert.match(await page.locator('tr[data-state="count"]').textContent(), /io\.statefun\.types\/int/);
});

test('a message the function cannot handle becomes a dead letter', { timeout: 120000 }, async () => {
  await page.goto(`${node.admin}/#/actors/com.example/cart/mallory`);
  await page.getByRole('heading', { level: 1, name: 'com.example/cart/mallory' }).waitFor();
  // The cart cannot handle a string: with a 2 s call budget it becomes a dead letter.
  await sendFromPage('io.statefun.types/string', 'hello, cart');
  await waitForText(page.locator('.send-result'), /Accepted at offset/, 'the string accepted');
  const dead = await h.poll(async () => (await h.deadLetters(node.admin)).find((d) => d.address.id === 'mallory'),
    30000, 'a dead letter for mallory');
  assert.equal(dead.messages[0].typename, 'io.statefun.types/string');
});

test('dead letters are shown decoded, replayed and dropped', { timeout: 120000 }, async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dead letters' }).click();
  await page.getByRole('heading', { level: 1, name: 'Dead letters' }).waitFor();
  const row = page.locator('table.dead-letters tbody tr', { hasText: 'com.example/cart/mallory' });
  await waitForText(row, /io\.statefun\.types\/string\s*hello, cart/, 'the dead letter with its decoded message');
  const firstId = (await row.locator('td.id').textContent()).trim();

  await row.getByRole('button', { name: 'Replay' }).click();
  await waitForText(page.getByRole('status').filter({ hasText: 'Replayed' }), /Replayed 1 message\(s\) of /, 'the replay notice');
  // The replayed message fails again and comes back as a new dead letter.
  const again = page.locator('table.dead-letters tbody tr', { hasText: 'com.example/cart/mallory' });
  await waitForText(again.locator('td.id'), (t) => t.trim() !== '' && t.trim() !== firstId, 'a new dead letter after the replay', 30000);

  page.once('dialog', (dialog) => dialog.accept());
  await again.getByRole('button', { name: 'Drop' }).click();
  await waitForText(page.locator('main'), /No dead letters\./, 'an empty list');
  assert.equal((await h.deadLetters(node.admin)).length, 0);
});

test('checkpoints: the list and a checkpoint taken from the page', { timeout: 120000 }, async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Checkpoints' }).click();
  await page.getByRole('heading', { level: 1, name: 'Checkpoints' }).waitFor();
  await page.locator('table.checkpoints tbody tr').first().waitFor();
  await page.getByRole('button', { name: 'Checkpoint now' }).click();
  const text = await waitForText(page.getByRole('status').filter({ hasText: 'Checkpoint #' }), /Checkpoint #\d+ completed at/, 'the checkpoint result');
  const id = Number(/#(\d+)/.exec(text)[1]);
  const listed = (await h.request(`${node.admin}/checkpoints`)).json.checkpoints.map((c) => c.id);
  assert.ok(listed.includes(id), `checkpoint ${id} in ${listed}`);
  await waitForText(page.locator('table.checkpoints tbody tr').first().locator('td').first(), (t) => Number(t) >= id, 'the new checkpoint listed');
});

test('the overview after the session; no page errors', { timeout: 120000 }, async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  const failed = page.locator('.stat', { hasText: 'Failed calls' }).locator('dd');
  await waitForText(failed, (t) => Number(t.replace(/,/g, '')) > 0, 'failed calls counted');
  await h.sleep(1500); // one more sample on the charts
  const file = await screenshot('console-overview.png');
  assert.ok(fs.statSync(file).size > 10000, `${file} looks empty`);
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(badResponses, []);
});

test('a node with an admin token: the console asks for it, retries, and keeps it for the tab', { timeout: 120000 }, async () => {
  const TOKEN = 'console-test-token-0123456789';
  const tokenFile = path.join(h.makeTempDir('hearth-console-token-'), 'token');
  fs.writeFileSync(tokenFile, `  ${TOKEN}\n`);
  const args = ['--admin-token-file', tokenFile];
  if (process.env.HEARTH_CONSOLE_DIR) args.push('--console-dir', path.resolve(process.env.HEARTH_CONSOLE_DIR));
  const guarded = await h.startNode({ module: h.testModule({ port: fns.port, ingress: false }), args });
  const wrong = 'not-the-token-of-this-node';
  const refusal = await h.request(`${guarded.admin}/status`, { headers: { Authorization: `Bearer ${wrong}` } });
  assert.equal(refusal.status, 401, refusal.text);
  const status = (await h.request(`${guarded.admin}/status`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json;

  // A context of its own: its tabs start without a token.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  const refused = [];
  const authorization = [];
  const newTab = async () => {
    const tab = await context.newPage();
    tab.setDefaultTimeout(WAIT_MS);
    tab.on('pageerror', (e) => errors.push(e.stack || String(e)));
    tab.on('request', (req) => {
      if (new URL(req.url()).pathname === '/status') authorization.push(req.headers().authorization);
    });
    tab.on('response', (res) => {
      if (res.status() === 401) refused.push(new URL(res.url()).pathname);
    });
    return tab;
  };
  const nodeLine = (tab) => tab.locator('header .node-line', { hasText: /^Hearth \d+\.\d+\.\d+ · up .* · \d+ partitions$/ });
  const tokenInput = (tab) => tab.getByLabel('Admin token', { exact: true });
  const focusedId = (tab, id) => tab.waitForFunction((want) => document.activeElement && document.activeElement.id === want, id);
  try {
    const tab = await newTab();
    await tab.goto(`${guarded.admin}/`);
    // The prompt, with the focus in its password field; no error the first time.
    const input = tokenInput(tab);
    await input.waitFor();
    assert.equal(await input.getAttribute('type'), 'password');
    await focusedId(tab, 'admin-token');
    await tab.getByRole('heading', { level: 1, name: 'This node needs its admin token' }).waitFor();
    assert.equal(await tab.getByRole('alert').count(), 0);
    assert.equal(await tab.title(), 'Admin token · Hearth console');
    assert.ok(refused.includes('/status'), `401s: ${refused}`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await tab.screenshot({ path: path.join(ARTIFACTS, 'console-token.png') });

    // A wrong token (submitted with Enter): the API's reason and the prompt again.
    await input.fill(wrong);
    await input.press('Enter');
    const alert = tab.getByRole('alert').filter({ hasText: 'The token was refused' });
    await alert.waitFor();
    assert.equal((await alert.textContent()).trim(), `The token was refused: ${refusal.json.error}`);
    assert.equal(await input.inputValue(), '');
    await focusedId(tab, 'admin-token');
    assert.equal(await tokenInput(tab).count(), 1);

    // The right token: the overview with the node's status.
    await input.fill(TOKEN);
    await tab.getByRole('button', { name: 'Use this token' }).click();
    await tab.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await nodeLine(tab).waitFor();
    const partitionRows = tab.locator('section', { has: tab.getByRole('heading', { name: 'Partitions' }) }).locator('tbody tr');
    await partitionRows.first().waitFor();
    assert.equal(await partitionRows.count(), status.partitions.length);
    assert.equal(await tokenInput(tab).count(), 0);
    assert.equal(await tab.title(), 'Overview · Hearth console');
    assert.equal(await tab.evaluate(() => window.sessionStorage.getItem('hearth-admin-token')), TOKEN);

    // A reload in the same tab sends the kept token and asks nothing.
    refused.length = 0;
    authorization.length = 0;
    await tab.reload();
    await tab.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await nodeLine(tab).waitFor();
    await tab.waitForResponse((res) => new URL(res.url()).pathname === '/status' && res.status() === 200);
    assert.equal(await tokenInput(tab).count(), 0);
    assert.deepEqual(refused, []);
    assert.ok(authorization.length >= 2, `requests for /status: ${authorization.length}`);
    for (const a of authorization) assert.equal(a, `Bearer ${TOKEN}`);

    // Another tab starts without it: the status poll and the functions page
    // are both refused, and one answer to one prompt lets both through.
    const other = await newTab();
    const both = Promise.all(['/status', '/functions'].map((p) =>
      other.waitForResponse((res) => new URL(res.url()).pathname === p && res.status() === 401)));
    await other.goto(`${guarded.admin}/#/functions`);
    await both;
    await tokenInput(other).fill(TOKEN);
    await tokenInput(other).press('Enter');
    await other.getByRole('heading', { level: 1, name: 'Functions' }).waitFor();
    await other.getByRole('cell', { name: 'test/*' }).waitFor();
    await nodeLine(other).waitFor();
    assert.equal(await tokenInput(other).count(), 0);
    assert.equal(refused.filter((p) => p === '/functions').length, 1, `401s: ${refused}`);
  } finally {
    await context.close();
  }
  await guarded.stop();
  assert.deepEqual(errors, []);
});

// The flags of tests/integration/cluster_messaging.test.js: fast failure
// detection and checkpoints.
const FAST = ['--set', 'cluster.heartbeat=500ms', '--set', 'cluster.node_timeout=4s',
  '--set', 'checkpoint.interval=300ms'];
const COUNTERS = Array.from({ length: 24 }, (_, i) => `c${i}`);

test('a cluster of three nodes: the Cluster page and the node of each address', { timeout: 240000 }, async () => {
  const shared = h.makeTempDir('hearth-console-cluster-');
  const moduleYaml = h.testModule({ port: fns.port });
  const nodes = {};
  const start = async (id, join) => {
    const args = ['--checkpoint-dir', shared, '--cluster-port', '0', '--node-id', id, ...FAST];
    if (join) args.push('--join', join);
    if (process.env.HEARTH_CONSOLE_DIR) args.push('--console-dir', path.resolve(process.env.HEARTH_CONSOLE_DIR));
    nodes[id] = await h.startNode({ module: moduleYaml, args });
  };
  await start('n1');
  await start('n2', nodes.n1.cluster);
  await start('n3', nodes.n2.cluster);
  const ids = ['n1', 'n2', 'n3'];
  let last;
  await h.poll(async () => {
    last = await Promise.all(ids.map(async (id) => {
      const [c, health] = await Promise.all([
        h.request(`${nodes[id].admin}/cluster`), h.request(`${nodes[id].admin}/health`)]);
      return { id, epoch: c.json.epoch, members: c.json.members.map((m) => m.id), pipeline: health.json.pipeline };
    }));
    return new Set(last.map((v) => v.epoch)).size === 1
      && last.every((v) => v.pipeline === 'running' && JSON.stringify(v.members) === JSON.stringify(ids));
  }, 90000, () => `a running epoch of n1, n2, n3 (last: ${JSON.stringify(last)})`, 100);

  // Counters spread over every node's ingress; the listing covers the cluster.
  await h.runParallel(COUNTERS.length, 8, (i) => h.sendOk(nodes[ids[i % 3]].ingress, 'test', 'counter', COUNTERS[i], 'inc'));
  const listing = await h.poll(async () => {
    const r = await h.request(`${nodes.n2.admin}/actors?type=test/counter&limit=1000`);
    return r.status === 200 && r.json.total === COUNTERS.length ? r.json : undefined;
  }, WAIT_MS, 'every counter listed');
  const nodeOf = Object.fromEntries(listing.actors.map((a) => [`test/counter/${a.address.id}`, a.node]));
  assert.deepEqual([...new Set(Object.values(nodeOf))].sort(), ids);
  const view = (await h.request(`${nodes.n2.admin}/cluster`)).json;
  assert.equal(view.coordinator, 'n1');

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  const refused = [];
  try {
    const tab = await context.newPage();
    tab.setDefaultTimeout(WAIT_MS);
    tab.on('pageerror', (e) => errors.push(e.stack || String(e)));
    tab.on('response', (res) => {
      if (res.status() >= 400) refused.push(`${res.status()} ${res.url()}`);
    });
    await tab.goto(`${nodes.n2.admin}/`);
    const nav = tab.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Cluster' }).click();
    await tab.getByRole('heading', { level: 1, name: 'Cluster' }).waitFor();
    assert.equal(await tab.title(), 'Cluster · Hearth console');

    // Every member with its key groups as the API gives them ([first, end) as first-last).
    const rows = tab.locator('table.members tbody tr');
    await rows.first().waitFor();
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.node)), ids);
    for (const m of view.members) {
      const row = tab.locator(`tr[data-node="${m.id}"]`);
      const ranges = m.key_groups.map(([first, end]) => `${first}-${end - 1}`).join(' ');
      assert.ok(ranges.length > 0, `${m.id} owns key groups`);
      assert.equal((await row.locator('td.key-groups').textContent()).trim(), ranges);
      const tags = await row.locator('.tag').allTextContents();
      assert.deepEqual(tags, [...(m.id === 'n1' ? ['coordinator'] : []), ...(m.id === 'n2' ? ['this node'] : [])]);
    }
    const stat = (label) => tab.locator('.stat', { has: tab.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('dd');
    assert.match(await stat('This node').textContent(), /^n2 incarnation \d+$/);
    assert.equal(await stat('Coordinator').textContent(), 'n1');
    assert.equal(await stat('Epoch').textContent(), String(view.epoch));
    assert.match(await stat('Running epoch').textContent(), /known on the coordinator/);
    const segments = view.members.reduce((n, m) => n + m.key_groups.length, 0);
    assert.equal(await tab.locator('.kg-bar span').count(), segments);
    // This node's own rate, from its /status, under traffic to its addresses.
    const own = COUNTERS.filter((id) => nodeOf[`test/counter/${id}`] === 'n2');
    let sending = true;
    const traffic = (async () => {
      for (let i = 0; sending && i < 400; i += 1) {
        await h.sendOk(nodes[ids[i % 3]].ingress, 'test', 'counter', own[i % own.length], 'inc');
        await h.sleep(20);
      }
    })();
    try {
      const rate = tab.locator('tr[data-node="n2"] td').last();
      await h.poll(async () => Number((await rate.textContent()).replace(/,/g, '')) > 0, WAIT_MS, "a non-zero rate on n2's row");
    } finally {
      sending = false;
      await traffic;
    }
    assert.equal((await tab.locator('tr[data-node="n1"] td').last().textContent()).trim(), '–');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await tab.screenshot({ path: path.join(ARTIFACTS, 'console-cluster.png'), fullPage: true });

    // The actors of the whole cluster, with the node of each, as GET /actors says.
    await nav.getByRole('link', { name: 'Actors' }).click();
    await tab.getByLabel('Function type').fill('test/counter');
    await tab.getByRole('button', { name: 'Search' }).click();
    const summary = tab.locator('.pager p');
    await h.poll(async () => (await summary.textContent()) === 'Showing 1–24 of 24 live actors', WAIT_MS, 'every counter on the page');
    await tab.getByRole('columnheader', { name: 'Node' }).waitFor();
    const shown = await tab.locator('table.actors tbody tr').evaluateAll((trs) => trs.map((tr) =>
      [tr.querySelector('a').textContent, tr.querySelector('td.node').textContent]));
    assert.equal(shown.length, COUNTERS.length);
    for (const [address, owner] of shown) assert.equal(owner, nodeOf[address], address);
    assert.deepEqual([...new Set(shown.map(([, owner]) => owner))].sort(), ids);
  } finally {
    await context.close();
  }
  assert.deepEqual(errors, []);
  assert.deepEqual(refused, []);
});
