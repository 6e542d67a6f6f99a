// StateFun values: the primitive types' wire encoding (as the SDKs write it:
// a protobuf wrapper message with the value in field 1), used to send typed
// messages from the console and to show dead letters' messages.

export const STRING_TYPE = 'io.statefun.types/string';

const PRIMITIVES = {
  'io.statefun.types/int': { tag: 0x0d, size: 4, write: (v, x) => v.setInt32(0, x, true), read: (v) => v.getInt32(0, true) },
  'io.statefun.types/long': { tag: 0x09, size: 8, write: (v, x) => v.setBigInt64(0, x, true), read: (v) => v.getBigInt64(0, true) },
  'io.statefun.types/float': { tag: 0x0d, size: 4, write: (v, x) => v.setFloat32(0, x, true), read: (v) => v.getFloat32(0, true) },
  'io.statefun.types/double': { tag: 0x09, size: 8, write: (v, x) => v.setFloat64(0, x, true), read: (v) => v.getFloat64(0, true) },
};

function parseNumber(typename, text) {
  const t = text.trim();
  if (typename === 'io.statefun.types/long') {
    if (!/^-?\d+$/.test(t)) throw new Error('a long must be a whole number');
    const n = BigInt(t);
    if (n < -(2n ** 63n) || n >= 2n ** 63n) throw new Error('out of range for a long');
    return n;
  }
  const n = Number(t);
  if (t === '' || Number.isNaN(n)) throw new Error('not a number');
  if (typename === 'io.statefun.types/int') {
    if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) throw new Error('an int must be a whole number in 32 bits');
  }
  return n;
}

// The request for a message of `typename` whose value the user typed as
// `text`: {contentType, body}. Strings go as plain text (the node encodes
// them); int, long, float, double and bool are encoded here; any other
// typename sends the text's UTF-8 bytes untouched. Throws on a bad number.
export function encodeMessage(typename, text) {
  const name = typename.trim() || STRING_TYPE;
  if (name === STRING_TYPE) return { contentType: 'text/plain; charset=utf-8', body: text };
  const contentType = `application/vnd.${name}`;
  if (name === 'io.statefun.types/bool') {
    const t = text.trim().toLowerCase();
    if (t !== 'true' && t !== 'false') throw new Error('a bool must be true or false');
    return { contentType, body: new Uint8Array([0x08, t === 'true' ? 1 : 0]) };
  }
  const p = PRIMITIVES[name];
  if (p) {
    const bytes = new Uint8Array(1 + p.size);
    bytes[0] = p.tag;
    p.write(new DataView(bytes.buffer, 1), parseNumber(name, text));
    return { contentType, body: bytes };
  }
  return { contentType, body: new TextEncoder().encode(text) };
}

export function base64ToBytes(b64) {
  const bin = atob(b64 || '');
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

export function toHex(bytes, max = 4096) {
  let s = '';
  for (let i = 0; i < Math.min(bytes.length, max); i += 1) s += bytes[i].toString(16).padStart(2, '0');
  return bytes.length > max ? `${s}…` : s;
}

// Reads field 1 of a wrapper message: {wire, bytes} or null.
function field1(bytes) {
  if (bytes.length === 0) return { wire: -1, bytes };
  const tag = bytes[0];
  if (tag >> 3 !== 1) return null;
  const wire = tag & 7;
  if (wire === 2) {
    let len = 0;
    let shift = 0;
    let i = 1;
    for (; i < bytes.length; i += 1) {
      len += (bytes[i] & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(bytes[i] & 0x80)) break;
    }
    i += 1;
    if (i + len !== bytes.length) return null;
    return { wire, bytes: bytes.subarray(i) };
  }
  return { wire, bytes: bytes.subarray(1) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

// A value as the API shows states: {value} for primitives, {json} when the
// bytes parse as JSON, {text} for other UTF-8, {hex} otherwise.
export function decodeValue(typename, b64) {
  const bytes = base64ToBytes(b64);
  try {
    if (typename === STRING_TYPE) {
      const f = field1(bytes);
      if (f && (f.wire === 2 || f.wire === -1)) return { value: utf8.decode(f.bytes) };
    } else if (typename === 'io.statefun.types/bool') {
      const f = field1(bytes);
      if (f && (f.wire === 0 || f.wire === -1)) return { value: f.bytes.length > 0 && f.bytes[0] !== 0 };
    } else if (PRIMITIVES[typename]) {
      const p = PRIMITIVES[typename];
      const f = field1(bytes);
      if (f && f.wire === -1) return { value: 0 };
      if (f && f.bytes.length === p.size) {
        const v = p.read(new DataView(f.bytes.buffer, f.bytes.byteOffset, p.size));
        return { value: typeof v === 'bigint' ? v.toString() : v };
      }
    }
    const text = utf8.decode(bytes);
    try {
      return { json: JSON.parse(text) };
    } catch (e) {
      if (!/[\u0000-\u0008\u000e-\u001f]/.test(text)) return { text };
    }
  } catch (e) {
    // not UTF-8: fall through to hex
  }
  return { hex: toHex(bytes) };
}
