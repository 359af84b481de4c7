// The pieces of a transformer layer besides attention and matmul: bias (+ residual) adds, LayerNorm,
// the activations Hugging Face configs name, and the embedding lookup. Rows are contiguous (row
// stride = cols); pointers are byte addresses; everything is f32 and in place unless an output is named.
import { ACT_GELU, ACT_GELU_FAST, ACT_GELU_NEW, ACT_QUICK_GELU, ACT_RELU, ACT_SILU, ACT_TANH } from './abi.generated';
import { expv, loadPartial, madd, storePartial } from './util';

/** x[i][j] += bias[j] (+ res[i][j] when res ≠ 0), for rows × cols. */
export function addBias(x: usize, rows: i32, cols: i32, bias: usize, res: usize): void {
  const rowBytes = <usize>cols << 2;
  for (let i = 0; i < rows; i++) {
    const r = x + <usize>i * rowBytes;
    sumRow(r, r, bias, res ? res + <usize>i * rowBytes : 0, cols);
  }
}

/** dst[j] = (a[j] + b[j]) + c[j] for `cols` floats (c = 0: dst = a + b); dst may be a. */
// @ts-ignore: decorator
@inline function sumRow(dst: usize, a: usize, b: usize, c: usize, cols: i32): void {
  const c4 = cols & ~3, tail = cols - c4;
  let j = 0;
  for (; j < c4; j += 4) {
    const o = <usize>j << 2;
    let y = f32x4.add(v128.load(a + o), v128.load(b + o));
    if (c) y = f32x4.add(y, v128.load(c + o));
    v128.store(dst + o, y);
  }
  if (tail) {
    const o = <usize>j << 2;
    let y = f32x4.add(loadPartial(a + o, tail), loadPartial(b + o, tail));
    if (c) y = f32x4.add(y, loadPartial(c + o, tail));
    storePartial(dst + o, y, tail);
  }
}

/** Horizontal sum of the four lanes, pairwise. */
// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * LayerNorm over each row of `cols` (torch.nn.LayerNorm, biased variance): y = (x − mean) /
 * sqrt(var + eps) · gamma + beta, two passes over the row (mean, then centred squares), into out
 * (out may equal x).
 */
export function layerNorm(x: usize, rows: i32, cols: i32, gamma: usize, beta: usize, eps: f32, out: usize): void {
  const c4 = cols & ~3, tail = cols - c4;
  const rowBytes = <usize>cols << 2;
  const inv = <f32>1 / <f32>cols;
  for (let i = 0; i < rows; i++) {
    const r = x + <usize>i * rowBytes;
    const o = out + <usize>i * rowBytes;
    let s = f32x4.splat(0);
    let j = 0;
    for (; j < c4; j += 4) s = f32x4.add(s, v128.load(r + (<usize>j << 2)));
    let sum = hsum(s);
    if (tail) sum += hsum(loadPartial(r + (<usize>j << 2), tail));
    const mean = sum * inv;
    const vm = f32x4.splat(mean);
    s = f32x4.splat(0);
    j = 0;
    for (; j < c4; j += 4) {
      const d = f32x4.sub(v128.load(r + (<usize>j << 2)), vm);
      s = madd(d, d, s);
    }
    let sq = hsum(s);
    if (tail) {
      // Lanes past the tail load as 0; 0 − mean would count: mask them.
      const d = f32x4.sub(loadPartial(r + (<usize>j << 2), tail), vm);
      const lane = i32x4(0, 1, 2, 3);
      const keep = i32x4.lt_s(lane, i32x4.splat(tail));
      const dm = v128.and(d, keep);
      sq += hsum(f32x4.mul(dm, dm));
    }
    const rstd = f32x4.splat(<f32>(1.0 / Math.sqrt(<f64>(sq * inv) + <f64>eps)));
    j = 0;
    for (; j < c4; j += 4) {
      const off = <usize>j << 2;
      const y = f32x4.mul(f32x4.sub(v128.load(r + off), vm), rstd);
      v128.store(o + off, madd(y, v128.load(gamma + off), v128.load(beta + off)));
    }
    if (tail) {
      const off = <usize>j << 2;
      const y = f32x4.mul(f32x4.sub(loadPartial(r + off, tail), vm), rstd);
      storePartial(o + off, madd(y, loadPartial(gamma + off, tail), loadPartial(beta + off, tail)), tail);
    }
  }
}

// tanh(u) = sign(u)·(1 − e)/(1 + e), e = exp(−2|u|) ≤ 1: no overflow; absolute error ~1e-7.
// @ts-ignore: decorator
@inline function tanhv(u: v128): v128 {
  const a = f32x4.abs(u);
  const e = expv(f32x4.mul(a, f32x4.splat(-2)));
  const t = f32x4.div(f32x4.sub(f32x4.splat(1), e), f32x4.add(f32x4.splat(1), e));
  return v128.or(t, v128.and(u, i32x4.splat(0x80000000))); // copy the sign of u
}

