// Nyström (or exact softmax) attention as an edge / serverless fetch handler:
// `export default { fetch(request) }`, the shape Deno Deploy, Cloudflare Workers, Bun.serve and
// Deno.serve accept. Uses the embedded wasm build, so it needs no file or network access.
// In your own project import from 'nystrom-wasm' instead of the relative dist path.
//
// POST only (anything else: 405). Two request encodings; the response uses the same one.
//
// 1. JSON (Content-Type: application/json)
//      { "shape": [B, H, n, d], "q": [...], "k": [...], "v": [...],      // B·H·n·d numbers each
//        "kind": "nystrom" | "softmax",                                   // optional, default nystrom
//        "options": { "style", "landmarks", "pinvIterations", "pinvInit", "remainder",
//                     "mask": [B·n of 0/1], "convWeight": [H·k], "kind" } }   // all optional
//    -> 200 { "shape": [B, H, n, d], "kind", "build", "ms", "output": [...] }
//
// 2. Binary (Content-Type: application/octet-stream), all little-endian:
//      bytes 0..3      u32  headerBytes: length of the JSON header that follows
//      next headerBytes     UTF-8 JSON { "shape": [...], "kind"?, "options"? } (as above, no q/k/v)
//      zero padding         to the next multiple of 4 bytes
//      then                 q, k, v as f32, B·H·n·d values each (nothing after them)
//    -> 200 application/octet-stream: the output as B·H·n·d f32 values, with headers
//       X-Shape: "B,H,n,d", X-Build: "simd" | "relaxed", X-Elapsed-Ms.
//
// Malformed input (bad JSON, wrong lengths, non-finite numbers, unknown style or option...) ->
// 400 { "error": message }; a body over MAX_BODY_BYTES -> 413; anything unexpected -> 500.
import { nystromAttention, softmaxAttention, activeBuild } from '../../dist/index.js';

export const MAX_BODY_BYTES = 32 * 1024 * 1024;
const OPTION_KEYS = new Set(['style', 'landmarks', 'pinvIterations', 'pinvInit', 'remainder', 'mask', 'convWeight', 'kind']);

/** An error whose message goes back to the client with a 4xx status. */
class BadRequest extends Error {
  constructor(message, status = 400) {
    super(message);
    this.status = status;
  }
}

const json = (body, status = 200, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });

function checkShape(shape) {
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((x) => Number.isInteger(x) && x > 0)) {
    throw new BadRequest(`shape: expected [batch, heads, n, d] of 4 positive integers, received ${JSON.stringify(shape)}`);
  }
  const count = shape[0] * shape[1] * shape[2] * shape[3];
  if (count * 4 * 3 > MAX_BODY_BYTES) throw new BadRequest(`shape ${JSON.stringify(shape)} is too large for this endpoint`, 413);
  return count;
}

/** A Float32Array from a JSON array of finite numbers of the expected length. */
function floats(name, x, count) {
  if (!Array.isArray(x)) throw new BadRequest(`${name}: expected an array of ${count} numbers, received ${x === null ? 'null' : typeof x}`);
  if (x.length !== count) throw new BadRequest(`${name}: expected ${count} numbers, received ${x.length}`);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    if (typeof x[i] !== 'number') throw new BadRequest(`${name}[${i}]: expected a number, received ${JSON.stringify(x[i])}`);
    out[i] = x[i];
  }
  return checkFinite(name, out);
}

function checkFinite(name, a) {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new BadRequest(`${name}[${i}]: expected a finite number, received ${a[i]}`);
  }
  return a;
}

/** Library options from the request's options object (arrays become typed arrays). */
function toOptions(shape, raw, topKind) {
  if (raw !== undefined && (raw === null || typeof raw !== 'object' || Array.isArray(raw))) {
    throw new BadRequest(`options: expected an object, received ${JSON.stringify(raw)}`);
  }
  const given = raw ?? {};
  for (const key of Object.keys(given)) {
    if (!OPTION_KEYS.has(key)) throw new BadRequest(`options.${key}: unknown option (expected one of ${[...OPTION_KEYS].join(', ')})`);
  }
  const { kind: optKind, mask, convWeight, ...rest } = given;
  const kind = topKind ?? optKind ?? 'nystrom';
  if (kind !== 'nystrom' && kind !== 'softmax') throw new BadRequest(`kind: expected 'nystrom' or 'softmax', received ${JSON.stringify(kind)}`);
  const options = { ...rest, shape };
  if (mask !== undefined) options.mask = floats('options.mask', mask, shape[0] * shape[2]);
  if (convWeight !== undefined) {
    if (!Array.isArray(convWeight)) throw new BadRequest('options.convWeight: expected an array of numbers');
    options.convWeight = floats('options.convWeight', convWeight, convWeight.length);
  }
  return { kind, options };
}

