// util.ts: firstNonFinite, scaleColumns, and the inline helpers the kernels share
// (loadPartial / storePartial, expv, NEG_MAX). Buffers sit between NaN sentinels: the NaN just
// past `count` must not be reported by firstNonFinite, and no helper may write past its range.
import { firstNonFinite, scaleColumns, loadPartial, storePartial, expv, expvFast, NEG_MAX } from "../../assembly/util";
import {
  SENTINEL_BITS, allocF, allocGuarded, inner, guardDamage, isSentinel, rnd, rnd01, reseed, getF, setF, str,
} from "./helpers.include";

/** Finite values of every kind: ordinary, ±0, subnormal, the largest finite. */
function finiteValue(i: i32): f32 {
  switch (i % 7) {
    case 0: return rnd() * 100;
    case 1: return -0.0;
    case 2: return 1.4e-45;
    case 3: return -3.4028234663852886e38;
    case 4: return 3.4028234663852886e38;
    case 5: return -1.1754942e-38;
    default: return rnd();
  }
}

function fillFinite(p: usize, count: i32): void {
  for (let i = 0; i < count; i++) setF(p, i, finiteValue(i + rndOffset));
}
let rndOffset = 0;

const BAD: f32[] = [NaN, Infinity, -Infinity];
const LONG: i32[] = [31, 32, 33, 64, 65, 130, 1000, 1027];

describe("firstNonFinite", () => {
  it("returns −1 on finite data (count 0..17 and longer), ignoring the NaN just past count", () => {
    reseed(51);
    let bad = 0;
    for (let count = 0; count <= 17; count++) {
      for (rndOffset = 0; rndOffset < 7; rndOffset++) {
        const buf = allocGuarded(count), p = inner(buf);
        fillFinite(p, count);
        if (firstNonFinite(p, count) != -1) bad++;
        heap.free(buf);
      }
    }
    rndOffset = 0;
    for (let k = 0; k < LONG.length; k++) {
      const buf = allocGuarded(LONG[k]), p = inner(buf);
      fillFinite(p, LONG[k]);
      if (firstNonFinite(p, LONG[k]) != -1) bad++;
      heap.free(buf);
    }
    expect<i32>(bad).toBe(0);
  });

  it("names the exact index of a NaN, +Inf or −Inf at every position of small arrays", () => {
    reseed(52);
    let bad = 0;
    for (let count = 1; count <= 17; count++) {
      for (let pos = 0; pos < count; pos++) {
        for (let b = 0; b < BAD.length; b++) {
          const buf = allocGuarded(count), p = inner(buf);
          fillFinite(p, count);
          setF(p, pos, BAD[b]);
          if (firstNonFinite(p, count) != pos) {
            if (bad < 3) trace("firstNonFinite (count, pos, kind, got)", 4, count, pos, b, firstNonFinite(p, count));
            bad++;
          }
          // A second bad value later does not change the answer.
          if (pos + 1 < count) {
            setF(p, count - 1, BAD[(b + 1) % 3]);
            if (firstNonFinite(p, count) != pos) bad++;
          }
          // Counting only up to pos excludes it.
          if (firstNonFinite(p, pos) != -1) bad++;
          heap.free(buf);
        }
      }
    }
    expect<i32>(bad).toBe(0);
  });

  it("finds values in the tails and the middle of long arrays", () => {
    reseed(53);
    let bad = 0;
    for (let k = 0; k < LONG.length; k++) {
      const count = LONG[k];
      const positions: i32[] = [0, 1, 3, 4, count / 2, count - 5, count - 4, count - 3, count - 2, count - 1];
      for (let q = 0; q < positions.length; q++) {
        const pos = positions[q];
        for (let b = 0; b < BAD.length; b++) {
          const buf = allocGuarded(count), p = inner(buf);
          fillFinite(p, count);
          setF(p, pos, BAD[b]);
          if (firstNonFinite(p, count) != pos) bad++;
          heap.free(buf);
        }
      }
    }
    expect<i32>(bad).toBe(0);
  });

  it("reports NaNs with any payload and sign", () => {
    const PAYLOADS: u32[] = [0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fbfffff, 0xffffffff];
    let bad = 0;
    for (let k = 0; k < PAYLOADS.length; k++) {
      for (let pos = 0; pos < 9; pos++) {
        const p = allocF(9);
        for (let i = 0; i < 9; i++) setF(p, i, <f32>i);
        store<u32>(p + (<usize>pos << 2), PAYLOADS[k]);
        if (firstNonFinite(p, 9) != pos) bad++;
        heap.free(p);
      }
    }
    expect<i32>(bad).toBe(0);
  });
});

