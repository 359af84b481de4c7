// Exact softmax attention of one head, a range of query rows at a time:
//   out = softmax(q·kᵀ/√d + key bias)·V (+ conv(V)), every style's masking (shared ALGORITHM.md,
//   "exact path masking"). Used by softmaxAttention and by Nyström when the landmarks equal the
//   length it runs on (authors/hf).
//
// Q, K and V are read in place through the context's strides: the scale 1/√d is folded into the
// softmax (every style's logits are q·k/√d), the PAD zero rows in front are keys with logit 0 and
// zero values, and masked keys get weight 0 from the bias (authors, hf) or the fill (lucidrains),
// so no masked or padded copy is made. (lucidrains multiplies V by the mask; that changes only rows
// whose every key is filled, i.e. masked query rows, whose output is unspecified.)
//
// Attention mode runs the fused kernel (flash.ts: an online softmax over key blocks, the scores
// never leave L1). The matrix and factors modes, which must write the softmax rows anyway, form a
// block of EXACT_ROWS rows of logits at a time (gemmPacked q·kᵀ, softmaxRows).
//
// Scratch of thread t: T_S (attention: flashWorkBytes(d); else EXACT_ROWS × NP logits), T_PACK_KT
// and T_PACK_V (Kᵀ and V packed by packB; each thread packs the head it works on; in the matrix
// and factors modes T_PACK_KT also holds gemmPacked's A blocks). Memory O(n·d) per thread in
// attention mode, O(EXACT_ROWS·n + n·d) in the others.
import {
  EXACT_ROWS, CTX_BAD, CTX_CONV, CTX_D, CTX_F1, CTX_H, CTX_K, CTX_KS, CTX_LD, CTX_MASK, CTX_MODE, CTX_N, CTX_NP,
  CTX_O_LD, CTX_OUT, CTX_PAD, CTX_Q, CTX_STYLE, CTX_T_PACK_KT, CTX_T_PACK_V, CTX_T_S, CTX_V,
  MODE_ATTENTION, MODE_FACTORS, MODE_MATRIX, STYLE_HF, STYLE_LUCIDRAINS,
} from './abi.generated';
import { biasOf, field, inHead, keepOf, maskOf, outHead, ptr, scratch } from './context';
import { gemmPacked, packB } from './gemm';
import { softmaxRows } from './softmax';
import { flashRows } from './flash';
import { convResidualAdd } from './conv';
import { firstNonFinite } from './util';

/**
 * Query rows [r0, r1) of head i (0 ≤ r0 ≤ r1 ≤ N). MODE attention: output rows (plus conv rows);
 * matrix: rows of the softmax over the N real keys into OUT; factors: rows PAD + r of kernel 1
 * ([NP, NP] per head, the pad keys included).
 */
export function exactRows(ctx: usize, t: i32, i: i32, r0: i32, r1: i32): void {
  const n = field(ctx, CTX_N), d = field(ctx, CTX_D), pad = field(ctx, CTX_PAD), np = field(ctx, CTX_NP);
  const ld = field(ctx, CTX_LD), mode = field(ctx, CTX_MODE);
  const lucid = field(ctx, CTX_STYLE) == STYLE_LUCIDRAINS;
  const useKeep = ptr(ctx, CTX_MASK) != 0 || pad > 0;
  const q = inHead(ctx, ptr(ctx, CTX_Q), i);
  const s = scratch(ctx, t, CTX_T_S);
  const packKT = scratch(ctx, t, CTX_T_PACK_KT);
  const packV = scratch(ctx, t, CTX_T_PACK_V);
  packB(n, d, inHead(ctx, ptr(ctx, CTX_K), i), ld, 1, packKT);
  if (mode == MODE_ATTENTION) packB(d, n, inHead(ctx, ptr(ctx, CTX_V), i), ld, 0, packV);
  const colBias: usize = useKeep && !lucid ? biasOf(ctx, i) : 0;
  const fill: usize = useKeep && lucid ? keepOf(ctx, i) : 0;
  const scale = <f32>(1.0 / Math.sqrt(<f64>d));
  const padBytes = <usize>pad << 2;
  const npBytes = <usize>np << 2;
  const sReal = s + padBytes; // the real keys' columns of the block
  const out = mode == MODE_FACTORS ? ptr(ctx, CTX_F1) + <usize>i * <usize>np * npBytes : outHead(ctx, ptr(ctx, CTX_OUT), i);
  const oLd = field(ctx, CTX_O_LD);
  if (mode == MODE_ATTENTION) {
    flashRows(r1 - r0, n, d, pad, q + (<usize>r0 * <usize>ld << 2), ld, packKT, packV, scale, colBias, fill,
      fill ? fill + (<usize>(pad + r0) << 2) : 0, out + (<usize>r0 * <usize>oLd << 2), oLd, s);
    finishRows(ctx, i, r0, r1);
    return;
  }
  for (let r = r0; r < r1; r += EXACT_ROWS) {
    const rows = min(EXACT_ROWS, r1 - r);
    for (let j = 0; j < rows; j++) memory.fill(s + <usize>j * npBytes, 0, padBytes);
    gemmPacked(rows, n, d, q + (<usize>r * <usize>ld << 2), ld, packKT, sReal, np);
    softmaxRows(s, rows, np, np, scale, colBias, fill ? fill + (<usize>(pad + r) << 2) : 0, fill);
    if (mode == MODE_ATTENTION) {
      gemmPacked(rows, d, n, sReal, np, packV, out + (<usize>r * <usize>oLd << 2), oLd);
    } else if (mode == MODE_MATRIX) {
      for (let j = 0; j < rows; j++) {
        memory.copy(out + (<usize>(r + j) * <usize>oLd << 2), sReal + <usize>j * npBytes, <usize>n << 2);
      }
    } else {
      memory.copy(out + <usize>(pad + r) * npBytes, s, <usize>rows * npBytes);
    }
  }
  if (mode == MODE_ATTENTION) finishRows(ctx, i, r0, r1);
}

/**
 * Attention mode, output rows [r0, r1) of head i written: the conv residual added, then BAD set
 * when a row holds a NaN/±Infinity (the host reports it; the rows are still in cache here).
 */
export function finishRows(ctx: usize, i: i32, r0: i32, r1: i32): void {
  addConv(ctx, i, r0, r1);
  const d = field(ctx, CTX_D), oLd = field(ctx, CTX_O_LD);
  const out = outHead(ctx, ptr(ctx, CTX_OUT), i);
  for (let r = r0; r < r1; r++) {
    if (firstNonFinite(out + (<usize>r * <usize>oLd << 2), d) >= 0) {
      store<i32>(ctx + CTX_BAD, 1);
      return;
    }
  }
}

/**
 * Output rows [r0, r1) of head i += the depthwise conv of V (unmasked V for hf, V·mask otherwise),
 * when the call has conv taps.
 */
export function addConv(ctx: usize, i: i32, r0: i32, r1: i32): void {
  const conv = ptr(ctx, CTX_CONV);
  if (!conv) return;
  const ks = field(ctx, CTX_KS), ld = field(ctx, CTX_LD);
  const keep: usize = field(ctx, CTX_STYLE) != STYLE_HF ? maskOf(ctx, i) : 0;
  const w = conv + (<usize>(i % field(ctx, CTX_H)) * <usize>ks << 2);
  convResidualAdd(inHead(ctx, ptr(ctx, CTX_V), i), ld, field(ctx, CTX_N), field(ctx, CTX_D), w, ks, keep,
    outHead(ctx, ptr(ctx, CTX_OUT), i), field(ctx, CTX_O_LD), r0, r1);
}
