// Shared SIMD helpers: a vector exp for the softmaxes, partial (tail) loads and stores that
// never touch memory past `count` lanes, column scaling by a weight vector, and the
// finiteness scan the host runs over inputs before any compute.
//
// Pointers are byte addresses; counts are in f32 elements.
import { enter, leave } from './profile';
import { PROF_SCAN } from './abi.generated';

/** The most negative finite f32 (torch.finfo(torch.float32).min), used as the masked logit. */
// @ts-ignore: decorator
@inline export const NEG_MAX: f32 = -3.4028234663852886e38;

// exp(x) = 2^n · e^r with n = round(x / ln2), r = x − n·ln2 (Cody–Waite split of ln2 so r is exact
// to f32 rounding), e^r by its Taylor polynomial to degree 7 on |r| ≤ ln2/2 (truncation < 6e-9
// relative, below f32 rounding). Inputs below −87.33 (where e^x is no longer a normal f32) give 0,
// which is what torch's softmax gives for masked logits. Inputs must be ≤ 88 (softmax feeds x − max ≤ 0).
//
// The rounding uses the "magic number" trick instead of f32x4.nearest + i32x4.trunc_sat (the latter
// is a long instruction sequence on x64): adding 1.5·2^23 + 127 to x·log2(e) leaves round(x·log2 e) + 127
// in the low mantissa bits, so the same value gives n as a float (subtract the constant back) and the
// biased exponent of 2^n (shift its bits left by 23).
// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.4426950408889634;
// @ts-ignore: decorator
@inline const LN2_HI: f32 = 0.693359375;
// @ts-ignore: decorator
@inline const LN2_LO: f32 = -2.12194440e-4;
// @ts-ignore: decorator
@inline const EXP_MIN: f32 = -87.33;
// @ts-ignore: decorator
@inline const ROUND_BIAS: f32 = 12583039.0; // 1.5·2^23 + 127

/** a·b + c; fused (one rounding) in the relaxed build, a product then a sum in the plain build. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// @ts-ignore: decorator
@inline export function expv(x: v128): v128 {
  const under = f32x4.lt(x, f32x4.splat(EXP_MIN));
  const xc = f32x4.pmax(x, f32x4.splat(EXP_MIN)); // pmax: one maxps (max needs NaN/±0 fix-ups)
  const t = f32x4.add(f32x4.mul(xc, f32x4.splat(LOG2E)), f32x4.splat(ROUND_BIAS));
  const n = f32x4.sub(t, f32x4.splat(ROUND_BIAS)); // round(x·log2 e), exactly, as a float
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.0 / 5040.0);
  p = madd(p, r, f32x4.splat(1.0 / 720.0));
  p = madd(p, r, f32x4.splat(1.0 / 120.0));
  p = madd(p, r, f32x4.splat(1.0 / 24.0));
  p = madd(p, r, f32x4.splat(1.0 / 6.0));
  p = madd(p, r, f32x4.splat(0.5));
  p = madd(p, r, f32x4.splat(1.0));
  p = madd(p, r, f32x4.splat(1.0));
  // The low bits of t hold n + 127 ∈ [1, 254] (xc ≥ −87.33): shifted into the exponent field they are 2^n.
  const pow2 = i32x4.shl(t, 23);
  const e = f32x4.mul(p, pow2);
  return v128.andnot(e, under);
}

// expvFast: the same reduction, e^r by a degree-5 polynomial fitted for relative error on
// |r| ≤ ln2/2 (9e-8 in exact arithmetic, 1.8e-7 evaluated in f32, against 1e-7 for expv), and no
// compare-and-mask for small inputs: they are clamped at −88, where round(x·log2 e) = −127 and the
// 2^n built from it is +0, so every input from −88 down (masked logits: −3.4028235e38 minus the
// max) gives exactly 0, as torch's softmax does. Between −88 and −87.3 the result is 0 or the
// subnormal e^x. Inputs must be ≤ 88. Four operations fewer than expv (six in the relaxed build,
// where the reduction steps fuse too). Used by the fused exact attention (flash.ts), whose error
// budget has room; the Nyström softmaxes keep expv (their pseudo-inverse amplifies the exp's error:
// two conformance cases at 12 iterations crossed 1e-5 with this one).
// @ts-ignore: decorator
@inline const EXP_MIN_FAST: f32 = -88.0;
// e^r ≈ 1 + r·(P1 + r·(P2 + r·(P3 + r·(P4 + r·P5)))) on [−ln2/2, ln2/2].
// @ts-ignore: decorator
@inline const P1: f32 = 9.999997020e-1;
// @ts-ignore: decorator
@inline const P2: f32 = 4.999915063e-1;
// @ts-ignore: decorator
@inline const P3: f32 = 1.666763574e-1;
// @ts-ignore: decorator
@inline const P4: f32 = 4.189793020e-2;
// @ts-ignore: decorator
@inline const P5: f32 = 8.290315047e-3;

// @ts-ignore: decorator
@inline export function expvFast(x: v128): v128 {
  const xc = f32x4.pmax(x, f32x4.splat(EXP_MIN_FAST)); // pmax: one maxps (max needs NaN/±0 fix-ups)
  const t = madd(xc, f32x4.splat(LOG2E), f32x4.splat(ROUND_BIAS));
  const n = f32x4.sub(t, f32x4.splat(ROUND_BIAS)); // round(x·log2 e), exactly, as a float
  let r = madd(n, f32x4.splat(-LN2_HI), xc);
  r = madd(n, f32x4.splat(-LN2_LO), r);
  let p = f32x4.splat(P5);
  p = madd(p, r, f32x4.splat(P4));
  p = madd(p, r, f32x4.splat(P3));
  p = madd(p, r, f32x4.splat(P2));
  p = madd(p, r, f32x4.splat(P1));
  p = madd(p, r, f32x4.splat(1.0));
  // The low bits of t hold n + 127 ∈ [0, 254] (xc ≥ −88): shifted into the exponent field they are
  // 2^n, or +0 for n = −127.
  return f32x4.mul(p, i32x4.shl(t, 23));
}

/** Loads the first min(n, 4) floats at p into the low lanes, the other lanes 0 (n ≤ 0 → zero
 *  vector); never reads past them (a wasm read past the end of memory traps). */
