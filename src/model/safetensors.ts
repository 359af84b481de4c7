// safetensors reader and writer (format: shared MODEL.md "safetensors").
//
// File layout: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON (starts with '{', may be padded with
// spaces), then the data. The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
// (offsets relative to the start of the data) plus an optional "__metadata__": {str: str}.
// A well-formed file has end − begin = itemsize × ∏shape for every tensor, no overlaps, no holes,
// the first tensor at 0 and nothing after the last one. Tensors need not be aligned in the file.
//
// Every problem with a file is a TypeError (a wrong type, an unknown name, text that is not JSON) or a
// RangeError (a size, offset or shape value out of range) carrying code 'ERR_CHECKPOINT', and its message
// names the tensor or field. Nothing here reads past the bytes it was given.

import { describe, rangeError, typeError } from '../errors.js';

/** The dtypes this module reads and writes (safetensors' names). */
export type SafetensorsDtype =
  | 'F64' | 'F32' | 'F16' | 'BF16'
  | 'I64' | 'I32' | 'I16' | 'I8'
  | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** Bytes per element of each dtype. */
export const DTYPE_SIZES: Readonly<Record<SafetensorsDtype, number>> = Object.freeze({
  F64: 8, F32: 4, F16: 2, BF16: 2,
  I64: 8, I32: 4, I16: 2, I8: 1,
  U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
});

const DTYPES = Object.keys(DTYPE_SIZES) as SafetensorsDtype[];

/**
 * What a tensor's values become in memory: floating dtypes (F64, F32, F16, BF16) a Float32Array
 * (F64 narrowed with round-to-nearest-even, F16/BF16 widened exactly); integer dtypes keep their type
 * (I64 BigInt64Array, U64 BigUint64Array, I32 Int32Array, U32 Uint32Array, I16 Int16Array,
 * U16 Uint16Array, I8 Int8Array, U8 and BOOL Uint8Array).
 */
export type TensorData =
  | Float32Array | BigInt64Array | BigUint64Array | Int32Array | Uint32Array
  | Int16Array | Uint16Array | Int8Array | Uint8Array;

/** A loaded tensor (`loadSafetensors(bytes)`): dtype as stored in the file, shape, converted values. */
export interface SafetensorsTensor {
  readonly dtype: SafetensorsDtype;
  readonly shape: number[];
  readonly data: TensorData;
}

/**
 * A tensor located but not converted (`loadSafetensors(bytes, { convert: false })`). `bytes` is a view
 * into the file's buffer (no copy) holding exactly the tensor's `byteLength` bytes, little-endian,
 * possibly unaligned. Convert it with `tensorAsFloat32` or `tensorData` when needed.
 */
export interface SafetensorsRawTensor {
  readonly dtype: SafetensorsDtype;
  readonly shape: number[];
  /** Elements (∏shape). */
  readonly size: number;
  /** Offset of the tensor's first byte from the start of the file (8 + N + begin). */
  readonly offset: number;
  readonly byteLength: number;
  /** View into the file: `bytes.subarray(offset, offset + byteLength)`. */
  readonly bytes: Uint8Array;
}

/** The result of `loadSafetensors`: tensors in file order (by offset), and `__metadata__` ({} if absent). */
export interface SafetensorsFile<T> {
  readonly tensors: Map<string, T>;
  readonly metadata: Record<string, string>;
  /** N, the JSON header's length in bytes. */
  readonly headerLength: number;
}

/** Options of `loadSafetensors`. */
export interface LoadSafetensorsOptions {
  /**
   * true (default): every tensor is converted to its `TensorData`.
   * false: validate the header only and return `SafetensorsRawTensor` views into `bytes`
   * (no tensor data is read or copied), to convert one tensor at a time.
   */
  convert?: boolean;
  /**
   * With `convert`: false (default) lets a tensor whose stored form is already its in-memory form
   * (F32 and integer dtypes, when the data is aligned for its element size on a little-endian host)
   * be a view that shares memory with `bytes`, so loading an F32 checkpoint adds no second copy;
   * true copies every tensor into its own buffer.
   */
  copy?: boolean;
}

/** The largest header accepted (100 MB): a bigger N means the file is not safetensors. */
export const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// Float conversions

let f16Table: Uint32Array | undefined;

