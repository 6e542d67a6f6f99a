// Admin API client. URLs are relative to the page, which the node serves at
// the root of its admin port.

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// Sends a request; resolves with {status, json}. Rejects with an ApiError for
// a non-2xx answer (its message is the API's `error` field when there is one).
export async function request(path, { method = 'GET', headers, body } = {}) {
  let res;
  try {
    res = await fetch(path, { method, headers, body, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'cannot reach the node');
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch (e) {
    json = undefined;
  }
  if (!res.ok) {
    throw new ApiError(res.status, (json && json.error) || `${res.status} ${res.statusText}`.trim(), json);
  }
  return { status: res.status, json };
}

export const getJson = (path) => request(path).then((r) => r.json);

const enc = encodeURIComponent;

export function addressPath({ namespace, type, id }) {
  return `actors/${enc(namespace)}/${enc(type)}/${enc(id)}`;
}

// A query string that leaves the characters a query may hold as they are
// ('/' in a type name, ':' or '@' in an id) and encodes the rest.
export function queryString(params) {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v)).replace(/%(2F|3A|40|24|2C|3B)/gi, (m) => decodeURIComponent(m))}`)
    .join('&');
}

export function actorsQuery({ type, prefix, offset, limit }) {
  return `actors?${queryString({ type, prefix, offset: offset || 0, limit })}`;
}

export const api = {
  status: () => getJson('status'),
  functions: () => getJson('functions'),
  actors: (params) => getJson(actorsQuery(params)),
  actor: (address) => getJson(addressPath(address)),
  send: (address, { contentType, body }) =>
    request(`${addressPath(address)}/messages?wait=true`, {
      method: 'POST',
      headers: { 'Content-Type': contentType },
      body,
    }),
  deadLetters: () => getJson('dead-letters'),
  replayDeadLetter: (id) => request(`dead-letters/${enc(id)}/replay`, { method: 'POST', body: '' }),
  dropDeadLetter: (id) => request(`dead-letters/${enc(id)}`, { method: 'DELETE' }),
  checkpoints: () => getJson('checkpoints'),
  checkpointNow: () => request('checkpoints', { method: 'POST', body: '' }),
};
