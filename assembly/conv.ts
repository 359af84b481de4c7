// Depthwise convolution residual along the sequence (torch Conv2d(H, H, (k, 1), padding=(k//2, 0),
// groups=H, bias=False) applied to V of one head):
//   out[i][c] += Σ_t w[t] · keep[r]·v[r][c],  r = i + t − ⌊k/2⌋, terms with r outside 0..n−1 are 0.
// v is n×d with row stride ldv, out n×d with row stride ldo (floats); only rows r0 ≤ i < r1 of out
// are updated. w holds the k taps of this head; keep is an f32 vector of n (the mask applied to the
// conv input) or 0. out must not overlap v.
import { loadPartial, storePartial } from './util';
import { enter, leave } from './profile';
import { PROF_CONV } from './abi.generated';

export function convResidualAdd(v: usize, ldv: i32, n: i32, d: i32, w: usize, ks: i32, keep: usize,
                                out: usize, ldo: i32, r0: i32, r1: i32): void {
  enter(PROF_CONV);
  convResidualAddBody(v, ldv, n, d, w, ks, keep, out, ldo, r0, r1);
  leave();
}

function convResidualAddBody(v: usize, ldv: i32, n: i32, d: i32, w: usize, ks: i32, keep: usize,
                                out: usize, ldo: i32, r0: i32, r1: i32): void {
  const half = ks >> 1;
  const d4 = d & ~3;
  const tail = d - d4;
  const rowBytes = <usize>ldv << 2;
  const outBytes = <usize>ldo << 2;
  for (let i = r0; i < r1; i++) {
    const t0 = max(0, half - i);
    const t1 = min(ks, n + half - i);
    const orow = out + <usize>i * outBytes;
    let c = 0;
    for (; c < d4; c += 4) {
      let acc = f32x4.splat(0);
      for (let t = t0; t < t1; t++) {
        const r = i + t - half;
        let wt = load<f32>(w + (<usize>t << 2));
        if (keep) wt *= load<f32>(keep + (<usize>r << 2));
        acc = f32x4.add(acc, f32x4.mul(f32x4.splat(wt), v128.load(v + <usize>r * rowBytes + (<usize>c << 2))));
      }
      const p = orow + (<usize>c << 2);
      v128.store(p, f32x4.add(v128.load(p), acc));
    }
    if (tail) {
      let acc = f32x4.splat(0);
      for (let t = t0; t < t1; t++) {
        const r = i + t - half;
        let wt = load<f32>(w + (<usize>t << 2));
        if (keep) wt *= load<f32>(keep + (<usize>r << 2));
        acc = f32x4.add(acc, f32x4.mul(f32x4.splat(wt), loadPartial(v + <usize>r * rowBytes + (<usize>c << 2), tail)));
      }
      const p = orow + (<usize>c << 2);
      storePartial(p, f32x4.add(loadPartial(p, tail), acc), tail);
    }
  }
}
