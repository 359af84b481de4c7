// model.ts (addBias, layerNorm, biasActivation, embed) and gemmPackedB against scalar f64
// references over awkward widths, with NaN sentinels around every output (nothing written past it).
import { addBias, layerNorm, biasActivation, embed } from "../../assembly/model";
import { gemm, gemmPackedB, gemmWorkBytes, packB } from "../../assembly/gemm";
import {
  ACT_GELU, ACT_GELU_FAST, ACT_GELU_NEW, ACT_LINEAR, ACT_QUICK_GELU, ACT_RELU, ACT_SILU, ACT_TANH,
} from "../../assembly/abi.generated";
import { allocF, allocGuarded, inner, guardDamage, rnd, rnd01, reseed, getF, setF, str } from "./helpers.include";

const COLS: i32[] = [1, 3, 4, 5, 7, 8, 16, 17, 64, 65, 768];

/** erf in f64: the Taylor series below |x| = 3, 1 − erfc by its continued fraction above (both ~1e-15). */
function erf64(x: f64): f64 {
  const ax = Math.abs(x);
  let r: f64;
  if (ax < 3) {
    let sum: f64 = 0, term: f64 = ax;
    for (let n = 0; n < 200; n++) {
      const t = term / <f64>(2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
      term *= -ax * ax / <f64>(n + 1);
    }
    r = 2 / Math.sqrt(Math.PI) * sum;
  } else {
    // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated from the tail.
    let f: f64 = ax;
    for (let k = 60; k >= 1; k--) f = ax + (<f64>k / 2) / f;
    r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}

function gelu64(x: f64): f64 {
  // 0.5·x·(1 + erf(x/√2)); for x < −3√2 through erfc directly (1 + erf(z) = erfc(−z)) to keep its size.
  const z = x / Math.SQRT2;
  if (z < -3) {
    const az = -z;
    let f: f64 = az;
    for (let k = 60; k >= 1; k--) f = az + (<f64>k / 2) / f;
    return 0.5 * x * (Math.exp(-az * az) / Math.sqrt(Math.PI) / f);
  }
  return 0.5 * x * (1 + erf64(z));
}

function act64(x: f64, kind: i32): f64 {
  if (kind == ACT_GELU_NEW) return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
  if (kind == ACT_GELU_FAST) return 0.5 * x * (1 + Math.tanh(x * 0.7978845608 * (1 + 0.044715 * x * x)));
  if (kind == ACT_GELU) return gelu64(x);
  if (kind == ACT_RELU) return x > 0 ? x : 0;
  if (kind == ACT_QUICK_GELU) return x / (1 + Math.exp(-1.702 * x));
  if (kind == ACT_SILU) return x / (1 + Math.exp(-x));
  if (kind == ACT_TANH) return Math.tanh(x);
  return x;
}

describe("addBias", () => {
  it("adds the bias per column (and the residual) exactly, inside rows × cols only", () => {
    reseed(91);
    let bad = 0;
    for (let ci = 0; ci < COLS.length; ci++) {
      const cols = COLS[ci], rows = 3;
      for (let withRes = 0; withRes < 2; withRes++) {
        const xb = allocGuarded(rows * cols), x = inner(xb);
        const x0 = allocF(rows * cols), b = allocF(cols), r = allocF(rows * cols);
        for (let i = 0; i < rows * cols; i++) { const v = rnd(); setF(x, i, v); setF(x0, i, v); setF(r, i, rnd()); }
        for (let j = 0; j < cols; j++) setF(b, j, rnd());
        addBias(x, rows, cols, b, withRes ? r : 0);
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
          let want: f32 = getF(x0, i * cols + j) + getF(b, j);
          if (withRes) want += getF(r, i * cols + j);
          if (getF(x, i * cols + j) != want) bad++;
        }
        bad += guardDamage(xb, rows * cols);
      }
    }
    expect<i32>(bad).toBe(0);
  });
});

describe("layerNorm", () => {
  it("matches the f64 LayerNorm within 2e-6 relative, constant rows give beta, out may be x", () => {
    reseed(92);
    let bad = 0;
    let worst: f64 = 0;
    for (let ci = 0; ci < COLS.length; ci++) {
      const cols = COLS[ci], rows = 4;
      const x = allocF(rows * cols), g = allocF(cols), be = allocF(cols);
      const ob = allocGuarded(rows * cols), out = inner(ob);
      for (let i = 0; i < rows * cols; i++) setF(x, i, rnd() * 3 + 0.5);
      for (let j = 0; j < cols; j++) { setF(g, j, rnd01() + 0.5); setF(be, j, rnd() * 0.1); }
      // Row 3 is constant: (x − mean) = 0, so the output is beta.
      for (let j = 0; j < cols; j++) setF(x, 3 * cols + j, 1.25);
      layerNorm(x, rows, cols, g, be, 1e-5, out);
      for (let i = 0; i < rows; i++) {
        let mean: f64 = 0;
        for (let j = 0; j < cols; j++) mean += <f64>getF(x, i * cols + j);
        mean /= cols;
        let v: f64 = 0;
        for (let j = 0; j < cols; j++) { const d = <f64>getF(x, i * cols + j) - mean; v += d * d; }
        v /= cols;
        let num: f64 = 0, den: f64 = 0;
        for (let j = 0; j < cols; j++) {
          const want = (<f64>getF(x, i * cols + j) - mean) / Math.sqrt(v + 1e-5) * <f64>getF(g, j) + <f64>getF(be, j);
          const d = <f64>getF(out, i * cols + j) - want;
          num += d * d; den += want * want;
          if (i == 3 && getF(out, i * cols + j) != getF(be, j)) bad++;
        }
        const err = Math.sqrt(num / den);
        worst = Math.max(worst, err);
        if (!(err <= 2e-6)) bad++;
      }
      bad += guardDamage(ob, rows * cols);
      // In place gives the same bits.
      const y = allocF(rows * cols);
      memory.copy(y, x, <usize>(rows * cols) << 2);
      layerNorm(y, rows, cols, g, be, 1e-5, y);
      for (let i = 0; i < rows * cols; i++) if (reinterpret<u32>(getF(y, i)) != reinterpret<u32>(getF(out, i))) bad++;
    }
    trace("layerNorm worst relative error", 1, worst);
    expect<i32>(bad).toBe(0);
  });
});

describe("biasActivation", () => {
  it("each activation matches its f64 formula (abs ≤ 3e-7·max(1,|x|) + 1e-6·|y|) on [−12, 12], with the bias", () => {
    const KINDS: i32[] = [ACT_GELU_NEW, ACT_GELU, ACT_RELU, ACT_GELU_FAST, ACT_QUICK_GELU, ACT_SILU, ACT_TANH, ACT_LINEAR];
    let bad = 0;
    for (let ki = 0; ki < KINDS.length; ki++) {
      const kind = KINDS[ki];
      const cols = 67, rows = 60;
      const xb = allocGuarded(rows * cols), x = inner(xb), x0 = allocF(rows * cols), b = allocF(cols);
      for (let j = 0; j < cols; j++) setF(b, j, <f32>0.01 * <f32>(j % 5));
      for (let i = 0; i < rows * cols; i++) { const v = <f32>(-12.0 + 24.0 * <f64>i / <f64>(rows * cols)); setF(x, i, v); setF(x0, i, v); }
      biasActivation(x, rows, cols, b, kind);
      let worst: f64 = 0;
      for (let i = 0; i < rows * cols; i++) {
        const xin = <f64>(getF(x0, i) + getF(b, i % cols));
        const want = act64(xin, kind);
        const got = <f64>getF(x, i);
        const tol = 3e-7 * Math.max(1, Math.abs(xin)) + 1e-6 * Math.abs(want);
        const e = Math.abs(got - want);
        if (e > worst) worst = e;
        if (!(e <= tol)) { if (bad < 5) trace("activation (kind, x, got, want)", 4, <f64>kind, xin, got, want); bad++; }
      }
      bad += guardDamage(xb, rows * cols);
      trace("activation worst abs error (kind, err)", 2, <f64>kind, worst);
    }
    expect<i32>(bad).toBe(0);
  });
});

describe("embed", () => {
  it("sums the word, type and position rows of each token", () => {
    reseed(93);
    let bad = 0;
    for (let ci = 0; ci < COLS.length; ci++) {
      const cols = COLS[ci], vocab = 11, count = 9;
      const word = allocF(vocab * cols), types = allocF(2 * cols), pos = allocF(20 * cols);
      for (let i = 0; i < vocab * cols; i++) setF(word, i, rnd());
      for (let i = 0; i < 2 * cols; i++) setF(types, i, rnd());
      for (let i = 0; i < 20 * cols; i++) setF(pos, i, rnd());
      const ids = heap.alloc(count * 4), tts = heap.alloc(count * 4), poss = heap.alloc(count * 4);
      for (let t = 0; t < count; t++) { store<i32>(ids + (<usize>t << 2), (t * 7) % vocab); store<i32>(tts + (<usize>t << 2), t % 2); store<i32>(poss + (<usize>t << 2), t + 2); }
      for (let mode = 0; mode < 3; mode++) {
        const db = allocGuarded(count * cols), dst = inner(db);
        embed(dst, word, types, mode == 2 ? 0 : pos, ids, mode == 1 ? 0 : tts, poss, count, cols);
        for (let t = 0; t < count; t++) for (let j = 0; j < cols; j++) {
          const tt = mode == 1 ? 0 : t % 2;
          let want: f32 = getF(word, ((t * 7) % vocab) * cols + j) + getF(types, tt * cols + j);
          if (mode != 2) want += getF(pos, (t + 2) * cols + j);
          if (getF(dst, t * cols + j) != want) bad++;
        }
        bad += guardDamage(db, count * cols);
      }
    }
    expect<i32>(bad).toBe(0);
  });
});

describe("gemmPackedB", () => {
  it("a B packed once gives the same bits as gemm, for any number of A's", () => {
    reseed(94);
    let bad = 0;
    const SHAPES: i32[][] = [[1, 1, 1], [5, 7, 3], [64, 64, 64], [33, 17, 130], [300, 48, 20], [7, 5000, 9]];
    for (let si = 0; si < SHAPES.length; si++) {
      const M = SHAPES[si][0], N = SHAPES[si][1], K = SHAPES[si][2];
      for (let transB = 0; transB < 2; transB++) {
        const b = allocF(K * N);
        for (let i = 0; i < K * N; i++) setF(b, i, rnd());
        const wb = gemmWorkBytes(N, K);
        const panels = <usize>((N + 7) >> 3) * <usize>K * 32;
        const bpack = heap.alloc(panels), apack = heap.alloc(wb - panels + 16), work = heap.alloc(wb);
        packB(N, K, b, transB ? K : N, transB, bpack);
        for (let rep = 0; rep < 2; rep++) {
          const a = allocF(M * K);
          for (let i = 0; i < M * K; i++) setF(a, i, rnd());
          const cb = allocGuarded(M * N), c = inner(cb), c2 = allocF(M * N);
          gemmPackedB(M, N, K, a, K, bpack, apack, c, N);
          gemm(M, N, K, a, K, b, transB ? K : N, transB, c2, N, work);
          for (let i = 0; i < M * N; i++) if (reinterpret<u32>(getF(c, i)) != reinterpret<u32>(getF(c2, i))) bad++;
          bad += guardDamage(cb, M * N);
        }
      }
      if (bad) trace("gemmPackedB shape (M, N, K)", 3, <f64>M, <f64>N, <f64>K);
    }
    expect<i32>(bad).toBe(0);
  });
});
