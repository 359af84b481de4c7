// softmaxRows against a scalar reference: logits formed in f32 exactly as the contract states
// (scale·x, + colBias, masked entries −3.4028235e38, minus the row max), then exp and the
// normalisation in f64 with Math.exp.
// x sits in a buffer of NaN sentinels (GUARD floats before, GUARD after, and every row's padding
// between cols and ld), and the bias / keep vectors carry NaN guards too, so a write outside the
// rows×cols block, or a read of the padding that reaches a result, shows up as a failure.
import { softmaxRows } from "../../assembly/softmax";
import {
  GUARD, allocF, allocGuarded, inner, guardDamage, isSentinel, rnd, rnd01, reseed, getF, setF, close, str,
} from "./helpers.include";

const NEG_MAX: f32 = -3.4028234663852886e38;
const SIZES: i32[] = [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 63, 64, 65, 130];

// Options of one case.
const BIAS: i32 = 1;     // colBias: random in [-2, 2) with some −1e9 and −3.4028235e38 entries
const ROWKEEP: i32 = 2;  // rowKeep with some rows filled
const COLKEEP: i32 = 4;  // colKeep with some columns filled
const ALLCOLS: i32 = 8;  // colKeep fills every column (every row becomes uniform)

let worstRel: f64 = 0;
let worstRowSum: f64 = 0;

/** Runs one case; returns the number of failures. */
function runCase(rows: i32, cols: i32, pad: i32, scale: f32, range: f32, opts: i32): i32 {
  const ld = cols + pad;
  const total = rows * ld;
  const xBuf = allocGuarded(total);
  const x = inner(xBuf);
  const x0 = allocF(total);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = rnd() * range;
      setF(x, i * ld + j, v);
      setF(x0, i * ld + j, v);
    }
  }
  let biasBuf: usize = 0, rowBuf: usize = 0, colBuf: usize = 0;
  let bias: usize = 0, rowKeep: usize = 0, colKeep: usize = 0;
  if (opts & BIAS) {
    biasBuf = allocGuarded(cols); bias = inner(biasBuf);
    for (let j = 0; j < cols; j++) {
      const u = rnd01();
      setF(bias, j, u < 0.15 ? <f32>-1e9 : u < 0.3 ? NEG_MAX : rnd() * 2);
    }
  }
  if (opts & ROWKEEP) {
    rowBuf = allocGuarded(rows); rowKeep = inner(rowBuf);
    for (let i = 0; i < rows; i++) setF(rowKeep, i, rnd01() < 0.3 ? 0 : 1);
    // The last row filled, the first kept (for rows > 1), so both paths always run.
    setF(rowKeep, rows - 1, 0);
    if (rows > 1) setF(rowKeep, 0, 1);
  }
  if (opts & (COLKEEP | ALLCOLS)) {
    colBuf = allocGuarded(cols); colKeep = inner(colBuf);
    for (let j = 0; j < cols; j++) setF(colKeep, j, (opts & ALLCOLS) || rnd01() < 0.3 ? 0 : 1);
    if (!(opts & ALLCOLS) && cols > 1) setF(colKeep, cols - 1, 0);
  }

  softmaxRows(x, rows, cols, ld, scale, bias, rowKeep, colKeep);

  let bad = 0;
  const y = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    // Reference logits, in f32 as the kernel (and torch) forms them.
    const rowFilled = rowKeep != 0 && getF(rowKeep, i) == 0;
    let m: f32 = NEG_MAX;
    const yf = new Float32Array(cols);
    for (let j = 0; j < cols; j++) {
      let v: f32 = getF(x0, i * ld + j) * scale;
      if (bias) v = v + getF(bias, j);
      if (rowFilled || (colKeep != 0 && getF(colKeep, j) == 0)) v = NEG_MAX;
      yf[j] = v;
      m = max(m, v);
    }
    let sum: f64 = 0;
    for (let j = 0; j < cols; j++) {
      const dj: f32 = yf[j] - m;
      y[j] = Math.exp(<f64>dj);
      sum += y[j];
    }
    let rowSum: f64 = 0;
    for (let j = 0; j < cols; j++) {
      const ref = y[j] / sum;
      const got = <f64>getF(x, i * ld + j);
      rowSum += got;
      if (!close(got, ref, 1e-6, 1e-7)) {
        if (bad < 3) trace("softmax mismatch (cols, i, j, got, ref)", 5, cols, i, j, got, ref);
        bad++;
      } else if (Math.abs(ref) > 1e-7) {
        worstRel = Math.max(worstRel, Math.abs(got - ref) / ref);
      }
    }
    if (cols > 0) worstRowSum = Math.max(worstRowSum, Math.abs(rowSum - 1));
    if (cols > 0 && !(Math.abs(rowSum - 1) <= 1e-6)) {
      if (bad < 3) trace("softmax row sum (rows, cols, i, sum)", 4, rows, cols, i, rowSum);
      bad++;
    }
    for (let j = cols; j < ld; j++) if (!isSentinel(x + (<usize>(i * ld + j) << 2))) bad++;
  }
  bad += guardDamage(xBuf, total);
  if (biasBuf) { bad += guardDamage(biasBuf, cols); heap.free(biasBuf); }
  if (rowBuf) { bad += guardDamage(rowBuf, rows); heap.free(rowBuf); }
  if (colBuf) { bad += guardDamage(colBuf, cols); heap.free(colBuf); }
  heap.free(x0); heap.free(xBuf);
  return bad;
}

