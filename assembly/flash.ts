// Fused exact attention (flash style): out = softmax(scale·q·kᵀ + bias, fills)·V for a range of query
// rows, with an online softmax over blocks of keys, so the scores never leave a small L1 block and
// the scratch is O(FLASH_ROWS·d), not O(rows·n).
//
// Inputs. q: `rows` query rows of d floats (row stride ldq). Keys and values come packed by gemm's
// packB: kt = packB(n, d, K, ldk, 1) (⌈n/8⌉ panels of 8 keys, d rows of 8 floats each) and
// vp = packB(d, n, V, ldv, 0) (⌈d/8⌉ panels of 8 value columns, n rows of 8 floats each). In front
// of the n keys sit `pad` zero keys (logit scale·0 + bias, value 0). bias (pad + n floats, or 0) is
// the additive key bias; keep (pad + n floats, or 0) fills logits of keys with keep 0 with
// −3.4028235e38 (torch's masked_fill), and rowKeep (`rows` floats, or 0) fills whole rows the same
// way (such a row becomes the uniform average over all pad + n keys, as torch gives). out: rows × d
// (row stride ldo); only out[i][c], i < rows, c < d is written. work: flashWorkBytes(d) bytes,
// 16-byte aligned.
//
// Structure. Query rows go in blocks of FLASH_ROWS (4-row tiles, the last one padded with zero
// rows whose results are dropped); keys in blocks of FLASH_KEYS. Per block of rows: the Q tiles
// are packed once (d × 4 floats each: the A layout of gemm's 4×8 tile); each row starts with its
// running max m = −3.4028235e38, sum l = 0 and accumulator O = 0 (its pad keys, if any, enter as
// a first block with no values). Then for every key block, for every tile:
//   1. scores: the 4×8 register tile q·kᵀ against each 8-key panel, transposed on the way out, so
//      the block is stored as one vector of the 4 rows per key (`pt`, FLASH_KEYS × 4 floats);
//   2. logits y = scale·s + bias (fills), the block max, the new running max m', the correction
//      c = exp(m − m'), p = exp(y − m') in place and l' = l·c + Σp: four rows in the four lanes,
//      so the max and the sums need no horizontal reduction;
//   3. O = O·c + p·V (the 4×8 tile again, p as its packed A, one V panel slice per 8 columns).
// At the end out = O · (1/l).
//
// Rounding and thread splits: each row's arithmetic is the same whatever rows share its tile or
// block — every lane runs the same operations, the key blocks start at key 0 in steps of
// FLASH_KEYS, and every sum runs sequentially over the keys — so any split of the rows over calls
// gives the same bits.
import { FLASH_KEYS, FLASH_ROWS, PROF_GEMM, PROF_SOFTMAX } from './abi.generated';
import { NEG_MAX, expvFast, loadPartial, madd, storePartial } from './util';
import { enter, leave } from './profile';

/** Bytes of flashRows's `work` for head dimension d (src/plan.ts mirrors this). */
export function flashWorkBytes(d: i32): usize {
  const d8 = <usize>((d + 7) & ~7);
  const R = <usize>FLASH_ROWS;
  return (R * <usize>d << 2) + (R * d8 << 2) + (<usize>FLASH_KEYS << 4) + (R << 3);
}

