// flashRows (the fused exact attention) against a float64 reference of
//   out = softmax(scale·q·kᵀ + bias, fills)·V over `pad` zero keys then the n keys,
// for row counts, key counts and head dimensions off every block size (4-row tiles, 8-key panels,
// FLASH_ROWS, FLASH_KEYS, d mod 4 and mod 8), pad keys (more than a key block too), the key bias
// with −1e9 and −3.4028235e38 entries, key fills, whole masked rows (uniform average) and every
// key masked. Every output is also computed with the rows split over two calls (the split a
// worker pool makes), which must give the same bits. Inputs sit between NaN sentinels, so a read
// outside them poisons a result, and the output's guards and row padding must stay untouched.
import { flashRows, flashWorkBytes } from "../../assembly/flash";
import { gemmWorkBytes, packB } from "../../assembly/gemm";
import { FLASH_KEYS, FLASH_ROWS } from "../../assembly/abi.generated";
import {
  allocF, allocGuarded, inner, guardDamage, isSentinel, rnd, rnd01, reseed, getF, setF, str,
} from "./helpers.include";

const NEG_MAX: f32 = -3.4028234663852886e38;

const BIAS: i32 = 1;     // key bias: random in [-1, 1), some keys −1e9 or −3.4028235e38 (key 0 never)
const KEEP: i32 = 2;     // key fills (lucidrains): some keys filled (key 0 never)
const ROWKEEP: i32 = 4;  // whole rows filled (needs KEEP: rowKeep comes with the keep vector)
const ALLKEYS: i32 = 8;  // every key filled: every row is the uniform average

let worstRel: f64 = 0;
// Tolerance relative to Σ p·|v| / Σ p: f32 logits of size L carry rounding errors of about L·1e-7,
// which exp turns into relative errors of the weights of the same size (loosened for the
// large-logit sweep).
let tolRel: f64 = 2e-5;

/** Runs one case; returns the number of failures. */
function runCase(rows: i32, n: i32, d: i32, pad: i32, range: f32, opts: i32): i32 {
  const ldq = d + 3, ldo = d + 2;
  const np = pad + n;
  const qBuf = allocGuarded(rows * ldq), kBuf = allocGuarded(n * ldq), vBuf = allocGuarded(n * ldq);
  const q = inner(qBuf), k = inner(kBuf), v = inner(vBuf);
  for (let i = 0; i < rows; i++) for (let c = 0; c < d; c++) setF(q, i * ldq + c, rnd() * range);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) { setF(k, i * ldq + c, rnd() * range); setF(v, i * ldq + c, rnd()); }
  }
  let biasBuf: usize = 0, keepBuf: usize = 0, rowBuf: usize = 0;
  let bias: usize = 0, keep: usize = 0, rowKeep: usize = 0;
  if (opts & BIAS) {
    biasBuf = allocGuarded(np); bias = inner(biasBuf);
    for (let j = 0; j < np; j++) {
      const u = rnd01();
      // Pad keys carry the masked bias, as the styles give them.
      setF(bias, j, j < pad ? (u < 0.5 ? <f32>-1e9 : NEG_MAX) : j > pad && u < 0.15 ? <f32>-1e9 : j > pad && u < 0.3 ? NEG_MAX : rnd());
    }
  }
  if (opts & (KEEP | ALLKEYS)) {
    keepBuf = allocGuarded(np); keep = inner(keepBuf);
    for (let j = 0; j < np; j++) setF(keep, j, (opts & ALLKEYS) || j < pad || (j > pad && rnd01() < 0.3) ? 0 : 1);
    if (opts & ROWKEEP) {
      rowBuf = allocGuarded(rows); rowKeep = inner(rowBuf);
      for (let i = 0; i < rows; i++) setF(rowKeep, i, rnd01() < 0.3 ? 0 : 1);
      setF(rowKeep, rows - 1, 0);
    }
  }
  const scale: f32 = <f32>(1.0 / Math.sqrt(<f64>d));
  const kt = allocF(<i32>(gemmWorkBytes(n, d) >> 2));
  const vp = allocF(<i32>(gemmWorkBytes(d, n) >> 2));
  packB(n, d, k, ldq, 1, kt);
  packB(d, n, v, ldq, 0, vp);
  const work = allocF(<i32>(flashWorkBytes(d) >> 2));
  const outBuf = allocGuarded(rows * ldo), out = inner(outBuf);
  flashRows(rows, n, d, pad, q, ldq, kt, vp, scale, bias, keep, rowKeep, out, ldo, work);
  // The same rows in two calls.
  const splitBuf = allocGuarded(rows * ldo), split = inner(splitBuf);
  const a = rows > 1 ? 1 + (rows * 3 + 1) / 7 : 1;
  flashRows(a, n, d, pad, q, ldq, kt, vp, scale, bias, keep, rowKeep, split, ldo, work);
  flashRows(rows - a, n, d, pad, q + (<usize>(a * ldq) << 2), ldq, kt, vp, scale, bias, keep,
    rowKeep ? rowKeep + (<usize>a << 2) : 0, split + (<usize>(a * ldo) << 2), ldo, work);

  let bad = 0;
  const p = new Float64Array(np);
  for (let i = 0; i < rows; i++) {
    const rowFilled = rowKeep != 0 && getF(rowKeep, i) == 0;
    let m: f64 = -Infinity;
    for (let j = 0; j < np; j++) {
      let s: f64 = 0;
      if (j >= pad) for (let c = 0; c < d; c++) s += <f64>getF(q, i * ldq + c) * <f64>getF(k, (j - pad) * ldq + c);
      let y: f32 = <f32>s * scale;
      if (bias) y = y + getF(bias, j);
      if (rowFilled || (keep != 0 && getF(keep, j) == 0)) y = NEG_MAX;
      p[j] = <f64>y;
      m = Math.max(m, p[j]);
    }
    let sum: f64 = 0;
    for (let j = 0; j < np; j++) { p[j] = Math.exp(p[j] - m); sum += p[j]; }
    for (let c = 0; c < d; c++) {
      let ref: f64 = 0, mag: f64 = 0;
      for (let j = pad; j < np; j++) {
        const t = p[j] * <f64>getF(v, (j - pad) * ldq + c);
        ref += t; mag += Math.abs(t);
      }
      ref /= sum; mag /= sum;
      const got = <f64>getF(out, i * ldo + c);
      // Errors scale with the terms summed (Σ p·|v|), not with their (possibly cancelling) sum.
      if (!(Math.abs(got - ref) <= tolRel * mag + 1e-7)) {
        if (bad < 3) trace("flash mismatch (n·1000 + d, i, c, got, ref) " + label(rows, n, d, pad, opts), 5, n * 1000 + d, i, c, got, ref);
        bad++;
      } else if (mag > 0 && tolRel <= 2e-5) {
        worstRel = Math.max(worstRel, Math.abs(got - ref) / mag);
      }
      if (load<u32>(split + (<usize>(i * ldo + c) << 2)) != load<u32>(out + (<usize>(i * ldo + c) << 2))) {
        if (bad < 3) trace("flash split differs (rows, a, i, c)", 4, rows, a, i, c);
        bad++;
      }
    }
    for (let c = d; c < ldo; c++) {
      if (!isSentinel(out + (<usize>(i * ldo + c) << 2)) || !isSentinel(split + (<usize>(i * ldo + c) << 2))) bad++;
    }
  }
  bad += guardDamage(outBuf, rows * ldo) + guardDamage(splitBuf, rows * ldo);
  bad += guardDamage(qBuf, rows * ldq) + guardDamage(kBuf, n * ldq) + guardDamage(vBuf, n * ldq);
  if (biasBuf) { bad += guardDamage(biasBuf, np); heap.free(biasBuf); }
  if (keepBuf) { bad += guardDamage(keepBuf, np); heap.free(keepBuf); }
  if (rowBuf) { bad += guardDamage(rowBuf, rows); heap.free(rowBuf); }
  heap.free(qBuf); heap.free(kBuf); heap.free(vBuf); heap.free(kt); heap.free(vp); heap.free(work);
  heap.free(outBuf); heap.free(splitBuf);
  return bad;
}

