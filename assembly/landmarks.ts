// Landmarks: means of contiguous row segments (Nyströmformer §3, "segment-means").
//
// x is n×d row-major (row stride d), dst is m×d. Segment j covers rows [start_j, start_j + len_j):
//  - equal segments (uneven = 0): len = n / m (the caller guarantees m divides n);
//  - uneven = 1: s = ⌊n/m⌋, the first (s+1)·m − n segments hold s rows, the rest s+1
//    (the authors' T2T-ViT code); requires m ≤ n.
// Without weights: dst_j = Σ rows / len_j (torch mean).
// With weights (f32 vector of n, the lucidrains masked mean; x already multiplied by the mask):
//   dst_j = Σ rows / (Σ weights + eps), and counts_j (if counts ≠ 0) = Σ weights of the segment.
// dst must not overlap x.
import { loadPartial, storePartial } from './util';

// @ts-ignore: decorator
@inline export function segmentStart(j: i32, n: i32, m: i32, uneven: i32): i32 {
  if (!uneven) return j * (n / m);
  const s = n / m;
  const short = (s + 1) * m - n;
  return j < short ? j * s : short * s + (j - short) * (s + 1);
}

export function segmentMeans(x: usize, n: i32, d: i32, m: i32, uneven: i32, weights: usize, eps: f32, dst: usize, counts: usize): void {
  const d4 = d & ~3;
  const tail = d - d4;
  const rowBytes = <usize>d << 2;
  for (let j = 0; j < m; j++) {
    const start = segmentStart(j, n, m, uneven);
    const end = segmentStart(j + 1, n, m, uneven);
    let divisor: f32;
    if (weights) {
      let wsum: f32 = 0;
      for (let i = start; i < end; i++) wsum += load<f32>(weights + (<usize>i << 2));
      if (counts) store<f32>(counts + (<usize>j << 2), wsum);
      divisor = wsum + eps;
    } else {
      divisor = <f32>(end - start);
    }
    const vdiv = f32x4.splat(divisor);
    const out = dst + <usize>j * rowBytes;
    let c = 0;
    for (; c < d4; c += 4) {
      let acc = f32x4.splat(0);
      let p = x + <usize>start * rowBytes + (<usize>c << 2);
      for (let i = start; i < end; i++, p += rowBytes) acc = f32x4.add(acc, v128.load(p));
      v128.store(out + (<usize>c << 2), f32x4.div(acc, vdiv));
    }
    if (tail) {
      let acc = f32x4.splat(0);
      let p = x + <usize>start * rowBytes + (<usize>c << 2);
      for (let i = start; i < end; i++, p += rowBytes) acc = f32x4.add(acc, loadPartial(p, tail));
      storePartial(out + (<usize>c << 2), f32x4.div(acc, vdiv), tail);
    }
  }
}
