// pinvIterate against the same iteration in f64 (Z0 = α·Aᵀ; AZ = A·Z;
// Z ← 0.25·Z·(13I − AZ·(15I − AZ·(7I − AZ)))), the Penrose conditions after convergence on
// well-conditioned matrices, and matrixStats against a scalar f64 loop.
// z, the work area and the stats output sit between NaN sentinels; a is checked unchanged.
import { pinvIterate, pinvWorkBytes, matrixStats } from "../../assembly/pinv";
import { gemmWorkBytes } from "../../assembly/gemm";
import {
  GUARD, SENTINEL_BITS, allocF, allocGuarded, inner, guardDamage, rnd, reseed, getF, setF, str,
} from "./helpers.include";

const MS: i32[] = [1, 3, 4, 5, 8, 16, 17, 33, 64];

const KIND_RANDOM: i32 = 0;   // uniform in [-1, 1)
const KIND_SOFTMAX: i32 = 1;  // row softmax of 3·I + noise (like kernel 2 of the attention)
const KIND_NEAR_I: i32 = 2;   // I + 0.05·noise

function fillMatrix(a: usize, m: i32, kind: i32): void {
  for (let i = 0; i < m; i++) {
    if (kind == KIND_SOFTMAX) {
      let mx: f64 = -Infinity;
      const row = new Float64Array(m);
      for (let j = 0; j < m; j++) { row[j] = (i == j ? 3.0 : 0.0) + <f64>rnd(); mx = Math.max(mx, row[j]); }
      let s: f64 = 0;
      for (let j = 0; j < m; j++) { row[j] = Math.exp(row[j] - mx); s += row[j]; }
      for (let j = 0; j < m; j++) setF(a, i * m + j, <f32>(row[j] / s));
    } else {
      for (let j = 0; j < m; j++) {
        setF(a, i * m + j, kind == KIND_RANDOM ? rnd() : (i == j ? <f32>1 : <f32>0) + <f32>0.05 * rnd());
      }
    }
  }
}

/** α = 1/(‖A‖₁·‖A‖∞) in f64, rounded to f32. */
function alphaOf(a: usize, m: i32): f32 {
  let n1: f64 = 0, ninf: f64 = 0;
  for (let i = 0; i < m; i++) {
    let r: f64 = 0, c: f64 = 0;
    for (let j = 0; j < m; j++) { r += Math.abs(<f64>getF(a, i * m + j)); c += Math.abs(<f64>getF(a, j * m + i)); }
    ninf = Math.max(ninf, r); n1 = Math.max(n1, c);
  }
  return <f32>(1.0 / (n1 * ninf));
}

/** c = a·b, m×m, f64. */
function mul64(c: Float64Array, a: Float64Array, b: Float64Array, m: i32): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      let s: f64 = 0;
      for (let k = 0; k < m; k++) s += a[i * m + k] * b[k * m + j];
      c[i * m + j] = s;
    }
  }
}

/** dst = c·I − src. */
function iMinus(dst: Float64Array, src: Float64Array, m: i32, c: f64): void {
  for (let i = 0; i < m * m; i++) dst[i] = -src[i];
  for (let i = 0; i < m; i++) dst[i * m + i] += c;
}

function reference(a: usize, m: i32, iters: i32, alpha: f32): Float64Array {
  const A = new Float64Array(m * m), Z = new Float64Array(m * m);
  for (let i = 0; i < m * m; i++) A[i] = <f64>getF(a, i);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) Z[i * m + j] = <f64>alpha * A[j * m + i];
  const AZ = new Float64Array(m * m), T1 = new Float64Array(m * m), T2 = new Float64Array(m * m);
  for (let it = 0; it < iters; it++) {
    mul64(AZ, A, Z, m);
    iMinus(T1, AZ, m, 7);
    mul64(T2, AZ, T1, m);
    iMinus(T2, T2, m, 15);
    mul64(T1, AZ, T2, m);
    iMinus(T1, T1, m, 13);
    mul64(T2, Z, T1, m);
    for (let i = 0; i < m * m; i++) Z[i] = 0.25 * T2[i];
  }
  return Z;
}

let worstErr: f64 = 0;