function scaleCase(rows: i32, cols: i32, ld: i32): i32 {
  const count = rows * ld;
  const xBuf = allocGuarded(count), x = inner(xBuf);
  const wBuf = allocGuarded(cols), w = inner(wBuf);
  const x0 = allocF(count);
  for (let i = 0; i < count; i++) { const v = rnd() * 4; setF(x, i, v); setF(x0, i, v); }
  for (let j = 0; j < cols; j++) setF(w, j, rnd01() < 0.3 ? <f32>0 : rnd01() * 2);
  scaleColumns(x, rows, cols, ld, w);
  let bad = guardDamage(xBuf, count) + guardDamage(wBuf, cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < ld; j++) {
      // Columns past cols (the row stride's padding) are untouched.
      const want: f32 = j < cols ? getF(x0, i * ld + j) * getF(w, j) : getF(x0, i * ld + j);
      if (reinterpret<u32>(getF(x, i * ld + j)) != reinterpret<u32>(want)) bad++;
    }
  }
  heap.free(x0); heap.free(wBuf); heap.free(xBuf);
  return bad;
}

describe("scaleColumns", () => {
  it("multiplies column j by w[j] exactly, inside the rows×cols block only", () => {
    reseed(54);
    const RS: i32[] = [0, 1, 3, 5, 17];
    const CS: i32[] = [1, 2, 3, 4, 5, 7, 8, 17, 64, 65];
    for (let ri = 0; ri < RS.length; ri++) {
      for (let ci = 0; ci < CS.length; ci++) {
        for (let extra = 0; extra < 3; extra += 2) {
          const rows = RS[ri], cols = CS[ci];
          expect<i32>(scaleCase(rows, cols, cols + extra)).toBe(0, "rows=" + str(rows) + " cols=" + str(cols) + " ld=" + str(cols + extra));
        }
      }
    }
  });
});

describe("loadPartial / storePartial", () => {
  it("loadPartial reads count (0..3) lanes, the rest 0, and nothing past them", () => {
    let bad = 0;
    for (let count = 0; count <= 3; count++) {
      const buf = allocGuarded(count), p = inner(buf);
      for (let i = 0; i < count; i++) setF(p, i, <f32>(i + 1) * 1.5);
      const v = loadPartial(p, count);
      // The lane after the last one read is a NaN sentinel in memory; it must read as +0.
      for (let l = 0; l < 4; l++) {
        const bits = l == 0 ? i32x4.extract_lane(v, 0) : l == 1 ? i32x4.extract_lane(v, 1) : l == 2 ? i32x4.extract_lane(v, 2) : i32x4.extract_lane(v, 3);
        const want: u32 = l < count ? reinterpret<u32>(<f32>(l + 1) * 1.5) : 0;
        if (<u32>bits != want) bad++;
      }
      heap.free(buf);
    }
    expect<i32>(bad).toBe(0);
  });

  it("storePartial writes count (0..3) lanes and nothing past them", () => {
    let bad = 0;
    const v = f32x4(1.25, -2.5, 3.75, -5);
    for (let count = 0; count <= 3; count++) {
      const buf = allocGuarded(4), p = inner(buf);
      storePartial(p, v, count);
      for (let l = 0; l < 4; l++) {
        const q = p + (<usize>l << 2);
        if (l < count) { if (load<f32>(q) != <f32>(l == 0 ? 1.25 : l == 1 ? -2.5 : 3.75)) bad++; }
        else if (!isSentinel(q)) bad++;
      }
      bad += guardDamage(buf, 4);
      heap.free(buf);
    }
    expect<i32>(bad).toBe(0);
  });
});

