// Validation of every argument before wasm memory is touched. Conventions:
// TypeError for a wrong type, an unknown option name or an unknown option string, RangeError for a
// value out of range (lengths, dims, counts, mask values); every error carries a stable `code`
// (src/errors.ts). Messages name what was expected and what came.
import { describe, closest, errorText, isOwnError, rangeError, typeError } from './errors.js';

// %TypedArray%.prototype's own Symbol.toStringTag getter: the element type's name for a real typed
// array, undefined for anything else (a Proxy, an object made from the prototype) — never a throw.
const TA_TAG = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Int8Array.prototype), Symbol.toStringTag)!.get!;

// Its length getter: 0 for a detached buffer, read afresh on every call.
const TA_LENGTH = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Int8Array.prototype), 'length')!.get!;

/** Whether x is a real Float32Array (not a Proxy of one, nor an object with its prototype). */
export function isFloat32Array(x: unknown): x is Float32Array {
  return TA_TAG.call(x) === 'Float32Array';
}
import { INIT, LAYOUT, REMAINDER, STYLE } from './abi.generated.js';

/** A call's checked options, in the codes the kernels take. */
export interface Checked {
  B: number; H: number; n: number; d: number;
  style: number; // code: index in STYLE (src/abi.generated.ts)
  layout: number; // code: index in LAYOUT
  mask: Float32Array | null; // B·n, 0/1
  conv: Float32Array | null; // H·ks
  ks: number;
  m: number; iters: number; init: number; remainder: number; // Nyström only
  out: Float32Array | undefined;
  /** Internal (the model): never take the exact path when m equals the padded length. */
  noShortcut?: boolean;
}

/** The most landmarks lucidrains may pad a shorter sequence to. */
export const MAX_PAD_LANDMARKS = 1024;

/** The largest value an i32 dimension or count may take. */
export const MAX_INT = 0x7fffffff;

/** Option names of the attention calls. */
export const COMMON_OPTIONS = ['shape', 'mask', 'convWeight', 'style', 'out', 'layout'] as const;
export const NYSTROM_OPTIONS = ['landmarks', 'pinvIterations', 'pinvInit', 'remainder'] as const;
export const PLAN_OPTIONS = ['kind', 'build'] as const;
// The attention calls all accept the Nyström options, so one options object can serve
// nystromAttention and softmaxAttention (the exact calls ignore them).
const ATTENTION_OPTIONS = [...COMMON_OPTIONS, ...NYSTROM_OPTIONS];
export const CREATE_ATTENTION_OPTIONS = [...ATTENTION_OPTIONS, ...PLAN_OPTIONS];
const FACTOR_OPTIONS = ATTENTION_OPTIONS.filter((k) => k !== 'out'); // convWeight accepted and ignored, as by the matrix calls
const CALL_OPTION_NAMES: Record<string, readonly string[]> = {
  nystromAttention: ATTENTION_OPTIONS, softmaxAttention: ATTENTION_OPTIONS,
  nystromAttentionMatrix: ATTENTION_OPTIONS, softmaxAttentionMatrix: ATTENTION_OPTIONS,
  nystromAttentionFactors: FACTOR_OPTIONS, createAttention: CREATE_ATTENTION_OPTIONS,
};

/**
 * Checks the options of an attention call named `call` (and the named tensors); `outLength` sizes
 * options.out; `extra` names options the caller handles itself (the pool's `signal`).
 */
/**
 * createAttention's options (a plan's, on an engine or a pool): the kind, the build asked for
 * (checked by the caller), and the call checked once — q, k, v and out are checked at every run.
 */
export function readPlanOptions(options: unknown, what: string): { kind: 'nystrom' | 'softmax'; build: unknown; c: Checked } {
  const o = readOptions<Record<string, unknown>>(options, CREATE_ATTENTION_OPTIONS, what);
  const kind = o.kind === undefined ? 'nystrom' : o.kind;
  if (kind !== 'nystrom' && kind !== 'softmax') throw typeError('ERR_OPTION', `options.kind must be 'nystrom' or 'softmax', got ${describe(kind)}`);
  const { out: _o, kind: _k, build, ...rest } = o;
  return { kind, build, c: checkCall('createAttention', kind, [], rest, (c) => c.B * c.H * c.n * c.d) };
}