export function flashRows(rows: i32, n: i32, d: i32, pad: i32, q: usize, ldq: i32, kt: usize, vp: usize,
                          scale: f32, bias: usize, keep: usize, rowKeep: usize, out: usize, ldo: i32, work: usize): void {
  if (rows <= 0 || d <= 0) return;
  const R = FLASH_ROWS;
  const d8 = (d + 7) & ~7;
  const npv = d8 >> 3;                       // V panels
  const qa = work;                           // packed Q tiles: R/4 × d × 4 floats
  const oacc = qa + (<usize>(R * d) << 2);   // O tiles: R/4 × npv × (4 × 8) floats
  const pt = oacc + (<usize>(R * d8) << 2);  // one tile's block of p: FLASH_KEYS × 4 floats
  const ml = pt + (<usize>FLASH_KEYS << 4);  // per tile: running max (4 floats), running sum (4 floats)
  const ldq4 = <usize>ldq << 2;
  const ldo4 = <usize>ldo << 2;
  const qTile = <usize>d << 4;               // bytes of one packed Q tile
  const oTile = <usize>npv << 7;             // bytes of one O tile
  const kPanel = <usize>d << 5;              // bytes of one packed key panel
  const vPanel = <usize>n << 5;              // bytes of one packed value panel
  const vscale = f32x4.splat(scale);
  for (let r = 0; r < rows; r += R) {
    const br = min(R, rows - r);
    const tiles = (br + 3) >> 2;
    // Pack the Q tiles (rows past the block are zero) and start every row's state.
    for (let t = 0; t < tiles; t++) {
      const valid = min(4, br - (t << 2));
      packQ(valid, d, q + <usize>(r + (t << 2)) * ldq4, ldq4, qa + <usize>t * qTile);
      const rowFill = rowKeep ? f32x4.eq(loadPartial(rowKeep + (<usize>(r + (t << 2)) << 2), valid), f32x4.splat(0)) : f32x4.splat(0);
      const mlt = ml + (<usize>t << 5);
      v128.store(mlt, f32x4.splat(NEG_MAX));
      v128.store(mlt, f32x4.splat(0), 16);
      // The pad keys: logits scale·0 + bias (fills), no values.
      for (let j0 = 0; j0 < pad; j0 += FLASH_KEYS) {
        const kc = min(FLASH_KEYS, pad - j0);
        const vmax = logits(pt, kc, false, vscale, bias ? bias + (<usize>j0 << 2) : 0, keep ? keep + (<usize>j0 << 2) : 0, rowFill);
        update(pt, kc, vmax, mlt);
      }
    }
    // The key blocks.
    for (let k0 = 0; k0 < n; k0 += FLASH_KEYS) {
      const kc = min(FLASH_KEYS, n - k0);
      const panels = (kc + 7) >> 3;
      const kb = kt + <usize>(k0 >> 3) * kPanel;
      const vb = vp + (<usize>k0 << 5);
      const bb: usize = bias ? bias + (<usize>(pad + k0) << 2) : 0;
      const kk: usize = keep ? keep + (<usize>(pad + k0) << 2) : 0;
      for (let t = 0; t < tiles; t++) {
        const a = qa + <usize>t * qTile;
        enter(PROF_GEMM);
        for (let p = 0; p < panels; p++) scoreTile(d, a, kb + <usize>p * kPanel, pt + (<usize>p << 7));
        leave();
        enter(PROF_SOFTMAX);
        const valid = min(4, br - (t << 2));
        const rowFill = rowKeep ? f32x4.eq(loadPartial(rowKeep + (<usize>(r + (t << 2)) << 2), valid), f32x4.splat(0)) : f32x4.splat(0);
        const mlt = ml + (<usize>t << 5);
        const vmax = logits(pt, kc, true, vscale, bb, kk, rowFill);
        const corr = update(pt, kc, vmax, mlt);
        leave();
        enter(PROF_GEMM);
        const o = oacc + <usize>t * oTile;
        for (let p = 0; p < npv; p++) pvTile(kc, pt, vb + <usize>p * vPanel, o + (<usize>p << 7), corr, k0 == 0);
        leave();
      }
    }
    if (n == 0) {
      // No real keys: every output is 0 (pad values are zero).
      for (let t = 0; t < tiles; t++) memory.fill(oacc + <usize>t * oTile, 0, oTile);
    }
    // out = O / l.
    for (let t = 0; t < tiles; t++) {
      const valid = min(4, br - (t << 2));
      const inv = f32x4.div(f32x4.splat(1), v128.load(ml + (<usize>t << 5), 16));
      const o = oacc + <usize>t * oTile;
      const orow = out + <usize>(r + (t << 2)) * ldo4;
      for (let i = 0; i < valid; i++) {
        const si = i == 0 ? v128.shuffle<f32>(inv, inv, 0, 0, 0, 0) : i == 1 ? v128.shuffle<f32>(inv, inv, 1, 1, 1, 1)
          : i == 2 ? v128.shuffle<f32>(inv, inv, 2, 2, 2, 2) : v128.shuffle<f32>(inv, inv, 3, 3, 3, 3);
        const dst = orow + <usize>i * ldo4;
        const src = o + (<usize>i << 5);
        let c = 0;
        for (; c + 8 <= d; c += 8) {
          const sp = src + (<usize>c << 4);
          v128.store(dst + (<usize>c << 2), f32x4.mul(v128.load(sp), si));
          v128.store(dst + (<usize>c << 2), f32x4.mul(v128.load(sp, 16), si), 16);
        }
        if (c < d) {
          const sp = src + (<usize>c << 4);
          const rest = d - c;
          storePartial(dst + (<usize>c << 2), f32x4.mul(v128.load(sp), si), rest);
          storePartial(dst + (<usize>c << 2) + 16, f32x4.mul(v128.load(sp, 16), si), rest - 4);
        }
      }
    }
  }
}

