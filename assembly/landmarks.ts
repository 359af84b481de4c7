// Landmarks: means of contiguous row segments (Nyströmformer §3, "segment-means"), computed from
// the caller's rows directly: the scale, the mask and the zero rows of left padding are applied
// on the fly, so no scaled/masked/padded copy of Q or K is ever made.
//
// The sequence has np = n + pad rows: `pad` zero rows, then the n rows of x (n×d, row stride ld
// floats ≥ d), row i multiplied by weights[i] when weights ≠ 0 (an f32 vector of n). Segment j covers
// rows [start_j, start_j + len_j) of the np rows:
//  - equal segments (uneven = 0): len = np / m (the caller guarantees m divides np);
//  - uneven = 1: s = ⌊np/m⌋, the first (s+1)·m − np segments hold s rows, the rest s+1
//    (the authors' T2T-ViT code); requires m ≤ np.
// dst (m×d) receives scale · Σ rows / divisor, with divisor = len_j (torch mean), or with
// maskedMean = 1 divisor = Σ weights of the segment + eps (lucidrains' masked mean; pad rows have
// weight 0). counts_j (if counts ≠ 0) = Σ weights of the segment. Only segments j0 ≤ j < j1 are
// computed (rows j0..j1−1 of dst and counts are written; dst row stride d). dst must not overlap x.
import { loadPartial, storePartial } from './util';
import { enter, leave } from './profile';
import { PROF_LANDMARKS } from './abi.generated';

// @ts-ignore: decorator
@inline export function segmentStart(j: i32, n: i32, m: i32, uneven: i32): i32 {
  if (!uneven) return j * (n / m);
  const s = n / m;
  const short = (s + 1) * m - n;
  return j < short ? j * s : short * s + (j - short) * (s + 1);
}

export function segmentMeans(x: usize, ld: i32, n: i32, d: i32, m: i32, uneven: i32, pad: i32, scale: f32,
                             weights: usize, maskedMean: i32, eps: f32, dst: usize, counts: usize,
                             j0: i32, j1: i32): void {
  enter(PROF_LANDMARKS);
  segmentMeansBody(x, ld, n, d, m, uneven, pad, scale, weights, maskedMean, eps, dst, counts, j0, j1);
  leave();
}

function segmentMeansBody(x: usize, ld: i32, n: i32, d: i32, m: i32, uneven: i32, pad: i32, scale: f32,
                             weights: usize, maskedMean: i32, eps: f32, dst: usize, counts: usize,
                             j0: i32, j1: i32): void {
  const np = n + pad;
  const d4 = d & ~3;
  const tail = d - d4;
  const rowBytes = <usize>ld << 2;
  const dstBytes = <usize>d << 2;
  for (let j = j0; j < j1; j++) {
    // Rows of this segment that exist in x (the pad rows add zeros, and count in the length).
    const start = segmentStart(j, np, m, uneven);
    const end = segmentStart(j + 1, np, m, uneven);
    const r0 = max(start, pad) - pad;
    const r1 = end - pad;
    let wsum: f32 = 0;
    if (weights) for (let i = r0; i < r1; i++) wsum += load<f32>(weights + (<usize>i << 2));
    if (counts) store<f32>(counts + (<usize>j << 2), wsum);
    const divisor: f32 = maskedMean ? wsum + eps : <f32>(end - start);
    // Divide, then scale: the mean of equal rows stays exact (an empty masked segment with eps 0 gives 0).
    const vdiv = f32x4.splat(divisor != 0 ? divisor : 1);
    const vscale = f32x4.splat(scale);
    const out = dst + <usize>j * dstBytes;
    let c = 0;
    for (; c < d4; c += 4) {
      let acc = f32x4.splat(0);
      let p = x + <usize>r0 * rowBytes + (<usize>c << 2);
      if (weights) {
        for (let i = r0; i < r1; i++, p += rowBytes) {
          acc = f32x4.add(acc, f32x4.mul(v128.load(p), f32x4.splat(load<f32>(weights + (<usize>i << 2)))));
        }
      } else {
        for (let i = r0; i < r1; i++, p += rowBytes) acc = f32x4.add(acc, v128.load(p));
      }
      v128.store(out + (<usize>c << 2), f32x4.mul(f32x4.div(acc, vdiv), vscale));
    }
    if (tail) {
      let acc = f32x4.splat(0);
      let p = x + <usize>r0 * rowBytes + (<usize>c << 2);
      for (let i = r0; i < r1; i++, p += rowBytes) {
        let v = loadPartial(p, tail);
        if (weights) v = f32x4.mul(v, f32x4.splat(load<f32>(weights + (<usize>i << 2))));
        acc = f32x4.add(acc, v);
      }
      storePartial(out + (<usize>c << 2), f32x4.mul(f32x4.div(acc, vdiv), vscale), tail);
    }
  }
}