// @ts-ignore: decorator
@inline export function loadPartial(p: usize, n: i32): v128 {
  if (n >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  if (n > 0) v = v128.load32_lane(p, v, 0);
  if (n > 1) v = v128.load32_lane(p, v, 1, 4);
  if (n > 2) v = v128.load32_lane(p, v, 2, 8);
  return v;
}

/** Stores the first min(n, 4) lanes of v at p (n ≤ 0 → nothing); writes nothing past them. */
// @ts-ignore: decorator
@inline export function storePartial(p: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(p, v);
  } else {
    if (n > 0) v128.store32_lane(p, v, 0);
    if (n > 1) v128.store32_lane(p, v, 1, 4);
    if (n > 2) v128.store32_lane(p, v, 2, 8);
  }
}

/**
 * x[i][j] *= w[j] for `rows` rows of `cols` floats (row stride ld), in place: a diagonal matrix
 * applied from the right (kernel 3 · diag(mask) is kernel 3 · (mask·V) with 0/1 weights, exactly).
 */
export function scaleColumns(x: usize, rows: i32, cols: i32, ld: i32, w: usize): void {
  const cols4 = cols & ~3;
  const tail = cols - cols4;
  for (let i = 0; i < rows; i++) {
    const row = x + (<usize>i * <usize>ld << 2);
    let j = 0;
    for (; j < cols4; j += 4) {
      const off = <usize>j << 2;
      v128.store(row + off, f32x4.mul(v128.load(row + off), v128.load(w + off)));
    }
    if (tail) {
      const off = <usize>j << 2;
      storePartial(row + off, f32x4.mul(loadPartial(row + off, tail), loadPartial(w + off, tail)), tail);
    }
  }
}

/** Index of the first NaN or ±Infinity among `count` floats at p, or −1 when all are finite. */
export function firstNonFinite(p: usize, count: i32): i32 {
  enter(PROF_SCAN);
  const r = firstNonFiniteBody(p, count);
  leave();
  return r;
}

function firstNonFiniteBody(p: usize, count: i32): i32 {
  // x − x is 0 for every finite x and NaN for NaN and ±Infinity: scan four lanes at a time and
  // hand the first bad vector (and the tail) to the scalar loop, which names the index.
  const count4 = count & ~3;
  let i = 0;
  for (; i < count4; i += 4) {
    const x = v128.load(p + (<usize>i << 2));
    const d = f32x4.sub(x, x);
    if (v128.any_true(f32x4.ne(d, d))) break;
  }
  for (; i < count; i++) {
    const x = load<f32>(p + (<usize>i << 2));
    if (!isFinite<f32>(x)) return i;
  }
  return -1;
}

/**
 * Stores 1 (an i32) at dst when floats [i0, i1) at p hold a NaN or ±Infinity, else leaves it: the
 * pool's scan of an input, a range at a time (the host then names the first bad index).
 */
export function scanRange(p: usize, dst: usize, i0: i32, i1: i32): void {
  if (i1 > i0 && firstNonFinite(p + (<usize>i0 << 2), i1 - i0) >= 0) store<i32>(dst, 1);
}