/**
 * expv (or expvFast) against Math.exp on [−87.3, 88] and scaled copies of it, four lanes at a time:
 * the number of results past `tol` relative (the first three traced), the worst traced.
 */
function expSweepFailures(fast: bool, tol: f64): i32 {
  let worst: f64 = 0, bad = 0;
  for (let k = 0; k <= 40000; k++) {
    const x0: f32 = <f32>(-87.3 + 175.3 * <f64>k / 40000.0);
    const xs = f32x4(x0, x0 * 0.5, x0 * 0.01, -x0 * 1e-4);
    const v = fast ? expvFast(xs) : expv(xs);
    for (let l = 0; l < 4; l++) {
      const x: f64 = l == 0 ? <f64>x0 : l == 1 ? <f64>(x0 * 0.5) : l == 2 ? <f64>(x0 * <f32>0.01) : <f64>(-x0 * <f32>1e-4);
      const got: f64 = l == 0 ? <f64>f32x4.extract_lane(v, 0) : l == 1 ? <f64>f32x4.extract_lane(v, 1) : l == 2 ? <f64>f32x4.extract_lane(v, 2) : <f64>f32x4.extract_lane(v, 3);
      const ref = Math.exp(x);
      const rel = Math.abs(got - ref) / ref;
      worst = Math.max(worst, rel);
      if (!(rel <= tol)) { if (bad < 3) trace(fast ? "expvFast (x, got, ref)" : "expv (x, got, ref)", 3, x, got, ref); bad++; }
    }
  }
  trace(fast ? "expvFast worst relative error" : "expv worst relative error", 1, worst);
  return bad;
}

describe("expv and NEG_MAX", () => {
  it("NEG_MAX is −3.4028235e38, the most negative finite f32", () => {
    expect<u32>(reinterpret<u32>(NEG_MAX)).toBe(0xff7fffff);
  });

  it("expv matches Math.exp within 2e-7 relative on [−87.33, 88], and gives 0 below", () => {
    const bad = expSweepFailures(false, 2e-7);
    expect<i32>(bad).toBe(0);
    const under = expv(f32x4(-87.34, -100, -1e9, NEG_MAX));
    expect<bool>(v128.any_true(under)).toBe(false, "below −87.33 is +0");
    const zero = expv(f32x4.splat(0));
    expect<f32>(f32x4.extract_lane(zero, 0)).toBe(1, "exp(0) = 1");
  });

  it("expvFast matches Math.exp within 2.5e-7 relative on [−87.3, 88], is the subnormal e^x or 0 on [−88, −87.3], and 0 below", () => {
    const bad = expSweepFailures(true, 2.5e-7);
    expect<i32>(bad).toBe(0);
    // Below the normal range: e^x (< 2^−126) rounded, or 0; never negative.
    let badTiny = 0;
    for (let k = 0; k <= 2000; k++) {
      const x: f32 = <f32>(-88.0 + 0.7 * <f64>k / 2000.0);
      const got = <f64>f32x4.extract_lane(expvFast(f32x4.splat(x)), 0);
      const ref = Math.exp(<f64>x);
      if (!(got >= 0 && Math.abs(got - ref) <= (ref < 1.1754943508222875e-38 ? ref : 2.5e-7 * ref))) {
        if (badTiny < 3) trace("expvFast tiny (x, got, ref)", 3, <f64>x, got, ref);
        badTiny++;
      }
    }
    expect<i32>(badTiny).toBe(0);
    expect<bool>(v128.any_true(expvFast(f32x4(-88, -100, -1e9, NEG_MAX)))).toBe(false, "from −88 down it is +0");
    expect<bool>(v128.any_true(expvFast(f32x4.splat(-Infinity)))).toBe(false, "exp(−∞) = +0");
    expect<f32>(f32x4.extract_lane(expvFast(f32x4.splat(0)), 0)).toBe(1, "exp(0) = 1");
  });
});