// Packs `valid` ≤ 4 rows of q (d floats each, rows ldq4 bytes apart) as d groups of 4 floats; rows
// past `valid` are zero.
function packQ(valid: i32, d: i32, q: usize, ldq4: usize, dst: usize): void {
  if (valid == 4) {
    const r0 = q, r1 = q + ldq4, r2 = r1 + ldq4, r3 = r2 + ldq4;
    let c = 0;
    for (; c + 4 <= d; c += 4) {
      const o = <usize>c << 2;
      const v0 = v128.load(r0 + o), v1 = v128.load(r1 + o);
      const v2 = v128.load(r2 + o), v3 = v128.load(r3 + o);
      const l01 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), h01 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7);
      const l23 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5), h23 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
      const p = dst + (<usize>c << 4);
      v128.store(p, v128.shuffle<f32>(l01, l23, 0, 1, 4, 5));
      v128.store(p, v128.shuffle<f32>(l01, l23, 2, 3, 6, 7), 16);
      v128.store(p, v128.shuffle<f32>(h01, h23, 0, 1, 4, 5), 32);
      v128.store(p, v128.shuffle<f32>(h01, h23, 2, 3, 6, 7), 48);
    }
    for (; c < d; c++) {
      const o = <usize>c << 2;
      const p = dst + (<usize>c << 4);
      store<f32>(p, load<f32>(r0 + o));
      store<f32>(p, load<f32>(r1 + o), 4);
      store<f32>(p, load<f32>(r2 + o), 8);
      store<f32>(p, load<f32>(r3 + o), 12);
    }
  } else {
    for (let c = 0; c < d; c++) {
      const p = dst + (<usize>c << 4);
      for (let i = 0; i < 4; i++) {
        store<f32>(p + (<usize>i << 2), i < valid ? load<f32>(q + <usize>i * ldq4 + (<usize>c << 2)) : 0);
      }
    }
  }
}