function label(rows: i32, cols: i32, pad: i32, scale: f32, range: f32, opts: i32): string {
  return "rows=" + str(rows) + " cols=" + str(cols) + " ld=" + str(cols + pad) + " scale=" + scale.toString() +
    " range=" + range.toString() + " opts=" + str(opts);
}

function sweep(scale: f32, range: f32, opts: i32): void {
  for (let ri = 0; ri < SIZES.length; ri++) {
    for (let ci = 0; ci < SIZES.length; ci++) {
      const rows = SIZES[ri], cols = SIZES[ci];
      const pad = 1 + (ri + ci) % 5;
      expect<i32>(runCase(rows, cols, pad, scale, range, opts)).toBe(0, label(rows, cols, pad, scale, range, opts));
    }
  }
}

describe("softmaxRows", () => {
  it("matches the reference on all rows×cols of the sizes (plain, ld > cols)", () => {
    reseed(11);
    sweep(1, 4, 0);
  });

  it("applies the scale, with logits spanning ±80 (exp underflows)", () => {
    reseed(12);
    sweep(0.125, 80, 0);
    sweep(1, 80, 0);
    sweep(2.5, 40, 0);
  });

  it("adds colBias, including −1e9 and −3.4028235e38 entries", () => {
    reseed(13);
    sweep(1, 4, BIAS);
    sweep(0.35355339, 80, BIAS);
  });

  it("makes rows with rowKeep = 0 uniform 1/cols", () => {
    reseed(14);
    sweep(1, 80, ROWKEEP);
    // Every row filled: each entry is exactly f32(1/cols).
    const rows = 5, cols = 17, ld = 20;
    const x = allocF(rows * ld), keep = allocF(rows);
    for (let i = 0; i < rows * ld; i++) setF(x, i, rnd() * 50);
    for (let i = 0; i < rows; i++) setF(keep, i, 0);
    softmaxRows(x, rows, cols, ld, 1, 0, keep, 0);
    let off = 0;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) if (getF(x, i * ld + j) != <f32>1 / <f32>cols) off++;
    expect<i32>(off).toBe(0, "uniform rows");
    heap.free(keep); heap.free(x);
  });

  it("gives exactly 0 at columns with colKeep = 0", () => {
    reseed(15);
    sweep(1, 80, COLKEEP);
    // Direct check of the zeros (the tolerance of the sweep would accept 1e-8).
    const rows = 3, cols = 15, ld = 16;
    const x = allocF(rows * ld), keep = allocF(cols);
    for (let i = 0; i < rows * ld; i++) setF(x, i, rnd() * 3);
    for (let j = 0; j < cols; j++) setF(keep, j, j % 3 == 1 ? 0 : 1);
    softmaxRows(x, rows, cols, ld, 1, 0, 0, keep);
    let nonzero = 0;
    for (let i = 0; i < rows; i++) for (let j = 1; j < cols; j += 3) if (getF(x, i * ld + j) != 0) nonzero++;
    expect<i32>(nonzero).toBe(0, "filled columns");
    heap.free(keep); heap.free(x);
  });

  it("makes every row uniform when colKeep fills all columns", () => {
    reseed(16);
    for (let ci = 0; ci < SIZES.length; ci++) {
      const cols = SIZES[ci];
      expect<i32>(runCase(3, cols, 3, 1, 80, ALLCOLS)).toBe(0, "cols=" + str(cols));
    }
  });

  it("combines scale, colBias, rowKeep and colKeep", () => {
    reseed(17);
    sweep(0.25, 80, BIAS | ROWKEEP | COLKEEP);
    sweep(1, 2, BIAS | COLKEEP);
  });

  it("handles ld = cols, a single row, and rows = 0 / cols = 0 (nothing written)", () => {
    reseed(18);
    for (let ci = 0; ci < SIZES.length; ci++) {
      expect<i32>(runCase(4, SIZES[ci], 0, 1, 10, BIAS)).toBe(0, "ld=cols cols=" + str(SIZES[ci]));
      expect<i32>(runCase(1, SIZES[ci], 2, 1, 10, COLKEEP)).toBe(0, "one row cols=" + str(SIZES[ci]));
    }
    expect<i32>(runCase(0, 7, 1, 1, 1, 0)).toBe(0, "rows=0");
    expect<i32>(runCase(3, 0, 2, 1, 1, 0)).toBe(0, "cols=0");
    trace("softmax worst relative error, worst |row sum − 1|", 2, worstRel, worstRowSum);
  });
});