/** The float32 bit pattern of an IEEE half (exact: subnormals, ±0, ±inf, NaN with its payload). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  let exp = (h >>> 10) & 0x1f;
  let man = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (man << 13)) >>> 0; // ±inf, NaN (payload kept)
  if (exp === 0) {
    if (man === 0) return sign >>> 0; // ±0
    // Subnormal half: normalize (value = man · 2^-24, exactly representable as a normal float32).
    exp = 1;
    while ((man & 0x400) === 0) {
      man <<= 1;
      exp--;
    }
    man &= 0x3ff;
  }
  return (sign | ((exp + 112) << 23) | (man << 13)) >>> 0;
}

/** The IEEE half bit pattern nearest a float32 bit pattern (round-to-nearest-even; overflow → ±inf; NaN stays NaN). */
export function f32BitsToF16Bits(x: number): number {
  x >>>= 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const man = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 | (man >>> 13) : 0);
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    let h = ((e + 15) << 10) | (man >>> 13);
    const rest = man & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // a carry may reach the exponent (→ inf): correct
    return sign | h;
  }
  if (e < -25) return sign; // below half the smallest subnormal (float32 subnormals included)
  const full = man | 0x800000; // value = full · 2^(e−23) = full · 2^(e+1) units of 2^-24
  const shift = -(e + 1); // 14 … 24
  let h = full >>> shift;
  const rest = full & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1))) h++;
  return sign | h;
}

/** The bfloat16 bit pattern nearest a float32 bit pattern (round-to-nearest-even; NaN stays NaN, quieted). */
export function f32BitsToBf16Bits(x: number): number {
  x >>>= 0;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

function halfTable(): Uint32Array {
  if (!f16Table) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h);
  }
  return f16Table;
}

// ---------------------------------------------------------------------------------------------
// Reading

function isUint8Array(x: unknown): x is Uint8Array {
  return ArrayBuffer.isView(x) && (x as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === 'Uint8Array';
}

const fmtShape = (shape: number[]) => `[${shape.join(', ')}]`;

/**
 * Parses and validates a safetensors file held in memory.
 *
 * - `loadSafetensors(bytes)` converts every tensor: F32, F16, BF16 → Float32Array (exact), F64 →
 *   Float32Array (rounded), integer dtypes keep their type (see `TensorData`). Aligned F32 and integer
 *   tensors are views sharing memory with `bytes` unless `{ copy: true }`; everything else is a new array.
 * - `loadSafetensors(bytes, { convert: false })` validates the header and returns `SafetensorsRawTensor`
 *   views (no data read): peak memory stays at the file's size plus whatever you convert. Convert one
 *   tensor at a time with `tensorAsFloat32(entry, out?)` (e.g. straight into wasm memory) or `tensorData(entry)`.
 *
 * Tensors are listed in file order (by offset). `metadata` is `__metadata__` ({} when absent).
 *
 * @throws TypeError (code 'ERR_CHECKPOINT') when `bytes` is not a Uint8Array, the header is not UTF-8
 *   JSON of an object starting with '{', a tensor entry lacks dtype / shape / data_offsets or has them of
 *   the wrong type, a dtype is unknown, or `__metadata__` is not a map of strings to strings.
 * @throws RangeError (code 'ERR_CHECKPOINT') when the file is shorter than 8 bytes, the header length runs
 *   past the end or exceeds 100 MB, a shape entry is negative or not an integer, data_offsets are not
 *   integers with 0 ≤ begin ≤ end, a tensor's byte count is not itemsize × ∏shape, a tensor runs past the
 *   end of the file, tensors overlap or leave a hole, the first does not start at 0, or bytes follow the last.
 */
export function loadSafetensors(bytes: Uint8Array, options: LoadSafetensorsOptions & { convert: false }): SafetensorsFile<SafetensorsRawTensor>;
export function loadSafetensors(bytes: Uint8Array, options?: LoadSafetensorsOptions & { convert?: true }): SafetensorsFile<SafetensorsTensor>;
export function loadSafetensors(bytes: Uint8Array, options?: LoadSafetensorsOptions): SafetensorsFile<SafetensorsTensor | SafetensorsRawTensor>;
export function loadSafetensors(
  bytes: Uint8Array,
  options: LoadSafetensorsOptions = {},
): SafetensorsFile<SafetensorsTensor | SafetensorsRawTensor> {
  if (options === null || typeof options !== 'object') {
    throw typeError('ERR_OPTION', `loadSafetensors: options must be an object, got ${describe(options)}`);
  }
  const convert = options.convert ?? true;
  const copy = options.copy ?? false;
  const raw = parse(bytes);
  if (!convert) return raw;
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, t] of raw.tensors) tensors.set(name, { dtype: t.dtype, shape: t.shape, data: convertRaw(t, copy) });
  return { tensors, metadata: raw.metadata, headerLength: raw.headerLength };
}

