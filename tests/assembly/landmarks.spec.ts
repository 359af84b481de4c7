// segmentMeans (and segmentStart) against a scalar f64 reference whose segments are built from
// the contract's lengths (equal: n/m rows; uneven: the first (s+1)·m − n segments of s = ⌊n/m⌋
// rows, the rest s+1), not from the kernel's start formula.
// x and weights sit between NaN sentinels, so a read past the n rows reaches a result; dst and
// counts sit between sentinels, so a write past m rows (or m counts) is seen.
import { segmentMeans, segmentStart } from "../../assembly/landmarks";
import {
  allocF, allocGuarded, inner, guardDamage, rnd, rnd01, reseed, getF, setF, str,
} from "./helpers.include";

const NS: i32[] = [1, 2, 3, 5, 7, 8, 16, 17, 33, 64, 65, 130];
const DS: i32[] = [1, 3, 4, 5, 8, 17, 64, 65];

const W_NONE: i32 = 0;
const W_MASK: i32 = 1;    // 0/1 weights, x multiplied by them (the masked mean)
const W_RANDOM: i32 = 2;  // weights in [0, 1), x multiplied by them

/** Segment lengths per the contract. */
function segLen(j: i32, n: i32, m: i32, uneven: i32): i32 {
  if (!uneven) return n / m;
  const s = n / m;
  const short = (s + 1) * m - n;
  return j < short ? s : s + 1;
}

let worstScaledErr: f64 = 0;

function runCase(n: i32, d: i32, m: i32, uneven: i32, wmode: i32, eps: f32, withCounts: bool): i32 {
  const xBuf = allocGuarded(n * d), x = inner(xBuf);
  let wBuf: usize = 0, w: usize = 0;
  if (wmode != W_NONE) {
    wBuf = allocGuarded(n); w = inner(wBuf);
    for (let i = 0; i < n; i++) setF(w, i, wmode == W_MASK ? (rnd01() < 0.3 ? <f32>0 : <f32>1) : rnd01());
  }
  for (let i = 0; i < n; i++) {
    const wi: f32 = w ? getF(w, i) : 1;
    for (let c = 0; c < d; c++) setF(x, i * d + c, rnd()); // the kernel applies the weights
  }
  const dBuf = allocGuarded(m * d), dst = inner(dBuf);
  let cBuf: usize = 0, counts: usize = 0;
  if (withCounts) { cBuf = allocGuarded(m); counts = inner(cBuf); }

  segmentMeans(x, d, n, d, m, uneven, 0, 1, w, w ? 1 : 0, eps, dst, counts, 0, m);

  let bad = 0;
  let start = 0;
  for (let j = 0; j < m; j++) {
    const len = segLen(j, n, m, uneven);
    let div: f64 = <f64>len;
    if (w) {
      let ws: f64 = 0;
      for (let i = start; i < start + len; i++) ws += <f64>getF(w, i);
      div = ws + <f64>eps;
      if (counts) {
        const got = <f64>getF(counts, j);
        if (!(Math.abs(got - ws) <= <f64>(len + 1) * 6e-8 * ws)) {
          if (bad < 3) trace("counts mismatch (n, m, j, got, ref)", 5, n, m, j, got, ws);
          bad++;
        }
      }
    }
    for (let c = 0; c < d; c++) {
      let s: f64 = 0, sa: f64 = 0;
      for (let i = start; i < start + len; i++) {
        const v = <f64>(getF(x, i * d + c) * (w ? getF(w, i) : <f32>1));
        s += v; sa += Math.abs(v);
      }
      const ref = div != 0 ? s / div : 0;
      const got = <f64>getF(dst, j * d + c);
      // f32 sums of len terms and an f32 divisor: a few ulps of Σ|x|/div per term.
      const scale = div != 0 ? sa / div : 0;
      const tol = <f64>(2 * len + 4) * 6e-8 * scale + 1e-30;
      if (!(Math.abs(got - ref) <= tol)) {
        if (bad < 3) trace("mean mismatch (n, m, j, c, got − ref)", 5, n, m, j, c, got - ref);
        bad++;
      } else if (scale > 0) {
        worstScaledErr = Math.max(worstScaledErr, Math.abs(got - ref) / scale);
      }
    }
    start += len;
  }
  if (start != n) bad++; // the contract's lengths cover the rows (a check of this test)
  bad += guardDamage(dBuf, m * d) + guardDamage(xBuf, n * d);
  if (wBuf) { bad += guardDamage(wBuf, n); heap.free(wBuf); }
  if (cBuf) { bad += guardDamage(cBuf, m); heap.free(cBuf); }
  heap.free(dBuf); heap.free(xBuf);
  return bad;
}