function label(rows: i32, n: i32, d: i32, pad: i32, opts: i32): string {
  return "rows=" + str(rows) + " n=" + str(n) + " d=" + str(d) + " pad=" + str(pad) + " opts=" + str(opts);
}

const ROWS: i32[] = [1, 3, 4, 5, 17, 64, 65, 130];
const KEYS: i32[] = [1, 7, 8, 9, 63, 64, 65, 200, FLASH_KEYS - 1, FLASH_KEYS + 9, 2 * FLASH_KEYS + 3];
const DIMS: i32[] = [1, 3, 4, 5, 8, 9, 16, 33, 64];

function sweep(range: f32, opts: i32, pad: i32): void {
  for (let ri = 0; ri < ROWS.length; ri++) {
    for (let ni = 0; ni < KEYS.length; ni++) {
      const d = DIMS[(ri * 3 + ni) % DIMS.length];
      const rows = ROWS[ri], n = KEYS[ni];
      expect<i32>(runCase(rows, n, d, pad, range, opts)).toBe(0, label(rows, n, d, pad, opts));
    }
  }
}

describe("flashRows", () => {
  it("block sizes are multiples of the tiles", () => {
    expect<i32>(FLASH_ROWS & 3).toBe(0);
    expect<i32>(FLASH_KEYS & 7).toBe(0);
  });

  it("matches the reference over rows × keys × d off every block size, no mask", () => {
    reseed(21);
    sweep(1, 0, 0);
    sweep(3, 0, 0);
  });

  it("every head dimension 1 … 17 and 64, 65", () => {
    reseed(22);
    for (let d = 1; d <= 66; d++) {
      if (d > 17 && d < 64) continue;
      expect<i32>(runCase(9, 70, d, 0, 2, 0)).toBe(0, label(9, 70, d, 0, 0));
      expect<i32>(runCase(6, 13, d, 2, 2, BIAS)).toBe(0, label(6, 13, d, 2, BIAS));
    }
  });

  it("pad zero keys in front (fewer and more than a key block), with the key bias", () => {
    reseed(23);
    sweep(2, BIAS, 3);
    sweep(2, BIAS, FLASH_KEYS + 5);
  });

  it("key bias with −1e9 and −3.4028235e38 entries", () => {
    reseed(24);
    sweep(2, BIAS, 0);
  });

  it("key fills, and whole rows filled (the uniform average over pad + n keys)", () => {
    reseed(25);
    sweep(2, KEEP, 0);
    sweep(2, KEEP | ROWKEEP, 0);
    sweep(2, KEEP | ROWKEEP, 7);
  });

  it("every key filled: every row the uniform average", () => {
    reseed(26);
    sweep(2, ALLKEYS, 0);
    sweep(2, ALLKEYS, 5);
  });

  it("large logits (exp underflows for most keys)", () => {
    reseed(27);
    tolRel = 2e-4;
    sweep(6, 0, 0);
    sweep(6, BIAS, 4);
    tolRel = 2e-5;
    trace("flash worst error / (Σ p·|v| / Σ p)", 1, worstRel);
  });
});
