'use strict';
// What the connector tests share: a counting function that writes each count
// to a connector egress, the commands they feed it, and the checks of what
// came out. A count record is "<id>:<count>:<n>[:<typename>]", n the command
// that made it: message n of an id must make count n + 1 (applied in order,
// once), whatever a replay or an at-least-once egress repeats.

const assert = require('node:assert/strict');
const { StateFun } = require('apache-flink-statefun');
const h = require('./harness');

// Binds `typename` on `statefun`: counts its messages (state `count`) and
// sends egress(context, "<id>:<count>:<n>:<typename>") for each; calls[key]
// counts the invocations.
function bindCounter(statefun, { typename, commandType, calls, key = 'counter', egress }) {
  const COMMAND = StateFun.jsonType(commandType);
  calls[key] = 0;
  statefun.bind({
    typename,
    specs: [{ name: 'count', type: StateFun.intType() }],
    fn(context, message) {
      calls[key]++;
      const cmd = message.as(COMMAND);
      const count = (context.storage.count || 0) + 1;
      context.storage.count = count;
      context.send(egress(context, `${context.self.id}:${count}:${cmd.n}:${message.valueTypeName}`));
    },
  });
}

// Commands {n} for every id, rounds [from, to), as make(id, json) records.
function commands(ids, from, to, make) {
  const out = [];
  for (let n = from; n < to; n++) for (const id of ids) out.push(make(id, JSON.stringify({ n })));
  return out;
}

// Checks count records: each "<id>:<count>" carries one n (= count - 1), and
// every count 1..rounds of every id is there. `keyOf(r)` is the record's key
// (the function id), `valueOf(r)` its text.
function checkCounts(records, ids, rounds, { keyOf, valueOf, type }) {
  const byCount = new Map();
  for (const r of records) {
    const [id, count, n, typename] = valueOf(r).split(':');
    assert.equal(keyOf(r), id, 'the record key is the function id');
    if (type) assert.equal(typename, type, 'the value keeps its valueType');
    const key = `${id}:${count}`;
    if (byCount.has(key)) assert.equal(byCount.get(key), n, `${key} carries one message`);
    byCount.set(key, n);
  }
  for (const id of ids)
    for (let c = 1; c <= rounds; c++) assert.equal(byCount.get(`${id}:${c}`), String(c - 1), `${id}:${c}`);
}

// Prometheus text -> the value of the first series of `name` with every label.
async function metric(node, name, labels) {
  const res = await h.request(`${node.admin}/metrics`);
  for (const line of res.text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([key, v]) => line.includes(`${key}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

module.exports = { bindCounter, commands, checkCounts, metric };