async function readBody(request) {
  const declared = Number(request.headers.get('content-length'));
  if (declared > MAX_BODY_BYTES) throw new BadRequest(`body of ${declared} bytes exceeds ${MAX_BODY_BYTES}`, 413);
  const body = new Uint8Array(await request.arrayBuffer());
  if (body.byteLength > MAX_BODY_BYTES) throw new BadRequest(`body of ${body.byteLength} bytes exceeds ${MAX_BODY_BYTES}`, 413);
  return body;
}

function parseJsonRequest(body) {
  let msg;
  try {
    msg = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (e) {
    throw new BadRequest(`body: expected JSON, ${e.message}`);
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) throw new BadRequest('body: expected a JSON object');
  const count = checkShape(msg.shape);
  const { kind, options } = toOptions(msg.shape, msg.options, msg.kind);
  return { kind, options, q: floats('q', msg.q, count), k: floats('k', msg.k, count), v: floats('v', msg.v, count) };
}

function parseBinaryRequest(body) {
  if (body.byteLength < 4) throw new BadRequest(`body: expected at least 4 bytes (header length), received ${body.byteLength}`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const headerBytes = view.getUint32(0, true);
  if (headerBytes > body.byteLength - 4) throw new BadRequest(`header: length ${headerBytes} exceeds the body (${body.byteLength - 4} bytes after the length)`);
  let header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body.subarray(4, 4 + headerBytes)));
  } catch (e) {
    throw new BadRequest(`header: expected JSON, ${e.message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new BadRequest('header: expected a JSON object');
  const count = checkShape(header.shape);
  const { kind, options } = toOptions(header.shape, header.options, header.kind);
  const start = (4 + headerBytes + 3) & ~3;
  const expected = start + 3 * count * 4;
  if (body.byteLength !== expected) {
    throw new BadRequest(`body: expected ${expected} bytes (${start} header + 3 × ${count} f32), received ${body.byteLength}`);
  }
  // slice() copies into fresh, aligned buffers (the body's offset need not be a multiple of 4).
  const tensor = (i) => checkFinite('qkv'[i], new Float32Array(body.buffer.slice(body.byteOffset + start + i * count * 4, body.byteOffset + start + (i + 1) * count * 4)));
  return { kind, options, q: tensor(0), k: tensor(1), v: tensor(2) };
}

/** Encodes a binary request (the format above): handy for clients and tests. */
export function encodeBinaryRequest({ shape, kind, options }, q, k, v) {
  const header = new TextEncoder().encode(JSON.stringify({ shape, kind, options }));
  const start = (4 + header.byteLength + 3) & ~3;
  const bytes = new Uint8Array(start + (q.length + k.length + v.length) * 4);
  new DataView(bytes.buffer).setUint32(0, header.byteLength, true);
  bytes.set(header, 4);
  const f = new Float32Array(bytes.buffer, start);
  f.set(q, 0);
  f.set(k, q.length);
  f.set(v, q.length + k.length);
  return bytes;
}

export default {
  async fetch(request) {
    if (request.method !== 'POST') return json({ error: `method ${request.method} not allowed, use POST` }, 405, { allow: 'POST' });
    const type = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    const binary = type === 'application/octet-stream';
    try {
      if (!binary && type !== 'application/json' && type !== '') {
        throw new BadRequest(`content-type: expected application/json or application/octet-stream, received ${type}`, 415);
      }
      const body = await readBody(request);
      const { kind, options, q, k, v } = binary ? parseBinaryRequest(body) : parseJsonRequest(body);
      const t0 = performance.now();
      let output;
      try {
        output = kind === 'softmax' ? softmaxAttention(q, k, v, options) : nystromAttention(q, k, v, options);
      } catch (e) {
        // The library reports bad arguments as TypeError / RangeError naming expected vs. received.
        if (e instanceof TypeError || e instanceof RangeError) throw new BadRequest(e.message);
        throw e;
      }
      const ms = performance.now() - t0;
      const build = activeBuild();
      if (binary) {
        return new Response(output.buffer.slice(output.byteOffset, output.byteOffset + output.byteLength), {
          status: 200,
          headers: { 'content-type': 'application/octet-stream', 'x-shape': options.shape.join(','), 'x-build': build, 'x-elapsed-ms': ms.toFixed(3) },
        });
      }
      return json({ shape: options.shape, kind, build, ms, output: Array.from(output) });
    } catch (e) {
      if (e instanceof BadRequest) return json({ error: e.message }, e.status);
      return json({ error: `internal error: ${e && e.message}` }, 500);
    }
  },
};