// Scores of a 4-row Q tile (qa: d groups of 4 floats) against one 8-key panel (bp: d rows of 8
// floats): each a sequential sum over the d products; stored transposed at pt, one vector of the
// 4 rows per key (8 vectors).
function scoreTile(d: i32, qa: usize, bp: usize, pt: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const bEnd = bp + (<usize>d << 5);
  let ap = qa;
  do {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    const x0 = v128.load32_splat(ap);
    c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01);
    const x1 = v128.load32_splat(ap, 4);
    c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11);
    const x2 = v128.load32_splat(ap, 8);
    c20 = madd(x2, b0, c20); c21 = madd(x2, b1, c21);
    const x3 = v128.load32_splat(ap, 12);
    c30 = madd(x3, b0, c30); c31 = madd(x3, b1, c31);
    ap += 16; bp += 32;
  } while (bp < bEnd);
  const t0 = v128.shuffle<f32>(c00, c10, 0, 4, 1, 5), t1 = v128.shuffle<f32>(c00, c10, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(c20, c30, 0, 4, 1, 5), t3 = v128.shuffle<f32>(c20, c30, 2, 6, 3, 7);
  v128.store(pt, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(pt, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 16);
  v128.store(pt, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 32);
  v128.store(pt, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 48);
  const u0 = v128.shuffle<f32>(c01, c11, 0, 4, 1, 5), u1 = v128.shuffle<f32>(c01, c11, 2, 6, 3, 7);
  const u2 = v128.shuffle<f32>(c21, c31, 0, 4, 1, 5), u3 = v128.shuffle<f32>(c21, c31, 2, 6, 3, 7);
  v128.store(pt, v128.shuffle<f32>(u0, u2, 0, 1, 4, 5), 64);
  v128.store(pt, v128.shuffle<f32>(u0, u2, 2, 3, 6, 7), 80);
  v128.store(pt, v128.shuffle<f32>(u1, u3, 0, 1, 4, 5), 96);
  v128.store(pt, v128.shuffle<f32>(u1, u3, 2, 3, 6, 7), 112);
}

// Logits of kc keys in place (pt: one 4-row vector per key): y = scale·s + bias[j] (s = 0 when
// !scores), filled with −3.4028235e38 where keep[j] = 0 or the row's lane of rowFill is set.
// Returns the lane-wise maximum.
function logits(pt: usize, kc: i32, scores: bool, vscale: v128, bias: usize, keep: usize, rowFill: v128): v128 {
  const vneg = f32x4.splat(NEG_MAX);
  const vzero = f32x4.splat(0);
  let vmax = vneg;
  const end = pt + (<usize>kc << 4);
  let p = pt;
  if (keep) {
    let kp = keep;
    do {
      let y = scores ? f32x4.mul(v128.load(p), vscale) : f32x4.mul(vzero, vscale);
      if (bias) { y = f32x4.add(y, v128.load32_splat(bias)); bias += 4; }
      y = v128.bitselect(vneg, y, v128.or(f32x4.eq(v128.load32_splat(kp), vzero), rowFill));
      v128.store(p, y);
      vmax = f32x4.pmax(vmax, y); // pmax: one maxps; logits are never NaN (inputs are checked)
      p += 16; kp += 4;
    } while (p < end);
  } else if (bias) {
    do {
      let y = scores ? f32x4.mul(v128.load(p), vscale) : f32x4.mul(vzero, vscale);
      y = f32x4.add(y, v128.load32_splat(bias));
      y = v128.bitselect(vneg, y, rowFill);
      v128.store(p, y);
      vmax = f32x4.pmax(vmax, y);
      p += 16; bias += 4;
    } while (p < end);
  } else {
    do {
      let y = scores ? f32x4.mul(v128.load(p), vscale) : f32x4.mul(vzero, vscale);
      y = v128.bitselect(vneg, y, rowFill);
      v128.store(p, y);
      vmax = f32x4.pmax(vmax, y);
      p += 16;
    } while (p < end);
  }
  return vmax;
}

// Online softmax step of one tile over kc keys whose logits are at pt: m' = max(m, vmax),
// p = exp(y − m') in place, l' = l·exp(m − m') + Σp (sequential over the keys). Updates the
// tile's m and l at mlt; returns the correction exp(m − m').
function update(pt: usize, kc: i32, vmax: v128, mlt: usize): v128 {
  const m0 = v128.load(mlt);
  const m1 = f32x4.pmax(m0, vmax);
  const corr = expvFast(f32x4.sub(m0, m1));
  let sum = f32x4.splat(0);
  const end = pt + (<usize>kc << 4);
  let p = pt;
  do {
    const e = expvFast(f32x4.sub(v128.load(p), m1));
    v128.store(p, e);
    sum = f32x4.add(sum, e);
    p += 16;
  } while (p < end);
  v128.store(mlt, m1);
  v128.store(mlt, f32x4.add(f32x4.mul(v128.load(mlt, 16), corr), sum), 16);
  return corr;
}

// O (4 rows × 8 columns at o, rows 32 bytes apart) = O·corr (row-wise; zero when first) + p·V over
// kc keys: p at pt (one 4-row vector per key), V's panel slice at vp (rows of 8 floats, 32 bytes apart).
function pvTile(kc: i32, pt: usize, vp: usize, o: usize, corr: v128, first: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (!first) {
    const s0 = v128.shuffle<f32>(corr, corr, 0, 0, 0, 0), s1 = v128.shuffle<f32>(corr, corr, 1, 1, 1, 1);
    const s2 = v128.shuffle<f32>(corr, corr, 2, 2, 2, 2), s3 = v128.shuffle<f32>(corr, corr, 3, 3, 3, 3);
    c00 = f32x4.mul(v128.load(o), s0); c01 = f32x4.mul(v128.load(o, 16), s0);
    c10 = f32x4.mul(v128.load(o, 32), s1); c11 = f32x4.mul(v128.load(o, 48), s1);
    c20 = f32x4.mul(v128.load(o, 64), s2); c21 = f32x4.mul(v128.load(o, 80), s2);
    c30 = f32x4.mul(v128.load(o, 96), s3); c31 = f32x4.mul(v128.load(o, 112), s3);
  }
  const end = vp + (<usize>kc << 5);
  let ap = pt;
  do {
    const b0 = v128.load(vp), b1 = v128.load(vp, 16);
    const x0 = v128.load32_splat(ap);
    c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01);
    const x1 = v128.load32_splat(ap, 4);
    c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11);
    const x2 = v128.load32_splat(ap, 8);
    c20 = madd(x2, b0, c20); c21 = madd(x2, b1, c21);
    const x3 = v128.load32_splat(ap, 12);
    c30 = madd(x3, b0, c30); c31 = madd(x3, b1, c31);
    ap += 16; vp += 32;
  } while (vp < end);
  v128.store(o, c00); v128.store(o, c01, 16);
  v128.store(o, c10, 32); v128.store(o, c11, 48);
  v128.store(o, c20, 64); v128.store(o, c21, 80);
  v128.store(o, c30, 96); v128.store(o, c31, 112);
}