/** Runs pinvIterate on a fresh matrix; returns the failures. The kernel's Z is left in zOut (m×m f64). */
function runKernel(a: usize, m: i32, iters: i32, alpha: f32, zOut: Float64Array): i32 {
  const mm = m * m;
  const aCopy = allocF(mm);
  memory.copy(aCopy, a, <usize>mm << 2);
  const zBuf = allocGuarded(mm), z = inner(zBuf);
  const wb = pinvWorkBytes(m);
  const work = heap.alloc(wb + (<usize>GUARD << 2));
  for (let i = 0; i < GUARD; i++) store<u32>(work + wb + (<usize>i << 2), SENTINEL_BITS);

  pinvIterate(a, z, m, iters, alpha, work);

  let bad = guardDamage(zBuf, mm);
  for (let i = 0; i < GUARD; i++) if (load<u32>(work + wb + (<usize>i << 2)) != SENTINEL_BITS) bad++;
  if (memory.compare(aCopy, a, <usize>mm << 2) != 0) bad++;
  for (let i = 0; i < mm; i++) zOut[i] = <f64>getF(z, i);
  heap.free(work); heap.free(zBuf); heap.free(aCopy);
  return bad;
}

function compareCase(m: i32, iters: i32, kind: i32, tol: f64): i32 {
  const a = allocF(m * m);
  fillMatrix(a, m, kind);
  const alpha = alphaOf(a, m);
  const got = new Float64Array(m * m);
  let bad = runKernel(a, m, iters, alpha, got);
  if (iters == 0) {
    // Z0 = α·Aᵀ: one f32 product per entry, exact.
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) if (got[i * m + j] != <f64>(alpha * getF(a, j * m + i))) bad++;
    }
  } else {
    const ref = reference(a, m, iters, alpha);
    let zmax: f64 = 0, err: f64 = 0;
    for (let i = 0; i < m * m; i++) { zmax = Math.max(zmax, Math.abs(ref[i])); err = Math.max(err, Math.abs(got[i] - ref[i])); }
    const relErr = err / zmax;
    worstErr = Math.max(worstErr, relErr);
    if (!(relErr <= tol)) {
      trace("pinv mismatch (m, iters, kind, max|ΔZ|/max|Z|)", 4, m, iters, kind, relErr);
      bad++;
    }
  }
  heap.free(a);
  return bad;
}

function frob(x: Float64Array): f64 {
  let s: f64 = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/** Penrose conditions after `iters` iterations; returns the failures. */
function penroseCase(m: i32, kind: i32, iters: i32): i32 {
  const a = allocF(m * m);
  fillMatrix(a, m, kind);
  const Z = new Float64Array(m * m);
  let bad = runKernel(a, m, iters, alphaOf(a, m), Z);
  const A = new Float64Array(m * m);
  for (let i = 0; i < m * m; i++) A[i] = <f64>getF(a, i);
  const AZ = new Float64Array(m * m), ZA = new Float64Array(m * m), R = new Float64Array(m * m);
  mul64(AZ, A, Z, m);
  mul64(ZA, Z, A, m);
  mul64(R, AZ, A, m);
  for (let i = 0; i < m * m; i++) R[i] -= A[i];
  const r1 = frob(R) / frob(A);
  mul64(R, ZA, Z, m);
  for (let i = 0; i < m * m; i++) R[i] -= Z[i];
  const r2 = frob(R) / frob(Z);
  let s1: f64 = 0, s2: f64 = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      s1 = Math.max(s1, Math.abs(AZ[i * m + j] - AZ[j * m + i]));
      s2 = Math.max(s2, Math.abs(ZA[i * m + j] - ZA[j * m + i]));
    }
  }
  if (!(r1 <= 1e-4 && r2 <= 1e-4 && s1 <= 1e-4 && s2 <= 1e-4)) {
    trace("penrose (m, kind, |AZA−A|, |ZAZ−Z|)", 4, m, kind, r1, r2);
    trace("penrose symmetry (m, kind, AZ, ZA)", 4, m, kind, s1, s2);
    bad++;
  }
  heap.free(a);
  return bad;
}