function label(n: i32, d: i32, m: i32, uneven: i32, wmode: i32): string {
  return "n=" + str(n) + " d=" + str(d) + " m=" + str(m) + " uneven=" + str(uneven) + " weights=" + str(wmode);
}

/** m ∈ {1, 2, 5, n}, kept to m ≤ n (and m | n for equal segments). */
function sweep(uneven: i32, wmode: i32, eps: f32, withCounts: bool): i32 {
  let cases = 0;
  const MS: i32[] = [1, 2, 5, 0];
  for (let ni = 0; ni < NS.length; ni++) {
    for (let mi = 0; mi < MS.length; mi++) {
      const n = NS[ni];
      const m = MS[mi] == 0 ? n : MS[mi];
      if (m > n || (!uneven && n % m != 0)) continue;
      if (MS[mi] == 0 && (m == 1 || m == 2 || m == 5)) continue; // already covered
      for (let di = 0; di < DS.length; di++) {
        const d = DS[di];
        expect<i32>(runCase(n, d, m, uneven, wmode, eps, withCounts)).toBe(0, label(n, d, m, uneven, wmode));
        cases++;
      }
    }
  }
  return cases;
}

describe("segmentStart", () => {
  it("partitions 0..n into the contract's segments", () => {
    let bad = 0;
    for (let n = 1; n <= 70; n++) {
      for (let m = 1; m <= n; m++) {
        for (let u = 0; u < 2; u++) {
          if (!u && n % m != 0) continue;
          let s = 0;
          for (let j = 0; j < m; j++) {
            if (segmentStart(j, n, m, u) != s) bad++;
            s += segLen(j, n, m, u);
          }
          if (segmentStart(m, n, m, u) != n) bad++;
        }
      }
    }
    expect<i32>(bad).toBe(0);
  });
});

/**
 * Left padding and scale: the kernel sees n rows and `pad` implicit zero rows in front; the reference
 * builds the padded sequence explicitly. weights multiply rows; maskedMean divides by Σw + eps.
 */
function runPadCase(n: i32, pad: i32, d: i32, m: i32, uneven: i32, scale: f32, wmode: i32, maskedMean: i32): i32 {
  const np = n + pad;
  const xBuf = allocGuarded(n * d), x = inner(xBuf);
  let wBuf: usize = 0, w: usize = 0;
  if (wmode != W_NONE) {
    wBuf = allocGuarded(n); w = inner(wBuf);
    for (let i = 0; i < n; i++) setF(w, i, wmode == W_MASK ? (rnd01() < 0.3 ? <f32>0 : <f32>1) : rnd01());
  }
  for (let i = 0; i < n * d; i++) setF(x, i, rnd());
  const dBuf = allocGuarded(m * d), dst = inner(dBuf);
  const cBuf = allocGuarded(m), counts = inner(cBuf);
  const eps: f32 = 1e-8;
  segmentMeans(x, d, n, d, m, uneven, pad, scale, w, maskedMean, eps, dst, counts, 0, m);
  let bad = 0, start = 0;
  for (let j = 0; j < m; j++) {
    const len = segLen(j, np, m, uneven);
    let ws: f64 = 0;
    for (let r = start; r < start + len; r++) if (r >= pad) ws += w ? <f64>getF(w, r - pad) : 1;
    if (Math.abs(<f64>getF(counts, j) - (w ? ws : 0)) > <f64>(len + 1) * 6e-8 * ws) bad++;
    const div: f64 = maskedMean ? ws + <f64>eps : <f64>len;
    for (let c = 0; c < d; c++) {
      let s: f64 = 0, sa: f64 = 0;
      for (let r = start; r < start + len; r++) {
        if (r < pad) continue; // a zero row
        const v = <f64>(getF(x, (r - pad) * d + c) * (w ? getF(w, r - pad) : <f32>1));
        s += v; sa += Math.abs(v);
      }
      const ref = <f64>scale * s / div;
      const tol = <f64>(2 * len + 6) * 6e-8 * Math.abs(<f64>scale) * sa / div + 1e-30;
      if (!(Math.abs(<f64>getF(dst, j * d + c) - ref) <= tol)) {
        if (bad < 3) trace("padded mean mismatch (n, pad, m, j, c)", 5, n, pad, m, j, c);
        bad++;
      }
    }
    start += len;
  }
  bad += guardDamage(dBuf, m * d) + guardDamage(cBuf, m) + guardDamage(xBuf, n * d);
  if (wBuf) { bad += guardDamage(wBuf, n); heap.free(wBuf); }
  heap.free(cBuf); heap.free(dBuf); heap.free(xBuf);
  return bad;
}