export function checkCall(call: string, kind: 'nystrom' | 'softmax', tensors: [unknown, string][], options: unknown,
                          outLength: (c: Checked) => number, extra: readonly string[] = []): Checked {
  const o = readOptions<Record<string, unknown>>(options, [...CALL_OPTION_NAMES[call], ...extra], `${call} options`);
  const c = checkCommon(tensors, o, outLength);
  return kind === 'nystrom' ? checkNystrom(c, o) : c;
}

/**
 * Reads an options object once: refuses a non-object and unknown keys (suggesting the closest valid
 * name), and returns a plain copy of the known keys, so getters run once and a Proxy's traps
 * cannot change the options between checks. A getter or trap that throws becomes a TypeError.
 */
export function readOptions<T extends object>(options: unknown, valid: readonly string[], what: string, required = true): Partial<T> {
  if (options === undefined && !required) return {};
  let isArray = false;
  try {
    isArray = Array.isArray(options);
  } catch (e) {
    throw typeError('ERR_OPTION', `${what} could not be read (${errorText(e)})`);
  }
  if (typeof options !== 'object' || options === null || isArray) {
    throw typeError('ERR_OPTION', `${what} must be an object with the options ${valid.join(', ')}, got ${describe(options)}`);
  }
  const out: Record<string, unknown> = {};
  let keys: string[];
  try {
    keys = Object.keys(options);
  } catch (e) {
    throw typeError('ERR_OPTION', `${what}: listing its keys threw (${errorText(e)})`);
  }
  for (const key of keys) {
    if (!valid.includes(key)) {
      const near = closest(key, valid);
      const shown = key.length > 1000 ? `${key.slice(0, 1000)}…` : key;
      throw typeError('ERR_OPTION', `unknown option '${shown}' in ${what}${near ? ` — did you mean '${near}'?` : ''} (valid: ${valid.join(', ')})`);
    }
  }
  for (const key of valid) {
    try {
      const v = (options as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = v;
    } catch (e) {
      throw typeError('ERR_OPTION', `${what}: reading '${key}' threw (${errorText(e)})`);
    }
  }
  return out as Partial<T>;
}

export function checkFloat32(x: unknown, name: string): Float32Array {
  if (!isFloat32Array(x)) throw typeError('ERR_TENSOR', `${name} must be a Float32Array, got ${describe(x)}`);
  return x;
}

export function checkLength(x: Float32Array, want: number, name: string, what: string): void {
  const len = TA_LENGTH.call(x) as number;
  if (len !== want) throw rangeError('ERR_TENSOR', `${name} has ${len} elements; ${what} needs ${want}${len === 0 && x.byteOffset === 0 && x.buffer.byteLength === 0 ? ' (its buffer is detached)' : ''}`);
}

/** A number ≥ min (Infinity included): a TypeError for what is not a number, a RangeError below min or NaN. */
export function checkNumber(x: unknown, name: string, min: number): number {
  if (typeof x !== 'number') throw typeError('ERR_OPTION', `${name} must be a number ≥ ${min}, got ${describe(x)}`);
  if (!(x >= min)) throw rangeError('ERR_OPTION', `${name} must be a number ≥ ${min}, got ${x}`);
  return x;
}

/** An integer in [min, max] (a JS number: a BigInt is a TypeError that says so). */
export function checkInt(x: unknown, name: string, min: number, max = MAX_INT, code: 'ERR_OPTION' | 'ERR_SHAPE' = 'ERR_OPTION'): number {
  const range = `an integer in [${min}, ${max}]`;
  if (typeof x === 'bigint') throw typeError(code, `${name} must be ${range} as a number, got ${describe(x)}`);
  if (typeof x !== 'number') throw typeError(code, `${name} must be ${range}, got ${describe(x)}`);
  if (!Number.isInteger(x) || x < min || x > max) throw rangeError(code, `${name} must be ${range}, got ${Object.is(x, -0) ? '-0' : x}`);
  return x;
}

export function checkEnum<T extends string>(x: unknown, name: string, allowed: readonly T[], dflt: T): number {
  if (x === undefined) return allowed.indexOf(dflt);
  const i = allowed.indexOf(x as T);
  if (typeof x !== 'string' || i < 0) {
    throw typeError('ERR_OPTION', `${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(x)}`);
  }
  return i;
}

export function checkShape(shape: unknown): [number, number, number, number] {
  try {
    return checkShapeUnsafe(shape);
  } catch (e) {
    if (isOwnError(e)) throw e;
    throw typeError('ERR_OPTION', `options.shape could not be read (${errorText(e)})`);
  }
}

function checkShapeUnsafe(shape: unknown): [number, number, number, number] {
  if (shape === undefined) throw typeError('ERR_SHAPE', 'options.shape is required: [batch, heads, seqLen, headDim]');
  if (!Array.isArray(shape) && !ArrayBuffer.isView(shape)) {
    throw typeError('ERR_SHAPE', `options.shape must be an array [batch, heads, seqLen, headDim], got ${describe(shape)}`);
  }
  const len = (shape as ArrayLike<unknown>).length;
  if (len !== 4) throw rangeError('ERR_SHAPE', `options.shape must have 4 entries [batch, heads, seqLen, headDim], got ${describe(len)}`);
  const s = [0, 1, 2, 3].map((i) => (shape as ArrayLike<unknown>)[i]);
  const names = ['batch', 'heads', 'seqLen', 'headDim'];
  s.forEach((v, i) => checkInt(v, `options.shape[${i}] (${names[i]})`, 1, MAX_INT, 'ERR_SHAPE'));
  return s as [number, number, number, number];
}

export function checkMask(mask: unknown, B: number, n: number): Float32Array {
  try {
    return checkMaskUnsafe(mask, B, n);
  } catch (e) {
    if (isOwnError(e)) throw e;
    throw typeError('ERR_OPTION', `options.mask could not be read (${errorText(e)})`);
  }
}

function checkMaskUnsafe(mask: unknown, B: number, n: number): Float32Array {
  if (typeof mask !== 'object' || mask === null || typeof (mask as ArrayLike<number>).length !== 'number') {
    throw typeError('ERR_OPTION', `options.mask must be an array-like of batch·seqLen 0/1 values, got ${describe(mask)}`);
  }
  const src = mask as ArrayLike<unknown>;
  if (src.length !== B * n) throw rangeError('ERR_OPTION', `options.mask has ${describe(src.length)} entries; shape needs batch·seqLen = ${B * n}`);
  // A mask that long belongs to a call no memory holds (q alone would be ≥ 4·B·n bytes).
  if (B * n > 2 ** 30) throw rangeError('ERR_MEMORY', `options.mask has ${B * n} entries: a call of batch·seqLen = ${B * n} does not fit in wasm32 memory`);
  const f = new Float32Array(B * n);
  for (let i = 0; i < f.length; i++) {
    const x = src[i];
    if (typeof x === 'bigint') throw typeError('ERR_OPTION', `options.mask entries must be the numbers 0 or 1, got the BigInt ${x}n at index ${i}`);
    if (x !== 0 && x !== 1 && x !== true && x !== false) {
      throw rangeError('ERR_OPTION', `options.mask entries must be 0 or 1, got ${describe(x)} at index ${i}`);
    }
    f[i] = x === 1 || x === true ? 1 : 0;
  }
  return f;
}

function checkConv(w: unknown, H: number): { conv: Float32Array; ks: number } {
  if (!isFloat32Array(w)) throw typeError('ERR_OPTION', `options.convWeight must be a Float32Array, got ${describe(w)}`);
  const conv = w;
  const ks = conv.length / H;
  if (conv.length === 0 || !Number.isInteger(ks) || ks % 2 !== 1) {
    throw rangeError('ERR_OPTION', `options.convWeight must hold heads·kernelSize taps with kernelSize odd (heads = ${H}), got ${conv.length} (kernelSize ${Number.isInteger(ks) ? ks : (conv.length / H).toFixed(2)})`);
  }
  for (let i = 0; i < conv.length; i++) {
    if (!Number.isFinite(conv[i])) throw rangeError('ERR_NOT_FINITE', `options.convWeight must be finite, got ${conv[i]} at index ${i}`);
  }
  return { conv, ks };
}

/**
 * Checks the options shared by both attention kinds (a plain copy from readOptions), and the
 * named tensors (q, k and, except in matrix mode, v; none when a plan is made) right after the shape.
 */
export function checkCommon(tensors: [unknown, string][], o: Record<string, unknown>, outLength: (c: Checked) => number): Checked {
  const [B, H, n, d] = checkShape(o.shape);
  const want = B * H * n * d;
  const what = `shape [${B}, ${H}, ${n}, ${d}]`;
  for (const [t, name] of tensors) checkLength(checkFloat32(t, name), want, name, what);
  const style = checkEnum(o.style, 'options.style', STYLE, 'authors');
  const layout = checkEnum(o.layout, 'options.layout', LAYOUT, 'bhnd');
  const mask = o.mask === undefined ? null : checkMask(o.mask, B, n);
  let conv: Float32Array | null = null;
  let ks = 0;
  if (o.convWeight !== undefined) ({ conv, ks } = checkConv(o.convWeight, H));
  const c: Checked = { B, H, n, d, style, layout, mask, conv, ks, m: 0, iters: 0, init: 0, remainder: 0, out: undefined };
  if (o.out !== undefined) {
    const out = checkFloat32(o.out, 'options.out');
    checkLength(out, outLength(c), 'options.out', what);
    c.out = out;
  }
  return c;
}

/** Adds the Nyström options to the common checks. */
export function checkNystrom(c: Checked, o: Record<string, unknown>): Checked {
  c.m = o.landmarks === undefined ? 64 : checkInt(o.landmarks, 'options.landmarks', 1);
  c.iters = o.pinvIterations === undefined ? 6 : checkInt(o.pinvIterations, 'options.pinvIterations', 0, 10000);
  c.init = checkEnum(o.pinvInit, 'options.pinvInit', INIT, c.style === 2 ? 'abs_rowcol' : 'original');
  c.remainder = checkEnum(o.remainder, 'options.remainder', REMAINDER, 'pad');
  if (c.remainder === 2 && c.n % c.m !== 0) {
    throw rangeError('ERR_OPTION', `remainder 'error': landmarks (${c.m}) must divide seqLen (${c.n}); use remainder 'pad' or 'uneven'`);
  }
  if (c.remainder === 1 && c.m > c.n) {
    throw rangeError('ERR_OPTION', `remainder 'uneven' needs landmarks ≤ seqLen, got landmarks ${c.m} > seqLen ${c.n}`);
  }
  // lucidrains pads a short sequence up to m and runs Nyström on it (authors/hf take exact attention
  // there); its pseudo-inverse costs O(iters·m³) per head whatever the sequence: past MAX_PAD_LANDMARKS
  // that is minutes for nothing the sequence holds.
  if (c.style === 2 && c.m > c.n && c.m > MAX_PAD_LANDMARKS) {
    throw rangeError('ERR_OPTION', `style 'lucidrains' with landmarks (${c.m}) > seqLen (${c.n}) pads the sequence to ${c.m} rows; at most ${MAX_PAD_LANDMARKS} landmarks are allowed there (use landmarks ≤ seqLen)`);
  }
  return c;
}
