// convResidualAdd against a scalar f64 loop: out[i][c] += Σ_t w[t]·keep[r]·v[r][c],
// r = i + t − ⌊ks/2⌋, zero outside 0..n−1. out starts with random values (the kernel accumulates).
// v, keep and w sit between NaN sentinels (a read outside their ranges poisons a result); out sits
// between sentinels (a write outside n×d is seen).
import { convResidualAdd } from "../../assembly/conv";
import { allocF, allocGuarded, inner, guardDamage, rnd, rnd01, reseed, getF, setF, str, isSentinel } from "./helpers.include";

const KS: i32[] = [1, 3, 5, 7];
const NS: i32[] = [1, 2, 3, 5, 17];
const DS: i32[] = [1, 3, 4, 5, 16, 17];

const KEEP_NONE: i32 = 0;
const KEEP_MASK: i32 = 1;   // 0/1
const KEEP_FRAC: i32 = 2;   // arbitrary values in [0, 1)

function runCase(n: i32, d: i32, ks: i32, keepMode: i32): i32 {
  const vBuf = allocGuarded(n * d), v = inner(vBuf);
  const oBuf = allocGuarded(n * d), out = inner(oBuf);
  const wBuf = allocGuarded(ks), w = inner(wBuf);
  let kBuf: usize = 0, keep: usize = 0;
  for (let i = 0; i < n * d; i++) { setF(v, i, rnd()); setF(out, i, rnd() * 3); }
  for (let t = 0; t < ks; t++) setF(w, t, rnd());
  if (keepMode != KEEP_NONE) {
    kBuf = allocGuarded(n); keep = inner(kBuf);
    for (let i = 0; i < n; i++) setF(keep, i, keepMode == KEEP_MASK ? (rnd01() < 0.3 ? <f32>0 : <f32>1) : rnd01());
  }
  const out0 = allocF(n * d);
  memory.copy(out0, out, <usize>(n * d) << 2);

  convResidualAdd(v, d, n, d, w, ks, keep, out, d, 0, n);

  let bad = 0;
  const half = ks >> 1;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) {
      const o0 = <f64>getF(out0, i * d + c);
      let s: f64 = 0, mag: f64 = Math.abs(o0);
      for (let t = 0; t < ks; t++) {
        const r = i + t - half;
        if (r < 0 || r >= n) continue;
        const kv: f64 = keep ? <f64>getF(keep, r) : 1.0;
        const term = <f64>getF(w, t) * kv * <f64>getF(v, r * d + c);
        s += term; mag += Math.abs(term);
      }
      const ref = o0 + s;
      const got = <f64>getF(out, i * d + c);
      if (!(Math.abs(got - ref) <= <f64>(ks + 2) * 1.2e-7 * mag + 1e-30)) {
        if (bad < 3) trace("conv mismatch (n, d, ks, i, c)", 5, n, d, ks, i, c);
        bad++;
      }
    }
  }
  bad += guardDamage(oBuf, n * d) + guardDamage(vBuf, n * d) + guardDamage(wBuf, ks);
  if (kBuf) { bad += guardDamage(kBuf, n); heap.free(kBuf); }
  heap.free(out0); heap.free(wBuf); heap.free(oBuf); heap.free(vBuf);
  return bad;
}

function sweep(keepMode: i32): void {
  for (let ki = 0; ki < KS.length; ki++) {
    for (let ni = 0; ni < NS.length; ni++) {
      for (let di = 0; di < DS.length; di++) {
        const ks = KS[ki], n = NS[ni], d = DS[di];
        expect<i32>(runCase(n, d, ks, keepMode)).toBe(0,
          "n=" + str(n) + " d=" + str(d) + " ks=" + str(ks) + " keep=" + str(keepMode));
      }
    }
  }
}

