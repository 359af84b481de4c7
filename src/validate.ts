// Validation of every argument before wasm memory is touched. Conventions:
// TypeError for a wrong type or an unknown option string, RangeError for a value out of range
// (lengths, dims, counts, mask values). Messages name what was expected and what came.
import { describe } from './loader.js';
import type { NystromAttentionOptions, SoftmaxAttentionOptions } from './types.js';
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
}

export function checkFloat32(x: unknown, name: string): Float32Array {
  if (!(x instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array, got ${describe(x)}`);
  return x;
}

export function checkLength(x: Float32Array, want: number, name: string, what: string): void {
  if (x.length !== want) throw new RangeError(`${name} has ${x.length} elements; ${what} needs ${want}`);
}

export function checkInt(x: unknown, name: string, min: number): number {
  if (typeof x !== 'number') throw new TypeError(`${name} must be an integer ≥ ${min}, got ${describe(x)}`);
  if (!Number.isInteger(x) || x < min || x > 0x7fffffff) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${x}`);
  return x;
}

function checkEnum<T extends string>(x: unknown, name: string, allowed: readonly T[], dflt: T): number {
  if (x === undefined) return allowed.indexOf(dflt);
  const i = allowed.indexOf(x as T);
  if (typeof x !== 'string' || i < 0) {
    throw new TypeError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(x)}`);
  }
  return i;
}

export function checkShape(shape: unknown): [number, number, number, number] {
  if (shape === undefined) throw new TypeError('options.shape is required: [batch, heads, seqLen, headDim]');
  if (!Array.isArray(shape) && !ArrayBuffer.isView(shape)) {
    throw new TypeError(`options.shape must be an array [batch, heads, seqLen, headDim], got ${describe(shape)}`);
  }
  const s = Array.from(shape as ArrayLike<unknown>);
  if (s.length !== 4) throw new RangeError(`options.shape must have 4 entries [batch, heads, seqLen, headDim], got ${s.length}: [${s.join(', ')}]`);
  const names = ['batch', 'heads', 'seqLen', 'headDim'];
  s.forEach((v, i) => checkInt(v, `options.shape[${i}] (${names[i]})`, 1));
  const total = (s as number[]).reduce((a, b) => a * b, 1);
  if (total > 2 ** 30) throw new RangeError(`options.shape [${s.join(', ')}] has ${total} elements per tensor, more than wasm32 memory holds`);
  return s as [number, number, number, number];
}

export function checkMask(mask: unknown, B: number, n: number): Float32Array {
  if (typeof mask !== 'object' || mask === null || typeof (mask as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`options.mask must be an array-like of batch·seqLen 0/1 values, got ${describe(mask)}`);
  }
  const src = mask as ArrayLike<unknown>;
  if (src.length !== B * n) throw new RangeError(`options.mask has ${src.length} entries; shape needs batch·seqLen = ${B * n}`);
  const f = new Float32Array(B * n);
  for (let i = 0; i < f.length; i++) {
    const x = src[i];
    if (x !== 0 && x !== 1 && x !== true && x !== false) {
      throw new RangeError(`options.mask entries must be 0 or 1, got ${describe(x)} at index ${i}`);
    }
    f[i] = x === 1 || x === true ? 1 : 0;
  }
  return f;
}

function checkConv(w: unknown, H: number): { conv: Float32Array; ks: number } {
  const conv = checkFloat32(w, 'options.convWeight');
  const ks = conv.length / H;
  if (conv.length === 0 || !Number.isInteger(ks) || ks % 2 !== 1) {
    throw new RangeError(`options.convWeight must hold heads·kernelSize taps with kernelSize odd (heads = ${H}), got ${conv.length} (kernelSize ${Number.isInteger(ks) ? ks : (conv.length / H).toFixed(2)})`);
  }
  for (let i = 0; i < conv.length; i++) {
    if (!Number.isFinite(conv[i])) throw new RangeError(`options.convWeight must be finite, got ${conv[i]} at index ${i}`);
  }
  return { conv, ks };
}

/**
 * Checks the options shared by both attention kinds, and the named tensors (q, k and, except in
 * matrix mode, v; none when a plan is made) right after the shape.
 */
export function checkCommon(tensors: [unknown, string][], options: SoftmaxAttentionOptions | undefined, outLength: (c: Checked) => number): Checked {
  if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object with a shape, got ${describe(options)}`);
  const [B, H, n, d] = checkShape(options.shape);
  const want = B * H * n * d;
  const what = `shape [${B}, ${H}, ${n}, ${d}]`;
  for (const [t, name] of tensors) checkLength(checkFloat32(t, name), want, name, what);
  const style = checkEnum(options.style, 'options.style', STYLE, 'authors');
  const layout = checkEnum(options.layout, 'options.layout', LAYOUT, 'bhnd');
  const mask = options.mask === undefined ? null : checkMask(options.mask, B, n);
  let conv: Float32Array | null = null;
  let ks = 0;
  if (options.convWeight !== undefined) ({ conv, ks } = checkConv(options.convWeight, H));
  const c: Checked = { B, H, n, d, style, layout, mask, conv, ks, m: 0, iters: 0, init: 0, remainder: 0, out: undefined };
  if (options.out !== undefined) {
    const out = checkFloat32(options.out, 'options.out');
    checkLength(out, outLength(c), 'options.out', what);
    c.out = out;
  }
  return c;
}

/** Adds the Nyström options to the common checks. */
export function checkNystrom(c: Checked, options: NystromAttentionOptions): Checked {
  c.m = options.landmarks === undefined ? 64 : checkInt(options.landmarks, 'options.landmarks', 1);
  c.iters = options.pinvIterations === undefined ? 6 : checkInt(options.pinvIterations, 'options.pinvIterations', 0);
  c.init = checkEnum(options.pinvInit, 'options.pinvInit', INIT, c.style === 2 ? 'abs_rowcol' : 'original');
  c.remainder = checkEnum(options.remainder, 'options.remainder', REMAINDER, 'pad');
  if (c.remainder === 2 && c.n % c.m !== 0) {
    throw new RangeError(`remainder 'error': landmarks (${c.m}) must divide seqLen (${c.n}); use remainder 'pad' or 'uneven'`);
  }
  if (c.remainder === 1 && c.m > c.n) {
    throw new RangeError(`remainder 'uneven' needs landmarks ≤ seqLen, got landmarks ${c.m} > seqLen ${c.n}`);
  }
  return c;
}