describe("pinvIterate", () => {
  it("iters = 0 gives Z0 = α·Aᵀ exactly", () => {
    reseed(31);
    for (let mi = 0; mi < MS.length; mi++) {
      expect<i32>(compareCase(MS[mi], 0, KIND_RANDOM, 0)).toBe(0, "m=" + str(MS[mi]));
      expect<i32>(compareCase(MS[mi], 0, KIND_SOFTMAX, 0)).toBe(0, "m=" + str(MS[mi]) + " softmax");
    }
  });

  it("one iteration matches the f64 iteration", () => {
    reseed(32);
    for (let mi = 0; mi < MS.length; mi++) {
      expect<i32>(compareCase(MS[mi], 1, KIND_RANDOM, 1e-5)).toBe(0, "m=" + str(MS[mi]) + " random");
      expect<i32>(compareCase(MS[mi], 1, KIND_SOFTMAX, 1e-5)).toBe(0, "m=" + str(MS[mi]) + " softmax");
    }
  });

  it("six iterations match the f64 iteration", () => {
    reseed(33);
    for (let mi = 0; mi < MS.length; mi++) {
      expect<i32>(compareCase(MS[mi], 6, KIND_RANDOM, 1e-5)).toBe(0, "m=" + str(MS[mi]) + " random");
      expect<i32>(compareCase(MS[mi], 6, KIND_SOFTMAX, 1e-5)).toBe(0, "m=" + str(MS[mi]) + " softmax");
      expect<i32>(compareCase(MS[mi], 6, KIND_NEAR_I, 1e-5)).toBe(0, "m=" + str(MS[mi]) + " near I");
    }
  });

  it("converges to the pseudo-inverse (Penrose conditions) on well-conditioned matrices", () => {
    reseed(34);
    const PM: i32[] = [1, 3, 5, 16, 17, 33, 64];
    for (let mi = 0; mi < PM.length; mi++) {
      expect<i32>(penroseCase(PM[mi], KIND_SOFTMAX, 20)).toBe(0, "softmax m=" + str(PM[mi]) + " 20 iterations");
      expect<i32>(penroseCase(PM[mi], KIND_NEAR_I, 20)).toBe(0, "near I m=" + str(PM[mi]) + " 20 iterations");
      expect<i32>(penroseCase(PM[mi], KIND_SOFTMAX, 40)).toBe(0, "softmax m=" + str(PM[mi]) + " 40 iterations");
    }
    trace("pinv worst max|ΔZ|/max|Z| vs the f64 iteration", 1, worstErr);
  });

  it("pinvWorkBytes holds three aligned m×m blocks and gemm's packed B", () => {
    const PM: i32[] = [1, 3, 17, 64];
    for (let i = 0; i < PM.length; i++) {
      const m = PM[i];
      expect<bool>(pinvWorkBytes(m) >= 3 * ((<usize>(m * m * 4) + 15) & ~15) + gemmWorkBytes(m, m)).toBe(true, "m=" + str(m));
    }
  });
});

function statsCase(m: i32, shift: f32): i32 {
  const a = allocF(m * m);
  for (let i = 0; i < m * m; i++) setF(a, i, rnd() + shift);
  const oBuf = allocGuarded(3), out = inner(oBuf);
  matrixStats(a, m, out);
  let maxCol: f64 = -Infinity, maxAbsRow: f64 = 0, maxAbsCol: f64 = 0, big: f64 = 0;
  for (let i = 0; i < m; i++) {
    let r: f64 = 0, c: f64 = 0, ca: f64 = 0;
    for (let j = 0; j < m; j++) {
      r += Math.abs(<f64>getF(a, i * m + j));
      c += <f64>getF(a, j * m + i);
      ca += Math.abs(<f64>getF(a, j * m + i));
    }
    maxAbsRow = Math.max(maxAbsRow, r);
    maxCol = Math.max(maxCol, c);
    maxAbsCol = Math.max(maxAbsCol, ca);
    big = Math.max(big, Math.max(r, ca));
  }
  // f32 sums of m terms: at most m·2⁻²⁴ of the sum of magnitudes.
  const tol = <f64>(m + 1) * 6e-8 * big;
  let bad = guardDamage(oBuf, 3);
  if (!(Math.abs(<f64>getF(out, 0) - maxCol) <= tol)) bad++;
  if (!(Math.abs(<f64>getF(out, 1) - maxAbsRow) <= tol)) bad++;
  if (!(Math.abs(<f64>getF(out, 2) - maxAbsCol) <= tol)) bad++;
  if (bad) trace("matrixStats (m, got0, ref0, got1, ref1)", 5, m, getF(out, 0), maxCol, getF(out, 1), maxAbsRow);
  heap.free(oBuf); heap.free(a);
  return bad;
}

describe("matrixStats", () => {
  it("matches the scalar loop (signed, all-negative and all-positive matrices)", () => {
    reseed(35);
    const SM: i32[] = [1, 2, 3, 4, 5, 8, 16, 17, 33, 64, 65];
    for (let mi = 0; mi < SM.length; mi++) {
      expect<i32>(statsCase(SM[mi], 0)).toBe(0, "m=" + str(SM[mi]));
      expect<i32>(statsCase(SM[mi], -2)).toBe(0, "negative m=" + str(SM[mi]));
      expect<i32>(statsCase(SM[mi], 2)).toBe(0, "positive m=" + str(SM[mi]));
    }
  });
});
