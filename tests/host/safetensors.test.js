// src/model/safetensors.ts: round trips for every dtype (F16 specials and rounding, BF16, unaligned
// offsets), the lazy (convert: false) form, bare and prefixed names, metadata, and every malformed file
// of shared MODEL.md → the right error class, code 'ERR_CHECKPOINT' and a message naming the tensor or field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  loadSafetensors, writeSafetensors, tensorAsFloat32, tensorData, f16BitsToF32Bits, f32BitsToF16Bits,
  f32BitsToBf16Bits, DTYPE_SIZES, MAX_HEADER_BYTES,
} from '../../dist/model/safetensors.js';
import { mulberry32 } from '../reference.js';
import { randomCheckpoint, smallConfig, baseTensorShapes } from '../model/checkpoint.js';

const enc = new TextEncoder();

/** A file from a header (object or exact string) and data bytes; `n` overrides the stored header length. */
function rawFile(header, data = new Uint8Array(0), { n } = {}) {
  const h = typeof header === 'string' ? enc.encode(header) : header instanceof Uint8Array ? header : enc.encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  const dv = new DataView(out.buffer);
  const len = n ?? h.length;
  dv.setUint32(0, Number(BigInt(len) & 0xffffffffn), true);
  dv.setUint32(4, Number(BigInt(len) >> 32n), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const f32Bits = (x) => new Uint32Array(new Float32Array([x]).buffer)[0];
const bitsF32 = (b) => new Float32Array(new Uint32Array([b]).buffer)[0];
const bitsOf = (arr) => Array.from(new Uint32Array(arr.buffer, arr.byteOffset, arr.length));

/** Asserts fn throws Class with code ERR_CHECKPOINT and a message matching every pattern. */
function expectCheckpointError(fn, Class, patterns, what) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${what}: did not throw`);
  assert.ok(err instanceof Class, `${what}: threw ${err?.constructor?.name} (${err?.message}), expected ${Class.name}`);
  assert.equal(err.code, 'ERR_CHECKPOINT', `${what}: code ${err.code} (${err.message})`);
  for (const p of patterns) assert.match(err.message, p, `${what}: message "${err.message}" does not match ${p}`);
  return err;
}

// ---------------------------------------------------------------------------------------------
// Round trips

test('round trip: every dtype keeps its values (floats → Float32Array, integers keep their type)', () => {
  const f = [0, -0, 1.5, -2.25, 3.4e38, 1e-30, Math.PI, -7];
  const tensors = {
    f64: { dtype: 'F64', shape: [2, 4], data: f },
    f32: { dtype: 'F32', shape: [8], data: f },
    f16: { dtype: 'F16', shape: [4, 2], data: [0, -0, 1.5, -2.25, 65504, 2 ** -24, 0.5, -7] },
    bf16: { dtype: 'BF16', shape: [8], data: [0, -0, 1.5, -2.25, 3.3895313892515355e38, 2 ** -126, 0.5, -7] },
    i64: { dtype: 'I64', shape: [3], data: [-(2n ** 63n), 2n ** 63n - 1n, 42] },
    u64: { dtype: 'U64', shape: [2], data: [0, 2n ** 64n - 1n] },
    i32: { dtype: 'I32', shape: [3], data: [-(2 ** 31), 2 ** 31 - 1, 5] },
    u32: { dtype: 'U32', shape: [2], data: [0, 2 ** 32 - 1] },
    i16: { dtype: 'I16', shape: [2], data: [-32768, 32767] },
    u16: { dtype: 'U16', shape: [2], data: [0, 65535] },
    i8: { dtype: 'I8', shape: [3], data: [-128, 127, 0] },
    u8: { dtype: 'U8', shape: [2], data: [0, 255] },
    bool: { dtype: 'BOOL', shape: [3], data: [1, 0, true] },
  };
  const file = loadSafetensors(writeSafetensors(tensors));
  const kinds = {
    f64: Float32Array, f32: Float32Array, f16: Float32Array, bf16: Float32Array, i64: BigInt64Array, u64: BigUint64Array,
    i32: Int32Array, u32: Uint32Array, i16: Int16Array, u16: Uint16Array, i8: Int8Array, u8: Uint8Array, bool: Uint8Array,
  };
  assert.deepEqual([...file.tensors.keys()], Object.keys(tensors));
  for (const [name, t] of Object.entries(tensors)) {
    const got = file.tensors.get(name);
    assert.equal(got.dtype, t.dtype, name);
    assert.deepEqual(got.shape, t.shape, name);
    assert.ok(got.data instanceof kinds[name], `${name}: ${got.data.constructor.name}`);
    const want = t.data.map((x) => (typeof x === 'boolean' ? Number(x) : x));
    if (got.data instanceof Float32Array) {
      assert.deepEqual(bitsOf(got.data), want.map((x) => f32Bits(x)), name); // bitwise: -0 and F64 narrowing included
    } else if (got.data instanceof BigInt64Array || got.data instanceof BigUint64Array) {
      assert.deepEqual(Array.from(got.data), want.map((x) => BigInt(x)), name);
    } else {
      assert.deepEqual(Array.from(got.data), want, name);
    }
  }
  assert.deepEqual(file.metadata, {});
});

test('F16 → F32: all 65536 half values convert exactly (subnormals, ±0, ±inf, NaN payloads)', () => {
  const halves = new Uint16Array(65536).map((_, i) => i);
  const bytes = rawFile({ h: { dtype: 'F16', shape: [65536], data_offsets: [0, 131072] } }, new Uint8Array(halves.buffer));
  const got = loadSafetensors(bytes).tensors.get('h').data;
  const bits = new Uint32Array(got.buffer, got.byteOffset, got.length);
  for (let h = 0; h < 65536; h++) {
    const s = h >> 15 ? -1 : 1;
    const e = (h >> 10) & 31;
    const m = h & 1023;
    if (e === 31) {
      if (m === 0) assert.equal(got[h], s * Infinity, `0x${h.toString(16)}`);
      else assert.equal(bits[h], ((h & 0x8000) << 16 | 0x7f800000 | (m << 13)) >>> 0, `NaN 0x${h.toString(16)} keeps its payload`);
      continue;
    }
    const v = e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
    if (v === 0) assert.equal(bits[h], s < 0 ? 0x80000000 : 0, `signed zero 0x${h.toString(16)}`);
    else if (got[h] !== v) assert.fail(`0x${h.toString(16)}: ${got[h]} != ${v}`);
  }
  // Spot checks by name.
  assert.equal(bitsF32(f16BitsToF32Bits(0x0001)), 2 ** -24);
  assert.equal(bitsF32(f16BitsToF32Bits(0x03ff)), 1023 * 2 ** -24);
  assert.equal(bitsF32(f16BitsToF32Bits(0x7bff)), 65504);
  assert.equal(bitsF32(f16BitsToF32Bits(0xfc00)), -Infinity);
});

test('F32 → F16 rounding is round-to-nearest-even (ties, overflow, subnormals, NaN); a random sweep is nearest', () => {
  const toF16 = (x) => f32BitsToF16Bits(f32Bits(x));
  const cases = [
    [1 + 2 ** -11, 0x3c00], // tie → even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // tie → even (1 + 2^-9)
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
    [65504, 0x7bff], [65519, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-1e6, 0xfc00],
    [2 ** -24, 0x0001], [2 ** -25, 0x0000], [2 ** -25 * 1.0000001, 0x0001], [3 * 2 ** -25, 0x0002],
    [2 ** -14 - 2 ** -25, 0x0400], // largest subnormal + half an ulp, tie → even (smallest normal)
    [1e-10, 0], [-1e-10, 0x8000], [-0, 0x8000], [Infinity, 0x7c00], [-Infinity, 0xfc00],
  ];
  for (const [x, h] of cases) assert.equal(toF16(x), h, `f16(${x}) = 0x${toF16(x).toString(16)}, expected 0x${h.toString(16)}`);
  assert.ok((toF16(NaN) & 0x7c00) === 0x7c00 && (toF16(NaN) & 0x3ff) !== 0, 'NaN stays NaN');
  assert.ok((f32BitsToF16Bits(0x7f800001) & 0x3ff) !== 0, 'a NaN with a low payload stays NaN');

  const half = (h) => bitsF32(f16BitsToF32Bits(h));
  const rng = mulberry32(3);
  for (let i = 0; i < 50000; i++) {
    const x = Math.fround((rng() - 0.5) * 2 ** (Math.floor(rng() * 44) - 26));
    const h = toF16(x);
    const v = half(h);
    if (!Number.isFinite(v)) {
      assert.ok(Math.abs(x) >= 65520, `${x} → inf`);
      continue;
    }
    for (const nb of [h - 1, h + 1]) {
      if ((nb & 0x7fff) >= 0x7c00 || nb < 0 || (nb & 0x8000) !== (h & 0x8000)) continue;
      const dv = Math.abs(x - v);
      const dn = Math.abs(x - half(nb));
      assert.ok(dv < dn || (dv === dn && (h & 1) === 0), `f16(${x}) = ${v} is not the nearest-even (neighbour ${half(nb)})`);
    }
  }
});

test('F32 → BF16 rounding is round-to-nearest-even; BF16 → F32 is the upper 16 bits', () => {
  const toBf = (x) => f32BitsToBf16Bits(f32Bits(x));
  assert.equal(toBf(1), 0x3f80);
  assert.equal(toBf(1 + 2 ** -8), 0x3f80); // tie → even
  assert.equal(toBf(1 + 3 * 2 ** -8), 0x3f82); // tie → even
  assert.equal(toBf(1 + 2 ** -8 + 2 ** -20), 0x3f81);
  assert.equal(toBf(-2), 0xc000);
  assert.equal(toBf(3.4028234663852886e38), 0x7f80); // rounds up to inf
  assert.equal(toBf(Infinity), 0x7f80);
  assert.ok(Number.isNaN(bitsF32(toBf(NaN) << 16)));
  assert.ok(Number.isNaN(bitsF32(f32BitsToBf16Bits(0x7f800001) << 16)), 'a NaN with a low payload stays NaN');
  const vals = [1, 1 + 2 ** -8, -3.1415926, 1e-40, 6e37];
  const file = loadSafetensors(writeSafetensors({ b: { dtype: 'BF16', shape: [5], data: vals } }));
  assert.deepEqual(bitsOf(file.tensors.get('b').data), vals.map((x) => toBf(x) << 16 >>> 0));
});

test('unaligned offsets and an unaligned file: every dtype reads correctly; aligned F32/ints are views unless copy', () => {
  const t = {
    a: { dtype: 'F16', shape: [3], data: [1, 2, 3] }, // 6 bytes: everything after is unaligned
    b: { dtype: 'F32', shape: [2], data: [1.25, -8] },
    c: { dtype: 'F64', shape: [2], data: [0.1, -1e300] },
    d: { dtype: 'I64', shape: [2], data: [-5n, 7n] },
    e: { dtype: 'U8', shape: [1], data: [9] },
    f: { dtype: 'I32', shape: [2], data: [-1, 123456] },
    g: { dtype: 'BF16', shape: [2], data: [0.5, -4] },
    h: { dtype: 'I16', shape: [1], data: [-300] },
    i: { dtype: 'U64', shape: [1], data: [2n ** 60n] },
  };
  const file = writeSafetensors(t);
  const check = (bytes, what) => {
    const { tensors } = loadSafetensors(bytes);
    assert.deepEqual(Array.from(tensors.get('a').data), [1, 2, 3], what);
    assert.deepEqual(Array.from(tensors.get('b').data), [1.25, -8], what);
    assert.deepEqual(Array.from(tensors.get('c').data), [Math.fround(0.1), -Infinity], `${what}: F64 narrowed (overflow → -inf)`);
    assert.deepEqual(Array.from(tensors.get('d').data), [-5n, 7n], what);
    assert.deepEqual(Array.from(tensors.get('e').data), [9], what);
    assert.deepEqual(Array.from(tensors.get('f').data), [-1, 123456], what);
    assert.deepEqual(Array.from(tensors.get('g').data), [0.5, -4], what);
    assert.deepEqual(Array.from(tensors.get('h').data), [-300], what);
    assert.deepEqual(Array.from(tensors.get('i').data), [2n ** 60n], what);
    const raw = loadSafetensors(bytes, { convert: false }).tensors;
    assert.ok([...raw.values()].some((r) => r.bytes.byteOffset % 4 !== 0), `${what}: some tensor really is unaligned`);
  };
  check(file, 'aligned header');
  // The same file at byte offset 3 of a bigger buffer.
  const big = new Uint8Array(file.length + 5);
  big.set(file, 3);
  check(big.subarray(3, 3 + file.length), 'file at offset 3');
  // On a SharedArrayBuffer.
  const shared = new Uint8Array(new SharedArrayBuffer(file.length));
  shared.set(file);
  check(shared, 'SharedArrayBuffer');

  // Aligned (sorted) file: F32 and integer tensors are views of the file; F16 / BF16 / F64 are new arrays.
  const sorted = writeSafetensors(t, undefined, { sortByAlignment: true });
  const views = loadSafetensors(sorted).tensors;
  for (const [name, e] of views) {
    const shares = e.data.buffer === sorted.buffer;
    assert.equal(shares, ['F32', 'I64', 'U8', 'I32', 'I16', 'U64'].includes(e.dtype), `${name} (${e.dtype}) shares memory: ${shares}`);
  }
  for (const [name, e] of loadSafetensors(sorted, { copy: true }).tensors) assert.notEqual(e.data.buffer, sorted.buffer, `${name} copied`);
  assert.deepEqual(Array.from(views.get('b').data), [1.25, -8]);
});

test('lazy form (convert: false): views into the file, tensorAsFloat32 / tensorData convert one tensor, into `out` too', () => {
  const ck = randomCheckpoint(smallConfig(), { dtype: 'F16', positionIdsBuffer: true, seed: 5 });
  const lazy = loadSafetensors(ck.bytes, { convert: false });
  const eager = loadSafetensors(ck.bytes);
  assert.deepEqual([...lazy.tensors.keys()], [...eager.tensors.keys()]);
  for (const [name, r] of lazy.tensors) {
    assert.equal(r.bytes.buffer, ck.bytes.buffer, `${name}: a view, not a copy`);
    assert.equal(r.byteLength, r.size * DTYPE_SIZES[r.dtype]);
    assert.equal(r.bytes.byteOffset, ck.bytes.byteOffset + r.offset);
    const e = eager.tensors.get(name);
    if (r.dtype === 'I64') {
      assert.deepEqual(Array.from(tensorData(r)), Array.from(e.data));
      assert.deepEqual(Array.from(tensorAsFloat32(r)), Array.from(e.data, Number), 'ints as float32');
      continue;
    }
    assert.deepEqual(bitsOf(tensorAsFloat32(r)), bitsOf(e.data), name);
    const out = new Float32Array(r.size + 4).subarray(2, 2 + r.size);
    assert.equal(tensorAsFloat32(r, out), out);
    assert.deepEqual(bitsOf(out), bitsOf(e.data), `${name} into out`);
  }
  const wq = eager.tensors.get('encoder.layer.0.attention.self.query.weight');
  assert.equal(tensorAsFloat32(wq), wq.data, 'a converted F32 entry is returned as is');
  assert.throws(() => tensorAsFloat32(wq, new Float32Array(3)), (e) => e instanceof RangeError && e.code === 'ERR_TENSOR');
  assert.throws(() => tensorAsFloat32(wq, new Float64Array(wq.data.length)), (e) => e instanceof RangeError && e.code === 'ERR_TENSOR');
});

test('bare and nystromformer.-prefixed names, the int64 position_ids buffer, head keys; file order by offset', () => {
  const cfg = smallConfig();
  const bare = randomCheckpoint(cfg, { seed: 2 });
  const pref = randomCheckpoint(cfg, { seed: 2, head: 'mlm', positionIdsBuffer: true });
  const names = baseTensorShapes(cfg).map(([n]) => n);
  const bk = [...loadSafetensors(bare.bytes).tensors.keys()];
  assert.deepEqual(bk, names);
  const pk = loadSafetensors(pref.bytes).tensors;
  for (const n of names) assert.ok(pk.has(`nystromformer.${n}`), n);
  const pos = pk.get('nystromformer.embeddings.position_ids');
  assert.equal(pos.dtype, 'I64');
  assert.deepEqual(pos.shape, [1, cfg.max_position_embeddings]);
  assert.equal(pos.data[0], 2n);
  assert.ok(pk.has('cls.predictions.bias') && !pk.has('cls.predictions.decoder.weight'));
  // Same values under both names (same seed, same draw order for the base model).
  assert.deepEqual(pk.get('nystromformer.encoder.layer.1.output.dense.weight').data, loadSafetensors(bare.bytes).tensors.get('encoder.layer.1.output.dense.weight').data);
  // randomCheckpoint's weights are exactly what the file holds.
  assert.deepEqual(pref.weights, loadSafetensors(pref.bytes, { copy: true }).tensors);

  // Integer-like, unicode and dotted names survive; tensors come back in file order, not header order.
  const hdr = { z: { dtype: 'U8', shape: [1], data_offsets: [2, 3] }, '10': { dtype: 'U8', shape: [1], data_offsets: [1, 2] }, 'é.ü': { dtype: 'U8', shape: [1], data_offsets: [0, 1] } };
  const f = loadSafetensors(rawFile(hdr, new Uint8Array([7, 8, 9])));
  assert.deepEqual([...f.tensors.keys()], ['é.ü', '10', 'z']);
  assert.deepEqual([...f.tensors.values()].map((t) => t.data[0]), [7, 8, 9]);
});

test('metadata round trip; absent metadata is {}; header padding with spaces; scalars, empty tensors, empty file', () => {
  const meta = { format: 'pt', note: 'ünïcode "quoted"', empty: '' };
  const bytes = writeSafetensors({ s: { dtype: 'F32', shape: [], data: [2.5] }, e: { dtype: 'F32', shape: [0, 3], data: [] } }, meta);
  const dv = new DataView(bytes.buffer);
  assert.equal((8 + dv.getUint32(0, true)) % 8, 0, 'header padded so the data starts at a multiple of 8');
  const f = loadSafetensors(bytes);
  assert.deepEqual(f.metadata, meta);
  assert.deepEqual(f.tensors.get('s').shape, []);
  assert.deepEqual(Array.from(f.tensors.get('s').data), [2.5]);
  assert.equal(f.tensors.get('e').data.length, 0);
  const unpadded = writeSafetensors({ s: { dtype: 'F32', shape: [], data: [1] } }, undefined, { alignHeader: false });
  assert.equal(new DataView(unpadded.buffer).getUint32(0, true), enc.encode('{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}').length);
  assert.deepEqual(loadSafetensors(rawFile('{}')).tensors.size, 0);
  assert.deepEqual(loadSafetensors(rawFile('{"__metadata__":{"a":"b"}}     ')).metadata, { a: 'b' });
  assert.deepEqual(loadSafetensors(new Uint8Array(Buffer.from(writeSafetensors({}, { k: 'v' })))).metadata, { k: 'v' }, 'a Node Buffer is a Uint8Array');
  // __proto__ as a metadata key stays data.
  const proto = loadSafetensors(rawFile('{"__metadata__":{"__proto__":"x"}}')).metadata;
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(proto, '__proto__').value, 'x');
});

// ---------------------------------------------------------------------------------------------
// Malformed files

const T = (dtype, shape, off) => ({ dtype, shape, data_offsets: off });

test('malformed: not a Uint8Array, too short, header length absurd or past the end', () => {
  for (const x of [new ArrayBuffer(16), [1, 2, 3], null, undefined, 'abc', new Float32Array(4), new Uint8ClampedArray(16), new DataView(new ArrayBuffer(16))]) {
    expectCheckpointError(() => loadSafetensors(x), TypeError, [/Uint8Array/], `input ${Object.prototype.toString.call(x)}`);
  }
  expectCheckpointError(() => loadSafetensors(new ArrayBuffer(16)), TypeError, [/new Uint8Array\(buffer\)/], 'ArrayBuffer hint');
  for (const n of [0, 1, 7]) expectCheckpointError(() => loadSafetensors(new Uint8Array(n)), RangeError, [new RegExp(`${n} bytes`)], `${n} bytes`);
  expectCheckpointError(() => loadSafetensors(rawFile('{}', undefined, { n: 3 })), RangeError, [/header length 3 runs past the end/], 'N past the end');
  expectCheckpointError(() => loadSafetensors(rawFile('{}', undefined, { n: 2 ** 40 })), RangeError, [/absurd/, /1099511627776/], 'N = 2^40');
  expectCheckpointError(() => loadSafetensors(rawFile('{}', undefined, { n: MAX_HEADER_BYTES + 1 })), RangeError, [/absurd/], 'N > 100 MB');
  expectCheckpointError(() => loadSafetensors(rawFile('{}', undefined, { n: 2n ** 64n - 1n })), RangeError, [/absurd/], 'N = 2^64 - 1');
});

test('malformed: header not UTF-8, not JSON, not an object, not starting with {', () => {
  expectCheckpointError(() => loadSafetensors(rawFile(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))), TypeError, [/UTF-8/], 'bad UTF-8');
  expectCheckpointError(() => loadSafetensors(rawFile('{"a": 1,}')), TypeError, [/not valid JSON/], 'trailing comma');
  expectCheckpointError(() => loadSafetensors(rawFile('{"a"')), TypeError, [/not valid JSON/], 'truncated');
  expectCheckpointError(() => loadSafetensors(rawFile('{} x')), TypeError, [/not valid JSON/], 'garbage after the object');
  expectCheckpointError(() => loadSafetensors(rawFile(' {}')), TypeError, [/start with '\{'/, /0x20/], 'leading space');
  expectCheckpointError(() => loadSafetensors(rawFile('[]')), TypeError, [/start with '\{'/], 'an array');
  expectCheckpointError(() => loadSafetensors(rawFile('')), TypeError, [/start with '\{'/, /empty/], 'empty header');
  expectCheckpointError(() => loadSafetensors(rawFile(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))), TypeError, [/start with '\{'/], 'a BOM');
});

test('malformed: tensor entries missing fields, wrong types, unknown dtype, bad shape or offsets', () => {
  const one = (entry, data = new Uint8Array(4)) => () => loadSafetensors(rawFile({ 'layer.w': entry }, data));
  const name = /"layer\.w"/;
  expectCheckpointError(one(3), TypeError, [name, /must be an object/], 'entry a number');
  expectCheckpointError(one([1]), TypeError, [name, /must be an object/], 'entry an array');
  expectCheckpointError(one({ shape: [1], data_offsets: [0, 4] }), TypeError, [name, /no 'dtype'/], 'no dtype');
  expectCheckpointError(one({ dtype: 'F32', data_offsets: [0, 4] }), TypeError, [name, /no 'shape'/], 'no shape');
  expectCheckpointError(one({ dtype: 'F32', shape: [1] }), TypeError, [name, /no 'data_offsets'/], 'no data_offsets');
  expectCheckpointError(one(T(4, [1], [0, 4])), TypeError, [name, /dtype must be a string/], 'dtype a number');
  for (const dt of ['F8_E4M3', 'f32', 'Q4_0', 'C64', '']) {
    expectCheckpointError(one(T(dt, [1], [0, 4])), TypeError, [name, /unknown dtype/, new RegExp(`"${dt}"`)], `dtype ${dt}`);
  }
  expectCheckpointError(one(T('F32', 4, [0, 4])), TypeError, [name, /shape must be an array/], 'shape a number');
  expectCheckpointError(one(T('F32', ['1'], [0, 4])), TypeError, [name, /shape\[0\] must be a number/], 'shape of strings');
  expectCheckpointError(one(T('F32', [1, -1], [0, 4])), RangeError, [name, /shape\[1\] = -1/], 'negative shape');
  expectCheckpointError(one(T('F32', [1.5], [0, 4])), RangeError, [name, /shape\[0\] = 1\.5/], 'fractional shape');
  expectCheckpointError(one(T('F32', [1], { 0: 0, 1: 4 })), TypeError, [name, /data_offsets must be an array/], 'offsets an object');
  expectCheckpointError(one(T('F32', [1], [0, 4, 8])), TypeError, [name, /data_offsets must be an array \[begin, end\]/], 'three offsets');
  expectCheckpointError(one(T('F32', [1], [0, '4'])), TypeError, [name, /data_offsets\[1\] must be a number/], 'offset a string');
  expectCheckpointError(one(T('F32', [1], [-4, 0])), RangeError, [name, /data_offsets\[0\] = -4/], 'negative offset');
  expectCheckpointError(one(T('F32', [1], [0, 4.5])), RangeError, [name, /data_offsets\[1\] = 4\.5/], 'fractional offset');
  expectCheckpointError(one(T('F32', [1], [4, 0])), RangeError, [name, /end before they begin/], 'end < begin');
  expectCheckpointError(one(T('F32', [2], [0, 4])), RangeError, [name, /hold 4 bytes but F32 \[2\] needs 8/], 'size disagrees');
  expectCheckpointError(one(T('F16', [3], [0, 4])), RangeError, [name, /needs 6/], 'F16 size disagrees');
  expectCheckpointError(one(T('F32', [2], [0, 8])), RangeError, [name, /past the end of the file/], 'data past the end');
  expectCheckpointError(one(T('F32', [2 ** 40], [0, 2 ** 42])), RangeError, [name, /past the end of the file/], 'huge tensor');
});

test('malformed: overlaps, holes, a first tensor not at 0, bytes after the last tensor', () => {
  const d = new Uint8Array(12);
  const f = (hdr, data = d) => () => loadSafetensors(rawFile(hdr, data));
  expectCheckpointError(f({ a: T('F32', [2], [0, 8]), b: T('F32', [1], [4, 8]) }), RangeError, [/"b"/, /overlap "a"/], 'overlap');
  expectCheckpointError(f({ a: T('F32', [1], [0, 4]), b: T('F32', [1], [0, 4]), c: T('F32', [1], [4, 8]) }, new Uint8Array(8)), RangeError, [/overlap/], 'same offsets');
  expectCheckpointError(f({ a: T('F32', [1], [0, 4]), b: T('F32', [1], [8, 12]) }), RangeError, [/"b"/, /hole of 4 bytes/, /"a"/], 'hole');
  expectCheckpointError(f({ a: T('F32', [2], [4, 12]) }), RangeError, [/"a"/, /starts at data offset 4, not 0/], 'not at 0');
  expectCheckpointError(f({ a: T('F32', [2], [0, 8]) }), RangeError, [/4 bytes after the last tensor/, /"a"/], 'trailing bytes');
  expectCheckpointError(f({}, new Uint8Array(3)), RangeError, [/3 bytes after the last tensor/, /lists none/], 'data without tensors');
  expectCheckpointError(f({ a: T('F32', [1], [0, 4]), z: T('F32', [0], [2, 2]), b: T('F32', [2], [4, 12]) }), RangeError, [/"z"/, /overlap "a"/], 'an empty tensor inside another');
  // An empty tensor between two others, at the boundary, is fine.
  const ok = loadSafetensors(rawFile({ a: T('F32', [1], [0, 4]), z: T('F32', [0], [4, 4]), b: T('F32', [2], [4, 12]) }, d));
  assert.deepEqual([...ok.tensors.keys()], ['a', 'z', 'b']);
});

test('malformed: __metadata__ not a map of strings', () => {
  for (const [m, re] of [[[], /__metadata__ must be an object/], ['x', /__metadata__ must be an object/], [null, /__metadata__ must be an object/],
    [{ a: 1 }, /__metadata__\["a"\] must be a string/], [{ a: { b: 'c' } }, /__metadata__\["a"\] must be a string/]]) {
    expectCheckpointError(() => loadSafetensors(rawFile({ __metadata__: m })), TypeError, [re], `metadata ${JSON.stringify(m)}`);
  }
});

test('writeSafetensors rejects bad input with ERR_CHECKPOINT, naming the tensor', () => {
  const w = (t, meta) => () => writeSafetensors(t, meta);
  expectCheckpointError(w({ x: { dtype: 'F8', shape: [1], data: [1] } }), TypeError, [/"x"/, /unknown dtype/], 'dtype');
  expectCheckpointError(w({ x: { dtype: 'F32', shape: [2], data: [1] } }), RangeError, [/"x"/, /1 values but shape \[2\] needs 2/], 'length');
  expectCheckpointError(w({ x: { dtype: 'F32', shape: [-1], data: [] } }), RangeError, [/"x"/, /shape\[0\]/], 'shape');
  expectCheckpointError(w({ x: { dtype: 'F32', shape: [1], data: ['a'] } }), TypeError, [/"x"/, /data\[0\]/], 'a string value');
  expectCheckpointError(w({ x: { dtype: 'I8', shape: [1], data: [128] } }), RangeError, [/"x"/, /data\[0\] = 128/], 'I8 range');
  expectCheckpointError(w({ x: { dtype: 'U8', shape: [1], data: [1.5] } }), RangeError, [/"x"/], 'non-integer');
  expectCheckpointError(w({ x: { dtype: 'I64', shape: [1], data: [2n ** 63n] } }), RangeError, [/"x"/, /out of range for I64/], 'I64 range');
  expectCheckpointError(w({ x: { dtype: 'BOOL', shape: [1], data: [2] } }), RangeError, [/"x"/], 'BOOL');
  expectCheckpointError(w({ __metadata__: { dtype: 'U8', shape: [0], data: [] } }), TypeError, [/not a valid tensor name/], 'reserved name');
  expectCheckpointError(w({}, { a: 1 }), TypeError, [/metadata\["a"\]/], 'metadata');
  // A Map keeps its order, integer-like names included.
  const m = new Map([['b', { dtype: 'U8', shape: [1], data: [1] }], ['1', { dtype: 'U8', shape: [1], data: [2] }]]);
  const raw = loadSafetensors(writeSafetensors(m), { convert: false }).tensors;
  assert.deepEqual([...raw.entries()].map(([k, r]) => [k, r.offset - raw.get('b').offset]), [['b', 0], ['1', 1]]);
});