describe("segmentMeans", () => {
  it("left padding, scale, weights and the masked mean match an explicitly padded reference", () => {
    reseed(25);
    const PN: i32[] = [1, 3, 5, 17, 63, 64];
    const PM: i32[] = [1, 4, 8, 16, 64];
    let cases = 0;
    for (let ni = 0; ni < PN.length; ni++) {
      for (let mi = 0; mi < PM.length; mi++) {
        const n = PN[ni], m = PM[mi];
        const pad = (m - n % m) % m; // the 'pad' remainder rule
        const D: i32[] = [1, 5, 8];
        for (let di = 0; di < D.length; di++) {
          for (let wm = 0; wm < 3; wm++) {
            expect<i32>(runPadCase(n, pad, D[di], m, 0, 0.35355339, wm, wm == W_MASK ? 1 : 0)).toBe(0, "pad n=" + str(n) + " m=" + str(m));
            if (m <= n) expect<i32>(runPadCase(n, 0, D[di], m, 1, 0.125, wm, 0)).toBe(0, "uneven n=" + str(n) + " m=" + str(m));
            cases++;
          }
        }
      }
    }
    expect<i32>(cases).toBeGreaterThan(50);
  });

  it("equal segments (m | n) match the reference", () => {
    reseed(21);
    expect<i32>(sweep(0, W_NONE, 0, false)).toBeGreaterThan(50);
  });

  it("uneven segments match the reference", () => {
    reseed(22);
    expect<i32>(sweep(1, W_NONE, 0, false)).toBeGreaterThan(100);
    // Shapes where the split is far from equal: short segments first, then long ones.
    expect<i32>(runCase(17, 5, 16, 1, W_NONE, 0, false)).toBe(0, "n=17 m=16");
    expect<i32>(runCase(63, 17, 8, 1, W_NONE, 0, false)).toBe(0, "n=63 m=8");
    expect<i32>(runCase(65, 4, 64, 1, W_NONE, 0, false)).toBe(0, "n=65 m=64");
  });

  it("the masked mean divides by Σw + eps and writes counts", () => {
    reseed(23);
    sweep(0, W_MASK, 1e-8, true);
    sweep(1, W_MASK, 1e-8, true);
    sweep(1, W_RANDOM, 1e-8, true);
    sweep(0, W_RANDOM, 0.5, true);
    sweep(1, W_MASK, 1e-8, false);
  });

  it("a segment with zero weight gives 0 (x is masked) and count 0", () => {
    const n = 12, d = 5, m = 3;
    const xBuf = allocGuarded(n * d), x = inner(xBuf);
    const wBuf = allocGuarded(n), w = inner(wBuf);
    const dBuf = allocGuarded(m * d), dst = inner(dBuf);
    const cBuf = allocGuarded(m), counts = inner(cBuf);
    for (let i = 0; i < n; i++) {
      const wi: f32 = i >= 4 && i < 8 ? 0 : 1;
      setF(w, i, wi);
      for (let c = 0; c < d; c++) setF(x, i * d + c, <f32>(i + 1) * wi);
    }
    segmentMeans(x, d, n, d, m, 0, 0, 1, w, 1, 1e-8, dst, counts, 0, m);
    let bad = 0;
    for (let c = 0; c < d; c++) {
      if (getF(dst, d + c) != 0) bad++;
      if (getF(dst, c) != <f32>(10.0 / (4.0 + 1e-8))) bad++;
      if (getF(dst, 2 * d + c) != <f32>(42.0 / (4.0 + 1e-8))) bad++;
    }
    if (getF(counts, 0) != 4 || getF(counts, 1) != 0 || getF(counts, 2) != 4) bad++;
    bad += guardDamage(dBuf, m * d) + guardDamage(cBuf, m);
    expect<i32>(bad).toBe(0);
    heap.free(cBuf); heap.free(dBuf); heap.free(wBuf); heap.free(xBuf);
  });

  it("the mean of constant rows is that constant", () => {
    reseed(24);
    const CN: i32[] = [1, 3, 7, 16, 17, 65, 130];
    let inexact = 0, outside = 0, worstUlps = 0;
    for (let ni = 0; ni < CN.length; ni++) {
      const n = CN[ni], d = 17;
      for (let u = 0; u < 2; u++) {
        const MS: i32[] = [1, 2, 5, n];
        for (let mi = 0; mi < MS.length; mi++) {
          const m = MS[mi];
          if (m > n || (!u && n % m != 0)) continue;
          const xBuf = allocGuarded(n * d), x = inner(xBuf);
          const dBuf = allocGuarded(m * d), dst = inner(dBuf);
          const col = new Float32Array(d);
          // Column c holds one constant: dyadic ones (sums exact) in even columns, arbitrary ones in odd.
          for (let c = 0; c < d; c++) col[c] = c % 2 == 0 ? <f32>(c - 8) * 0.375 : rnd() * 10;
          for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) setF(x, i * d + c, col[c]);
          segmentMeans(x, d, n, d, m, u, 0, 1, 0, 0, 0, dst, 0, 0, m);
          for (let j = 0; j < m; j++) {
            const len = segLen(j, n, m, u);
            for (let c = 0; c < d; c++) {
              const got = getF(dst, j * d + c);
              const ulps = abs<i32>(reinterpret<i32>(got) - reinterpret<i32>(col[c]));
              if (c % 2 == 0) {
                if (ulps != 0) inexact++;
              } else {
                // A sequential f32 sum of len equal terms and one division: relative error at most
                // (len + 1)·2⁻²⁴ (and at most 1 ulp for len ≤ 2).
                const rel = Math.abs(<f64>got - <f64>col[c]) / Math.abs(<f64>col[c]);
                if (len <= 2 ? ulps > 1 : rel > <f64>(len + 1) * 5.960464477539063e-8) outside++;
              }
              worstUlps = max(worstUlps, ulps);
            }
          }
          expect<i32>(guardDamage(dBuf, m * d)).toBe(0);
          heap.free(dBuf); heap.free(xBuf);
        }
      }
    }
    expect<i32>(inexact).toBe(0, "dyadic constants are exact");
    expect<i32>(outside).toBe(0, "arbitrary constants within the rounding bound of an f32 sum");
    trace("landmarks: worst error / (Σ|x|/div), worst ulps of constant means", 2, worstScaledErr, <f64>worstUlps);
  });
});

