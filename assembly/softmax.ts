// Row softmax with the scale, an additive key bias and keep-masks folded in (torch.softmax
// semantics: max-subtracted, exp, divided by the row sum).
//
// Layout: x is rows×cols, row stride ld floats (ld ≥ cols), updated in place.
// Per row i:  y_j = scale·x_ij + colBias_j, then y_j = −3.4028235e38 where rowKeep_i = 0 or
// colKeep_j = 0 (torch's masked_fill with −finfo.max), then x_ij = softmax(y)_j.
// colBias, rowKeep, colKeep are f32 vectors (cols, rows, cols) or 0 when absent.
// A row whose entries are all filled becomes uniform 1/cols, as torch gives.
// Tails (cols % 4) use partial loads/stores: nothing outside the rows×cols block is touched.
import { NEG_MAX, expv, loadPartial, storePartial } from './util';
import { enter, leave } from './profile';
import { PROF_SOFTMAX } from './abi.generated';

export function softmaxRows(x: usize, rows: i32, cols: i32, ld: i32, scale: f32, colBias: usize, rowKeep: usize, colKeep: usize): void {
  enter(PROF_SOFTMAX);
  softmaxRowsBody(x, rows, cols, ld, scale, colBias, rowKeep, colKeep);
  leave();
}

function softmaxRowsBody(x: usize, rows: i32, cols: i32, ld: i32, scale: f32, colBias: usize, rowKeep: usize, colKeep: usize): void {
  if (cols <= 0) return;
  const cols4 = cols & ~3;
  const tail = cols - cols4;
  const vscale = f32x4.splat(scale);
  const vneg = f32x4.splat(NEG_MAX);
  const vzero = f32x4.splat(0);
  for (let i = 0; i < rows; i++) {
    const row = x + (<usize>i * <usize>ld << 2);
    if (rowKeep && load<f32>(rowKeep + (<usize>i << 2)) == 0) {
      // Every entry filled with the same value: the softmax is uniform.
      const u = f32x4.splat(<f32>1.0 / <f32>cols);
      let j = 0;
      for (; j < cols4; j += 4) v128.store(row + (<usize>j << 2), u);
      if (tail) storePartial(row + (<usize>j << 2), u, tail);
      continue;
    }
    // Pass 1: logits in place, and their maximum.
    let vmax = vneg;
    let j = 0;
    for (; j < cols4; j += 4) {
      const off = <usize>j << 2;
      let y = f32x4.mul(v128.load(row + off), vscale);
      if (colBias) y = f32x4.add(y, v128.load(colBias + off));
      if (colKeep) y = v128.bitselect(vneg, y, f32x4.eq(v128.load(colKeep + off), vzero));
      v128.store(row + off, y);
      vmax = f32x4.pmax(vmax, y); // pmax is one maxps; inputs are never NaN (checked by the host)
    }
    if (tail) {
      const off = <usize>j << 2;
      let y = f32x4.mul(loadPartial(row + off, tail), vscale);
      if (colBias) y = f32x4.add(y, loadPartial(colBias + off, tail));
      if (colKeep) {
        // Lanes past the tail load as 0 and so read as "filled": harmless, they are NEG_MAX.
        y = v128.bitselect(vneg, y, f32x4.eq(loadPartial(colKeep + off, tail), vzero));
      }
      storePartial(row + off, y, tail);
      // Lanes past the tail must not raise the maximum.
      const lane = i32x4(0, 1, 2, 3);
      y = v128.bitselect(y, vneg, i32x4.lt_s(lane, i32x4.splat(tail)));
      vmax = f32x4.pmax(vmax, y); // pmax is one maxps; inputs are never NaN (checked by the host)
    }
    let m = max(max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)),
                max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
    const vm = f32x4.splat(m);
    // Pass 2: exp(y − max) and the row sum.
    let vsum = vzero;
    j = 0;
    for (; j < cols4; j += 4) {
      const off = <usize>j << 2;
      const e = expv(f32x4.sub(v128.load(row + off), vm));
      v128.store(row + off, e);
      vsum = f32x4.add(vsum, e);
    }
    let sum = f32x4.extract_lane(vsum, 0) + f32x4.extract_lane(vsum, 1) +
              (f32x4.extract_lane(vsum, 2) + f32x4.extract_lane(vsum, 3));
    if (tail) {
      const off = <usize>j << 2;
      const e = expv(f32x4.sub(loadPartial(row + off, tail), vm));
      storePartial(row + off, e, tail);
      sum += f32x4.extract_lane(e, 0);
      if (tail > 1) sum += f32x4.extract_lane(e, 1);
      if (tail > 2) sum += f32x4.extract_lane(e, 2);
    }
    // Pass 3: divide by the sum (the max entry contributes exp(0) = 1, so sum ≥ 1).
    const vinv = f32x4.splat(<f32>1.0 / sum);
    j = 0;
    for (; j < cols4; j += 4) {
      const off = <usize>j << 2;
      v128.store(row + off, f32x4.mul(v128.load(row + off), vinv));
    }
    if (tail) {
      const off = <usize>j << 2;
      storePartial(row + off, f32x4.mul(loadPartial(row + off, tail), vinv), tail);
    }
  }
}
