// Admin API client. URLs are relative to the page, which the node serves at
// the root of its admin port.

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// The admin token, when the node asks for one (`hearth-node --admin-token-file`).
// It is kept in sessionStorage, so it lasts as long as the tab; in memory
// when the browser refuses storage.
const TOKEN_KEY = 'hearth-admin-token';
let memoryToken = '';

function storedToken() {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY) || '';
  } catch (e) {
    return memoryToken;
  }
}

function storeToken(token) {
  memoryToken = token;
  try {
    window.sessionStorage.setItem(TOKEN_KEY, token);
  } catch (e) {
    // memoryToken holds it
  }
}

// The app's token form: ask(error) shows it (with the reason the last token
// was refused, or '' for the first time) and resolves with the token typed;
// done() hides it. Set with setTokenPrompt; without one a 401 is an ApiError.
let prompt = null;
// The token being asked for: one prompt that every request answered 401
// waits for.
let asking = null;
// A token from the form that no answer has accepted yet.
let checking = false;

export function setTokenPrompt(p) {
  prompt = p;
}

// The token to retry with after a 401 to a request sent with `used`.
function tokenAfterRefusal(used, error) {
  if (asking) return asking;
  const current = storedToken();
  if (current !== used) return Promise.resolve(current); // a newer one came meanwhile
  checking = false;
  asking = prompt.ask(used ? error : '').then((token) => {
    storeToken(token);
    asking = null;
    checking = true;
    return token;
  });
  return asking;
}

async function send(path, { method, headers, body }, token) {
  const all = token ? { ...headers, Authorization: `Bearer ${token}` } : headers;
  let res;
  try {
    res = await fetch(path, { method, headers: all, body, cache: 'no-store' });
  } catch (e) {
    return { status: 0 };
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch (e) {
    json = undefined;
  }
  const error = (json && json.error) || `${res.status} ${res.statusText}`.trim();
  return { status: res.status, ok: res.ok, json, error };
}

// Sends a request with the admin token when one is known; on a 401 asks for
// the token and sends it again. Resolves with {status, json}. Rejects with an
// ApiError for any other non-2xx answer (its message is the API's `error`
// field when there is one).
export async function request(path, { method = 'GET', headers, body } = {}) {
  for (;;) {
    if (asking) await asking;
    const token = storedToken();
    const res = await send(path, { method, headers, body }, token);
    if (res.status === 401 && prompt) {
      await tokenAfterRefusal(token, res.error);
      continue;
    }
    if (checking && token === storedToken()) {
      // The node took the token from the form (or could not be reached).
      checking = false;
      if (prompt) prompt.done();
    }
    if (res.status === 0) throw new ApiError(0, 'cannot reach the node');
    if (!res.ok) throw new ApiError(res.status, res.error, res.json);
    return { status: res.status, json: res.json };
  }
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
  cluster: () => getJson('cluster'),
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