function parse(bytes: unknown): SafetensorsFile<SafetensorsRawTensor> {
  if (!isUint8Array(bytes)) {
    throw typeError('ERR_CHECKPOINT', `safetensors: the file must be a Uint8Array, got ${describe(bytes)}`
      + (bytes instanceof ArrayBuffer ? ' (wrap it: new Uint8Array(buffer))' : ''));
  }
  const len = bytes.length;
  if (len < 8) throw rangeError('ERR_CHECKPOINT', `safetensors: the file has ${len} bytes, fewer than the 8 of the header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, len);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const n = hi * 4294967296 + lo;
  if (hi !== 0 || n > MAX_HEADER_BYTES) {
    throw rangeError('ERR_CHECKPOINT', `safetensors: header length ${hi ? `${BigInt(hi) * 4294967296n + BigInt(lo)}` : n} is absurd `
      + `(more than ${MAX_HEADER_BYTES} bytes): not a safetensors file?`);
  }
  if (8 + n > len) {
    throw rangeError('ERR_CHECKPOINT', `safetensors: header length ${n} runs past the end of the file (${len} bytes: at most ${len - 8} available)`);
  }
  // Copy the header (small) so decoding works on views of SharedArrayBuffers too.
  const headerBytes = bytes.slice(8, 8 + n);
  if (n === 0 || headerBytes[0] !== 0x7b /* '{' */) {
    throw typeError('ERR_CHECKPOINT', `safetensors: the header does not start with '{' (`
      + (n === 0 ? 'it is empty' : `first byte 0x${headerBytes[0].toString(16).padStart(2, '0')}`) + ')');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw typeError('ERR_CHECKPOINT', 'safetensors: the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw typeError('ERR_CHECKPOINT', `safetensors: the header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw typeError('ERR_CHECKPOINT', `safetensors: the header must be a JSON object, got ${describe(header)}`);
  }

  const dataStart = 8 + n;
  const dataLength = len - dataStart;
  let metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; size: number; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = checkMetadata(value, 'safetensors: __metadata__');
      continue;
    }
    const what = `safetensors: tensor ${JSON.stringify(name)}`;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw typeError('ERR_CHECKPOINT', `${what}: the entry must be an object {dtype, shape, data_offsets}, got ${describe(value)}`);
    }
    const v = value as Record<string, unknown>;
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      if (!(field in v)) throw typeError('ERR_CHECKPOINT', `${what}: the entry has no '${field}'`);
    }
    if (typeof v.dtype !== 'string') throw typeError('ERR_CHECKPOINT', `${what}: dtype must be a string, got ${describe(v.dtype)}`);
    if (!Object.prototype.hasOwnProperty.call(DTYPE_SIZES, v.dtype)) {
      throw typeError('ERR_CHECKPOINT', `${what}: unknown dtype ${JSON.stringify(v.dtype)} (this reader knows ${DTYPES.join(', ')})`);
    }
    const dtype = v.dtype as SafetensorsDtype;
    if (!Array.isArray(v.shape)) throw typeError('ERR_CHECKPOINT', `${what}: shape must be an array, got ${describe(v.shape)}`);
    const shape: number[] = [];
    let size = 1;
    v.shape.forEach((s: unknown, i: number) => {
      if (typeof s !== 'number') throw typeError('ERR_CHECKPOINT', `${what}: shape[${i}] must be a number, got ${describe(s)}`);
      if (!Number.isSafeInteger(s) || s < 0) throw rangeError('ERR_CHECKPOINT', `${what}: shape[${i}] = ${s} is not a non-negative integer`);
      shape.push(s);
      size *= s;
    });
    const off = v.data_offsets;
    if (!Array.isArray(off) || off.length !== 2) {
      throw typeError('ERR_CHECKPOINT', `${what}: data_offsets must be an array [begin, end], got ${describe(off)}`);
    }
    for (let i = 0; i < 2; i++) {
      if (typeof off[i] !== 'number') throw typeError('ERR_CHECKPOINT', `${what}: data_offsets[${i}] must be a number, got ${describe(off[i])}`);
      if (!Number.isSafeInteger(off[i]) || off[i] < 0) {
        throw rangeError('ERR_CHECKPOINT', `${what}: data_offsets[${i}] = ${off[i]} is not a non-negative integer`);
      }
    }
    const [begin, end] = off as [number, number];
    if (end < begin) throw rangeError('ERR_CHECKPOINT', `${what}: data_offsets [${begin}, ${end}] end before they begin`);
    const need = size * DTYPE_SIZES[dtype];
    if (end - begin !== need) {
      throw rangeError('ERR_CHECKPOINT', `${what}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} `
        + `${fmtShape(shape)} needs ${need}`);
    }
    if (end > dataLength) {
      throw rangeError('ERR_CHECKPOINT', `${what}: data_offsets [${begin}, ${end}] run past the end of the file `
        + `(the data section has ${dataLength} bytes)`);
    }
    entries.push({ name, dtype, shape, size, begin, end });
  }

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: string | undefined;
  for (const e of entries) {
    const what = `safetensors: tensor ${JSON.stringify(e.name)}`;
    if (e.begin > pos) {
      throw rangeError('ERR_CHECKPOINT', prev === undefined
        ? `${what}: the first tensor starts at data offset ${e.begin}, not 0 (a hole of ${e.begin} bytes)`
        : `${what}: a hole of ${e.begin - pos} bytes between ${JSON.stringify(prev)} (ends at ${pos}) and it (begins at ${e.begin})`);
    }
    if (e.begin < pos) {
      throw rangeError('ERR_CHECKPOINT', `${what}: data_offsets [${e.begin}, ${e.end}] overlap ${JSON.stringify(prev)} (which ends at ${pos})`);
    }
    pos = e.end;
    prev = e.name;
  }
  if (pos !== dataLength) {
    throw rangeError('ERR_CHECKPOINT', `safetensors: ${dataLength - pos} bytes after the last tensor`
      + (prev === undefined ? ' (the header lists none)' : ` (${JSON.stringify(prev)} ends at data offset ${pos})`));
  }

  const tensors = new Map<string, SafetensorsRawTensor>();
  for (const e of entries) {
    const offset = dataStart + e.begin;
    tensors.set(e.name, {
      dtype: e.dtype, shape: e.shape, size: e.size, offset, byteLength: e.end - e.begin,
      bytes: bytes.subarray(offset, dataStart + e.end),
    });
  }
  return { tensors, metadata, headerLength: n };
}

