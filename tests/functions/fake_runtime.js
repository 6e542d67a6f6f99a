'use strict';
// A minimal stand-in for the runtime's side of StateFun's request-reply
// protocol: builds ToFunction requests with the SDK's generated protobuf
// classes, POSTs them, and decodes the FromFunction answers into plain
// objects. Used to check the test function servers without a node.

require('apache-flink-statefun/dist/generated/request-reply_pb');
const { StateFun } = require('apache-flink-statefun');

const pb = globalThis.proto.io.statefun.sdk.reqreply;

function address(typename, id) {
  const i = typename.lastIndexOf('/');
  const a = new pb.Address();
  a.setNamespace(typename.slice(0, i));
  a.setType(typename.slice(i + 1));
  a.setId(id);
  return a;
}

function typedValue(typename, bytes) {
  const tv = new pb.TypedValue();
  tv.setTypename(typename);
  if (bytes !== null && bytes !== undefined) {
    tv.setHasValue(true);
    tv.setValue(bytes);
  }
  return tv;
}

// Value helpers: [typename, bytes] pairs as the SDKs encode them.
const values = {
  string: (s) => ['io.statefun.types/string', StateFun.stringType().serialize(s)],
  int: (n) => ['io.statefun.types/int', StateFun.intType().serialize(n)],
  json: (typename, v) => [typename, Buffer.from(JSON.stringify(v))],
};

// target: [typename, id]
// state: {name: null (registered, no value) | [typename, bytes]}; omitted names are unregistered
// invocations: [{value: [typename, bytes], caller?: [typename, id]}]
function toFunction({ target, state = {}, invocations }) {
  const batch = new pb.ToFunction.InvocationBatchRequest();
  batch.setTarget(address(...target));
  for (const [name, v] of Object.entries(state)) {
    const pv = new pb.ToFunction.PersistedValue();
    pv.setStateName(name);
    if (v !== null) pv.setStateValue(typedValue(v[0], v[1]));
    batch.addState(pv);
  }
  for (const inv of invocations) {
    const i = new pb.ToFunction.Invocation();
    if (inv.caller) i.setCaller(address(...inv.caller));
    i.setArgument(typedValue(inv.value[0], inv.value[1]));
    batch.addInvocations(i);
  }
  const to = new pb.ToFunction();
  to.setInvocation(batch);
  return Buffer.from(to.serializeBinary());
}

function plainAddress(a) {
  return a ? { namespace: a.getNamespace(), type: a.getType(), id: a.getId() } : null;
}

function plainValue(tv) {
  if (!tv) return null;
  return { typename: tv.getTypename(), hasValue: tv.getHasValue(), bytes: Buffer.from(tv.getValue_asU8()) };
}

function fromFunction(bytes) {
  const from = pb.FromFunction.deserializeBinary(bytes);
  if (from.hasIncompleteInvocationContext()) {
    return {
      kind: 'incomplete',
      missing: from.getIncompleteInvocationContext().getMissingValuesList().map((s) => {
        const e = s.getExpirationSpec();
        return {
          name: s.getStateName(),
          typename: s.getTypeTypename(),
          expiration: e ? { mode: e.getMode(), ms: e.getExpireAfterMillis() } : null,
        };
      }),
    };
  }
  const r = from.getInvocationResult();
  if (!r) return { kind: 'empty' };
  return {
    kind: 'result',
    mutations: r.getStateMutationsList().map((m) => ({
      type: m.getMutationType() === 1 ? 'MODIFY' : 'DELETE',
      name: m.getStateName(),
      value: plainValue(m.getStateValue()),
    })),
    messages: r.getOutgoingMessagesList().map((m) => ({ target: plainAddress(m.getTarget()), value: plainValue(m.getArgument()) })),
    delayed: r.getDelayedInvocationsList().map((d) => ({
      cancel: d.getIsCancellationRequest(),
      token: d.getCancellationToken(),
      delayMs: d.getDelayInMs(),
      target: plainAddress(d.getTarget()),
      value: plainValue(d.getArgument()),
    })),
    egress: r.getOutgoingEgressesList().map((e) => ({
      namespace: e.getEgressNamespace(),
      type: e.getEgressType(),
      value: plainValue(e.getArgument()),
    })),
  };
}

// POSTs a request to url; resolves with {status, contentType, answer}.
async function invoke(url, request) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: toFunction(request),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    answer: res.status === 200 ? fromFunction(bytes) : null,
  };
}

const decodeInt = (bytes) => StateFun.intType().deserialize(bytes);
const decodeString = (bytes) => StateFun.stringType().deserialize(bytes);

module.exports = { decodeInt, decodeString, fromFunction, invoke, toFunction, values };