// sigmoid(u) = 1/(1 + e^−u) for u ≥ 0, e^u/(1 + e^u) below: e = exp(−|u|) ≤ 1.
// @ts-ignore: decorator
@inline function sigmoidv(u: v128): v128 {
  const e = expv(f32x4.neg(f32x4.abs(u)));
  const inv = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), e));
  return v128.bitselect(inv, f32x4.mul(e, inv), f32x4.ge(u, f32x4.splat(0)));
}

// 1 + erf(z) for gelu (erf form): erfc(|z|) = poly(t)·e^(−z²), t = 1/(1 + p|z|) (Abramowitz & Stegun
// 7.1.26, |error| ≤ 1.5e-7); 1 + erf(z) = 2 − erfc(z) for z ≥ 0, erfc(|z|) below (no cancellation).
// @ts-ignore: decorator
@inline function onePlusErfv(z: v128): v128 {
  const a = f32x4.abs(z);
  const t = f32x4.div(f32x4.splat(1), madd(a, f32x4.splat(0.3275911), f32x4.splat(1)));
  let p = f32x4.splat(1.061405429);
  p = madd(p, t, f32x4.splat(-1.453152027));
  p = madd(p, t, f32x4.splat(1.421413741));
  p = madd(p, t, f32x4.splat(-0.284496736));
  p = madd(p, t, f32x4.splat(0.254829592));
  p = f32x4.mul(p, t);
  const ec = f32x4.mul(p, expv(f32x4.neg(f32x4.mul(a, a))));
  return v128.bitselect(f32x4.sub(f32x4.splat(2), ec), ec, f32x4.ge(z, f32x4.splat(0)));
}

// @ts-ignore: decorator
@inline function actv(x: v128, kind: i32): v128 {
  const half = f32x4.splat(0.5);
  if (kind == ACT_GELU_NEW) {
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const x3 = f32x4.mul(f32x4.mul(x, x), x);
    const u = f32x4.mul(f32x4.splat(0.7978845608028654), madd(x3, f32x4.splat(0.044715), x));
    return f32x4.mul(f32x4.mul(half, x), f32x4.add(f32x4.splat(1), tanhv(u)));
  }
  if (kind == ACT_GELU_FAST) {
    // 0.5·x·(1 + tanh(x·0.7978845608·(1 + 0.044715·x²)))
    const u = f32x4.mul(f32x4.mul(x, f32x4.splat(0.7978845608)), madd(f32x4.mul(x, x), f32x4.splat(0.044715), f32x4.splat(1)));
    return f32x4.mul(f32x4.mul(half, x), f32x4.add(f32x4.splat(1), tanhv(u)));
  }
  if (kind == ACT_GELU) return f32x4.mul(f32x4.mul(half, x), onePlusErfv(f32x4.mul(x, f32x4.splat(0.7071067811865476))));
  if (kind == ACT_RELU) return f32x4.pmax(x, f32x4.splat(0));
  if (kind == ACT_QUICK_GELU) return f32x4.mul(x, sigmoidv(f32x4.mul(x, f32x4.splat(1.702))));
  if (kind == ACT_SILU) return f32x4.mul(x, sigmoidv(x));
  if (kind == ACT_TANH) return tanhv(x);
  return x;
}

/** x ← act(x + bias) for rows × cols, act by its ACT code (bias per column, or 0). */
export function biasActivation(x: usize, rows: i32, cols: i32, bias: usize, kind: i32): void {
  const c4 = cols & ~3, tail = cols - c4;
  const rowBytes = <usize>cols << 2;
  for (let i = 0; i < rows; i++) {
    const r = x + <usize>i * rowBytes;
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      let y = v128.load(r + o);
      if (bias) y = f32x4.add(y, v128.load(bias + o));
      v128.store(r + o, actv(y, kind));
    }
    if (tail) {
      const o = <usize>j << 2;
      let y = loadPartial(r + o, tail);
      if (bias) y = f32x4.add(y, loadPartial(bias + o, tail));
      storePartial(r + o, actv(y, kind), tail);
    }
  }
}

/**
 * Embeddings: dst[t] = word[ids[t]] + types[tts[t]] + pos[poss[t]] for `count` tokens of `cols`
 * floats (ids, tts, poss: i32 arrays; tts = 0: type 0; pos = 0: no position embeddings). Indices are
 * checked by the host.
 */
export function embed(dst: usize, word: usize, types: usize, pos: usize, ids: usize, tts: usize, poss: usize, count: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let t = 0; t < count; t++) {
    const w = word + <usize>load<i32>(ids + (<usize>t << 2)) * rowBytes;
    const ty = types + (tts ? <usize>load<i32>(tts + (<usize>t << 2)) * rowBytes : 0);
    const p = pos ? pos + <usize>load<i32>(poss + (<usize>t << 2)) * rowBytes : 0;
    sumRow(dst + <usize>t * rowBytes, w, ty, p, cols);
  }
}