function checkMetadata(value: unknown, what: string): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw typeError('ERR_CHECKPOINT', `${what} must be an object of strings, got ${describe(value)}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') throw typeError('ERR_CHECKPOINT', `${what}[${JSON.stringify(k)}] must be a string, got ${describe(v)}`);
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

type IntCtor = Int32ArrayConstructor | Uint32ArrayConstructor | Int16ArrayConstructor | Uint16ArrayConstructor
  | Int8ArrayConstructor | Uint8ArrayConstructor | BigInt64ArrayConstructor | BigUint64ArrayConstructor;

const INT_CTORS: Partial<Record<SafetensorsDtype, IntCtor>> = {
  I64: BigInt64Array, U64: BigUint64Array, I32: Int32Array, U32: Uint32Array,
  I16: Int16Array, U16: Uint16Array, I8: Int8Array, U8: Uint8Array, BOOL: Uint8Array,
};

/** Reads element i of a little-endian integer tensor through a DataView (big-endian hosts). */
function readInt(dv: DataView, dtype: SafetensorsDtype, i: number): number | bigint {
  switch (dtype) {
    case 'I64': return dv.getBigInt64(i * 8, true);
    case 'U64': return dv.getBigUint64(i * 8, true);
    case 'I32': return dv.getInt32(i * 4, true);
    case 'U32': return dv.getUint32(i * 4, true);
    case 'I16': return dv.getInt16(i * 2, true);
    case 'U16': return dv.getUint16(i * 2, true);
    case 'I8': return dv.getInt8(i);
    default: return dv.getUint8(i);
  }
}

function isAligned(t: SafetensorsRawTensor, size: number) {
  return (t.bytes.byteOffset % size) === 0;
}

function convertRaw(t: SafetensorsRawTensor, copy: boolean): TensorData {
  const ctor = INT_CTORS[t.dtype];
  if (!ctor) {
    if (t.dtype === 'F32' && LITTLE_ENDIAN_HOST && !copy && isAligned(t, 4)) {
      return new Float32Array(t.bytes.buffer as ArrayBuffer, t.bytes.byteOffset, t.size);
    }
    return floatInto(t, new Float32Array(t.size));
  }
  const size = DTYPE_SIZES[t.dtype];
  if (LITTLE_ENDIAN_HOST) {
    if (!copy && isAligned(t, size)) return new ctor(t.bytes.buffer as ArrayBuffer, t.bytes.byteOffset, t.size);
    const out = new ctor(t.size);
    new Uint8Array(out.buffer, out.byteOffset, t.byteLength).set(t.bytes);
    return out;
  }
  const out = new ctor(t.size);
  const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.byteLength);
  for (let i = 0; i < t.size; i++) (out as unknown as (number | bigint)[])[i] = readInt(dv, t.dtype, i);
  return out;
}

/** Writes a raw tensor's values, as float32, into out (length t.size). */
function floatInto(t: SafetensorsRawTensor, out: Float32Array): Float32Array {
  const n = t.size;
  const src = t.bytes;
  const aligned = (size: number) => LITTLE_ENDIAN_HOST && isAligned(t, size);
  switch (t.dtype) {
    case 'F32':
      if (LITTLE_ENDIAN_HOST) {
        new Uint8Array(out.buffer, out.byteOffset, t.byteLength).set(src);
      } else {
        const dv = new DataView(src.buffer, src.byteOffset, t.byteLength);
        for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      }
      return out;
    case 'F16':
    case 'BF16': {
      const bits = new Uint32Array(out.buffer, out.byteOffset, n);
      const table = t.dtype === 'F16' ? halfTable() : null;
      if (aligned(2)) {
        const h = new Uint16Array(src.buffer, src.byteOffset, n);
        if (table) for (let i = 0; i < n; i++) bits[i] = table[h[i]];
        else for (let i = 0; i < n; i++) bits[i] = h[i] << 16;
      } else {
        for (let i = 0; i < n; i++) {
          const h = src[2 * i] | (src[2 * i + 1] << 8);
          bits[i] = table ? table[h] : h << 16;
        }
      }
      return out;
    }
    case 'F64':
      if (aligned(8)) {
        out.set(new Float64Array(src.buffer, src.byteOffset, n));
      } else {
        const dv = new DataView(src.buffer, src.byteOffset, t.byteLength);
        for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      }
      return out;
    default: {
      const ints = convertRaw(t, false);
      for (let i = 0; i < n; i++) out[i] = Number(ints[i]);
      return out;
    }
  }
}

function isRaw(entry: SafetensorsTensor | SafetensorsRawTensor): entry is SafetensorsRawTensor {
  return 'bytes' in entry && !('data' in entry);
}

/**
 * A tensor's values as float32, from either kind of entry. Floating dtypes convert as in
 * `loadSafetensors`; integer dtypes convert with Number() then float32 rounding.
 * With `out` (length = the tensor's element count) the values are written there (e.g. into wasm
 * memory) and `out` is returned; without it, a new Float32Array — or, for a converted F32 entry,
 * its own `data` (no copy).
 * @throws RangeError (code 'ERR_TENSOR') when `out` is not a Float32Array of the right length.
 */
export function tensorAsFloat32(entry: SafetensorsTensor | SafetensorsRawTensor, out?: Float32Array): Float32Array {
  const size = isRaw(entry) ? entry.size : entry.data.length;
  if (out !== undefined && (!(out instanceof Float32Array) || out.length !== size)) {
    throw rangeError('ERR_TENSOR', `tensorAsFloat32: out must be a Float32Array of length ${size}, got ${describe(out)}`);
  }
  if (isRaw(entry)) return floatInto(entry, out ?? new Float32Array(size));
  const data = entry.data;
  if (data instanceof Float32Array && !out) return data;
  const o = out ?? new Float32Array(size);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < size; i++) o[i] = Number(data[i]);
  } else {
    o.set(data as ArrayLike<number>);
  }
  return o;
}

/**
 * A raw entry's values in their in-memory type (`TensorData`, as `loadSafetensors` converts them).
 * `copy` as in `LoadSafetensorsOptions` (default false: aligned F32 / integer data may be a view of the file).
 */
export function tensorData(entry: SafetensorsRawTensor, options: { copy?: boolean } = {}): TensorData {
  return convertRaw(entry, options.copy ?? false);
}

// ---------------------------------------------------------------------------------------------
// Writing

/** One tensor to write: values as numbers (floats) or numbers / bigints (integers), row-major. */
export interface WriteTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: ArrayLike<number | bigint>;
}

/** Options of `writeSafetensors`. */
export interface WriteSafetensorsOptions {
  /** Pad the header with spaces so the data starts at a multiple of 8 (default true, as the Rust writer does). */
  alignHeader?: boolean;
  /**
   * Order tensors by element size (largest first), then name, so every tensor is aligned for its
   * type when the header is (default false: the order given).
   */
  sortByAlignment?: boolean;
}

const INT_RANGES: Partial<Record<SafetensorsDtype, [number, number]>> = {
  I32: [-2147483648, 2147483647], U32: [0, 4294967295], I16: [-32768, 32767], U16: [0, 65535],
  I8: [-128, 127], U8: [0, 255], BOOL: [0, 1],
};

/**
 * Serializes tensors to a safetensors file. `tensors` is a Map or a plain object (name → WriteTensor);
 * without `sortByAlignment`, tensors are stored contiguously in that order (so later ones can be unaligned).
 * Floating values are rounded to float32 first, then, for F16 and BF16, to the nearest half / bfloat16
 * (ties to even; overflow → ±inf); F64 keeps the number as given. Integer dtypes take integers (number or
 * bigint) in range; BOOL takes 0/1/false/true.
 * @throws TypeError / RangeError (code 'ERR_CHECKPOINT') naming the tensor on an unknown dtype, a bad
 *   shape, data of the wrong length, a value out of range for its dtype, or metadata that is not str → str.
 */
export function writeSafetensors(
  tensors: Record<string, WriteTensor> | Map<string, WriteTensor>,
  metadata?: Record<string, string>,
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  if (tensors === null || typeof tensors !== 'object') {
    throw typeError('ERR_CHECKPOINT', `writeSafetensors: tensors must be a Map or an object, got ${describe(tensors)}`);
  }
  const list = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)) as [string, WriteTensor][];
  const meta = metadata === undefined ? undefined : checkMetadata(metadata, 'writeSafetensors: metadata');
  const prepared = list.map(([name, t]) => {
    const what = `writeSafetensors: tensor ${JSON.stringify(name)}`;
    if (typeof name !== 'string' || name === '' || name === '__metadata__') {
      throw typeError('ERR_CHECKPOINT', `${what}: not a valid tensor name`);
    }
    if (t === null || typeof t !== 'object') throw typeError('ERR_CHECKPOINT', `${what}: must be {dtype, shape, data}, got ${describe(t)}`);
    if (typeof t.dtype !== 'string' || !Object.prototype.hasOwnProperty.call(DTYPE_SIZES, t.dtype)) {
      throw typeError('ERR_CHECKPOINT', `${what}: unknown dtype ${describe(t.dtype)} (known: ${DTYPES.join(', ')})`);
    }
    if (!Array.isArray(t.shape)) throw typeError('ERR_CHECKPOINT', `${what}: shape must be an array, got ${describe(t.shape)}`);
    let size = 1;
    t.shape.forEach((s, i) => {
      if (!Number.isSafeInteger(s) || s < 0) throw rangeError('ERR_CHECKPOINT', `${what}: shape[${i}] = ${s} is not a non-negative integer`);
      size *= s;
    });
    if (t.data === null || typeof t.data !== 'object' || typeof t.data.length !== 'number') {
      throw typeError('ERR_CHECKPOINT', `${what}: data must be an array-like, got ${describe(t.data)}`);
    }
    if (t.data.length !== size) {
      throw rangeError('ERR_CHECKPOINT', `${what}: data has ${t.data.length} values but shape ${fmtShape(t.shape)} needs ${size}`);
    }
    return { name, t, size, bytes: size * DTYPE_SIZES[t.dtype] };
  });
  if (options.sortByAlignment) {
    prepared.sort((a, b) => DTYPE_SIZES[b.t.dtype] - DTYPE_SIZES[a.t.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  const parts: string[] = [];
  if (meta) parts.push(`"__metadata__":${JSON.stringify(meta)}`);
  let offset = 0;
  for (const p of prepared) {
    parts.push(`${JSON.stringify(p.name)}:${JSON.stringify({ dtype: p.t.dtype, shape: p.t.shape, data_offsets: [offset, offset + p.bytes] })}`);
    offset += p.bytes;
  }
  let header = new TextEncoder().encode(`{${parts.join(',')}}`);
  if (options.alignHeader ?? true) {
    const padded = Math.ceil(header.length / 8) * 8;
    if (padded !== header.length) {
      const h = new Uint8Array(padded).fill(0x20);
      h.set(header);
      header = h;
    }
  }
  const out = new Uint8Array(8 + header.length + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, header.length, true);
  dv.setUint32(4, 0, true);
  out.set(header, 8);
  let at = 8 + header.length;
  for (const p of prepared) {
    writeValues(dv, at, p.t, p.size, `writeSafetensors: tensor ${JSON.stringify(p.name)}`);
    at += p.bytes;
  }
  return out;
}

function writeValues(dv: DataView, at: number, t: WriteTensor, n: number, what: string) {
  const data = t.data;
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const num = (i: number): number => {
    const v = data[i];
    if (typeof v === 'bigint') return Number(v);
    if (typeof v !== 'number') throw typeError('ERR_CHECKPOINT', `${what}: data[${i}] is ${describe(v)}, not a number`);
    return v;
  };
  switch (t.dtype) {
    case 'F64':
      for (let i = 0; i < n; i++) dv.setFloat64(at + 8 * i, num(i), true);
      return;
    case 'F32':
      for (let i = 0; i < n; i++) dv.setFloat32(at + 4 * i, num(i), true);
      return;
    case 'F16':
    case 'BF16': {
      const round = t.dtype === 'F16' ? f32BitsToF16Bits : f32BitsToBf16Bits;
      for (let i = 0; i < n; i++) {
        f32[0] = num(i);
        dv.setUint16(at + 2 * i, round(u32[0]), true);
      }
      return;
    }
    case 'I64':
    case 'U64': {
      const signed = t.dtype === 'I64';
      for (let i = 0; i < n; i++) {
        const v = data[i];
        let b: bigint;
        if (typeof v === 'bigint') b = v;
        else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
        else throw rangeError('ERR_CHECKPOINT', `${what}: data[${i}] = ${describe(v)} is not an integer`);
        if ((signed ? BigInt.asIntN(64, b) : BigInt.asUintN(64, b)) !== b) {
          throw rangeError('ERR_CHECKPOINT', `${what}: data[${i}] = ${b} is out of range for ${t.dtype}`);
        }
        if (signed) dv.setBigInt64(at + 8 * i, b, true);
        else dv.setBigUint64(at + 8 * i, b, true);
      }
      return;
    }
    default: {
      const [lo, hi] = INT_RANGES[t.dtype]!;
      const size = DTYPE_SIZES[t.dtype];
      for (let i = 0; i < n; i++) {
        let v: unknown = data[i];
        if (t.dtype === 'BOOL' && typeof v === 'boolean') v = v ? 1 : 0;
        if (typeof v === 'bigint') v = Number(v);
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
          throw rangeError('ERR_CHECKPOINT', `${what}: data[${i}] = ${describe(v)} is not an integer in [${lo}, ${hi}] (${t.dtype})`);
        }
        const o = at + size * i;
        if (size === 4) dv.setUint32(o, v >>> 0, true);
        else if (size === 2) dv.setUint16(o, v & 0xffff, true);
        else dv.setUint8(o, v & 0xff);
      }
    }
  }
}