describe("convResidualAdd", () => {
  it("adds the depthwise conv (zero outside the rows) to out", () => {
    reseed(41);
    sweep(KEEP_NONE);
  });

  it("applies a 0/1 keep vector to the conv input", () => {
    reseed(42);
    sweep(KEEP_MASK);
  });

  it("applies a fractional keep vector to the conv input", () => {
    reseed(43);
    sweep(KEEP_FRAC);
  });

  it("handles longer sequences and wider rows", () => {
    reseed(44);
    expect<i32>(runCase(130, 65, 7, KEEP_MASK)).toBe(0, "130x65 ks=7");
    expect<i32>(runCase(64, 64, 3, KEEP_NONE)).toBe(0, "64x64 ks=3");
    expect<i32>(runCase(33, 7, 33, KEEP_FRAC)).toBe(0, "33x7 ks=33");
    expect<i32>(runCase(4, 5, 9, KEEP_NONE)).toBe(0, "kernel longer than the sequence");
  });

  it("ks = 1 with unit weight adds keep·v exactly", () => {
    reseed(45);
    const n = 9, d = 6;
    const v = allocF(n * d), out = allocF(n * d), w = allocF(1), keep = allocF(n);
    setF(w, 0, 1);
    for (let i = 0; i < n; i++) setF(keep, i, i % 3 == 0 ? <f32>0 : <f32>1);
    for (let i = 0; i < n * d; i++) { setF(v, i, rnd()); setF(out, i, 0); }
    convResidualAdd(v, d, n, d, w, 1, keep, out, d, 0, n);
    let bad = 0;
    for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) {
      if (getF(out, i * d + c) != (i % 3 == 0 ? <f32>0 : getF(v, i * d + c))) bad++;
    }
    expect<i32>(bad).toBe(0);
    heap.free(keep); heap.free(w); heap.free(out); heap.free(v);
  });
});

describe("convResidualAdd with row strides and row ranges", () => {
  it("strided v and out, rows in three ranges, give the same bits as contiguous rows in one call", () => {
    reseed(78);
    let bad = 0;
    const CASES: i32[][] = [[9, 6, 3], [40, 7, 65], [33, 4, 5], [5, 1, 9]];
    for (let ci = 0; ci < CASES.length; ci++) {
      const n = CASES[ci][0], d = CASES[ci][1], ks = CASES[ci][2];
      const ldv = 2 * d + 3, ldo = 3 * d;
      const v = allocF(n * d), out = allocF(n * d), w = allocF(ks), keep = allocF(n);
      const vsBuf = allocGuarded(n * ldv), vs = inner(vsBuf), osBuf = allocGuarded(n * ldo), os = inner(osBuf);
      for (let t = 0; t < ks; t++) setF(w, t, rnd());
      for (let i = 0; i < n; i++) {
        setF(keep, i, rnd01() < 0.3 ? <f32>0 : <f32>1);
        for (let c = 0; c < d; c++) {
          const a = rnd(), o = rnd();
          setF(v, i * d + c, a); setF(vs, i * ldv + c, a);
          setF(out, i * d + c, o); setF(os, i * ldo + c, o);
        }
      }
      convResidualAdd(v, d, n, d, w, ks, keep, out, d, 0, n);
      const r1 = n / 3, r2 = (2 * n) / 3;
      convResidualAdd(vs, ldv, n, d, w, ks, keep, os, ldo, 0, r1);
      convResidualAdd(vs, ldv, n, d, w, ks, keep, os, ldo, r1, r2);
      convResidualAdd(vs, ldv, n, d, w, ks, keep, os, ldo, r2, n);
      for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) {
        if (reinterpret<u32>(getF(out, i * d + c)) != reinterpret<u32>(getF(os, i * ldo + c))) bad++;
      }
      // The stride padding of out keeps its sentinels: nothing outside the n×d block is written.
      for (let i = 0; i < n; i++) for (let c = d; c < ldo; c++) if (!isSentinel(os + (<usize>(i * ldo + c) << 2))) bad++;
      bad += guardDamage(osBuf, n * ldo) + guardDamage(vsBuf, n * ldv);
    }
    expect<i32>(bad).toBe(0);
  });
});