describe("segmentMeans with a row stride and segment ranges", () => {
  it("rows ld > d apart, computed in two ranges, give the same bits as contiguous rows in one call", () => {
    reseed(77);
    let bad = 0;
    const CASES: i32[][] = [[50, 7, 8, 0, 6], [64, 5, 16, 0, 0], [37, 4, 5, 1, 0], [10, 13, 3, 1, 2]];
    for (let ci = 0; ci < CASES.length; ci++) {
      const n = CASES[ci][0], d = CASES[ci][1], m = CASES[ci][2], uneven = CASES[ci][3], pad = CASES[ci][4];
      const ld = d * 3 + 1;
      const xc = allocF(n * d), xsBuf = allocGuarded(n * ld), xs = inner(xsBuf);
      const w = allocF(n);
      for (let i = 0; i < n; i++) {
        setF(w, i, rnd01() < 0.3 ? <f32>0 : <f32>1);
        for (let c = 0; c < d; c++) { const v = rnd(); setF(xc, i * d + c, v); setF(xs, i * ld + c, v); }
      }
      for (let mm = 0; mm < 2; mm++) {
        const a = allocF(m * d), b = allocF(m * d), ca = allocF(m), cb = allocF(m);
        segmentMeans(xc, d, n, d, m, uneven, pad, 0.5, w, mm, 1e-8, a, ca, 0, m);
        const half = m / 2;
        segmentMeans(xs, ld, n, d, m, uneven, pad, 0.5, w, mm, 1e-8, b, cb, 0, half);
        segmentMeans(xs, ld, n, d, m, uneven, pad, 0.5, w, mm, 1e-8, b, cb, half, m);
        for (let i = 0; i < m * d; i++) if (reinterpret<u32>(getF(a, i)) != reinterpret<u32>(getF(b, i))) bad++;
        for (let j = 0; j < m; j++) if (getF(ca, j) != getF(cb, j)) bad++;
      }
      bad += guardDamage(xsBuf, n * ld);
    }
    expect<i32>(bad).toBe(0);
  });
});
