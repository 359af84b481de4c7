// Nyström attention (Xiong et al. 2021, eq. 15) of one head, phase by phase:
//   out = softmax(Q K~ᵀ) · pinv(softmax(Q~ K~ᵀ)) · softmax(Q~ Kᵀ) · V
// in the three styles of shared ALGORITHM.md. Each phase covers a range (of heads, landmark
// segments or rows) so that threads can share a call; attention.ts runs them in sequence.
//
// Phases and what they need (a barrier between dependent phases):
//   nyLandmarks(head, j0, j1)  segments [j0, j1) of Q~ and K~                        → QL, KL, LMCOUNT
//                              (or of one of them: nyQLandmarks → QL, LMCOUNT; nyKLandmarks → KL)
//   nyKernel2(head)            k2 = softmax(Q~K~ᵀ), its statistics      (all landmarks of the head)
//   nyAlpha()                  α of every head                           (kernel 2 of every head)
//   nyPinv(head)               Z = pinv(k2)                                           → Z
//   nyKernel3Logits(head, c0, c1) columns [c0, c1) of Q~Kᵀ (landmarks of the head)   → k3 logits
//   nyPackV(head, p0, p1)      panels [p0, p1) of V packed for k3·V (attention mode)   → packed V
//   nyKernel3Rows(head, j0, j1) rows [j0, j1) of k3 = softmax(Q~Kᵀ) and of k3·V
//                              (every logit of the head, the packed V)               → K3V (or F3)
//   nyZV(head)                 ZV = Z·(k3·V), m × d (attention mode; every row of K3V) → ZV
//   (nyKernel3(head) runs the three and nyZV over the whole head on one thread)
//   nyRows(head, r0, r1)       rows [r0, r1) of k1 = softmax(QK~ᵀ) and of k1·ZV + conv
//                              (ZV of the head)                                       → OUT (or F1)
// The output is k1·(Z·(k3·V)): the formula's product associated so that each row block costs one
// product with an m × d matrix instead of two (k1·Z, then ·(k3·V)); the results differ from the
// other association by rounding only.
//   nyMatrixRows(head, r0, r1) rows of k1·Z·k3 (matrix mode, after the factors)
// The arithmetic of every output element is the same whatever the ranges.
//
// Q, K and V are read where the caller put them (through the context's strides): the scale, the
// mask and the left padding are folded into the landmark means and the softmaxes, and lucidrains'
// V·mask is applied as kernel 3's columns times the mask (exact for 0/1 weights): nothing of n×d is
// copied. Per head the call keeps landmarks, kernel 2, Z, k3·V and ZV (O(m·(d + m))); per thread
// kernel-1 blocks of ROW_BLOCK rows, kernel 3 and the packed V of the head in hand
// (O(ROW_BLOCK·m + m·n' + n·d)) — the last two per head in the shared workspace instead when the
// threads split a head (K3_SHARED).
import {
  K3_COLS, ROW_BLOCK, STATS, CTX_B, CTX_D, CTX_F1, CTX_F3, CTX_H, CTX_INIT, CTX_ITERS, CTX_K, CTX_K2, CTX_K3V, CTX_K3_SHARED, CTX_PACK_V, CTX_T_PACK_V,
  CTX_KL, CTX_LD, CTX_LMCOUNT, CTX_M, CTX_MASK, CTX_MODE, CTX_N, CTX_NP, CTX_O_LD, CTX_OUT, CTX_PAD, CTX_Q,
  CTX_QL, CTX_STATS, CTX_STYLE, CTX_T_GEMM, CTX_T_K1, CTX_T_K3, CTX_T_PINV, CTX_T_W, CTX_UNEVEN, CTX_V, CTX_Z, CTX_ZV,
  INIT_ABS_ROWCOL, INIT_EXACT, INIT_ORIGINAL, MODE_ATTENTION, STYLE_HF, STYLE_LUCIDRAINS,
} from './abi.generated';
import { biasOf, field, inHead, kScale, keepOf, maskOf, outHead, perHead, ptr, qScale, scratch } from './context';
import { gemm, gemmPackedB, packB } from './gemm';
import { softmaxRows } from './softmax';
import { segmentMeans } from './landmarks';
import { matrixStats, pinvIterate } from './pinv';
import { scaleColumns } from './util';
import { finishRows } from './exact';

/** lucidrains' eps in the masked mean. */
// @ts-ignore: decorator
@inline const LUCID_EPS: f32 = 1e-8;

// @ts-ignore: decorator
@inline function lucidMasked(ctx: usize): bool {
  return field(ctx, CTX_STYLE) == STYLE_LUCIDRAINS && ptr(ctx, CTX_MASK) != 0;
}

/** Landmark segments [j0, j1) of Q and K of head i (and lucidrains' mask counts). */
export function nyLandmarks(ctx: usize, t: i32, i: i32, j0: i32, j1: i32): void {
  nyQLandmarks(ctx, t, i, j0, j1);
  nyKLandmarks(ctx, t, i, j0, j1);
}

/** Landmark segments [j0, j1) of Q of head i (and lucidrains' mask counts). */
export function nyQLandmarks(ctx: usize, t: i32, i: i32, j0: i32, j1: i32): void {
  landmarksOf(ctx, i, j0, j1, CTX_Q, CTX_QL, qScale(field(ctx, CTX_STYLE), field(ctx, CTX_D)), true);
}

/** Landmark segments [j0, j1) of K of head i. */
export function nyKLandmarks(ctx: usize, t: i32, i: i32, j0: i32, j1: i32): void {
  landmarksOf(ctx, i, j0, j1, CTX_K, CTX_KL, kScale(field(ctx, CTX_STYLE), field(ctx, CTX_D)), false);
}

function landmarksOf(ctx: usize, i: i32, j0: i32, j1: i32, x: usize, dst: usize, scale: f32, counts: bool): void {
  const n = field(ctx, CTX_N), d = field(ctx, CTX_D), m = field(ctx, CTX_M), ld = field(ctx, CTX_LD);
  const style = field(ctx, CTX_STYLE), uneven = field(ctx, CTX_UNEVEN), pad = field(ctx, CTX_PAD);
  const lucidMask = lucidMasked(ctx);
  // Authors and lucidrains average the masked rows (a masked row counts in the authors' divisor);
  // lucidrains divides by the mask count (+ eps) instead. hf averages the raw rows.
  const weights: usize = style != STYLE_HF ? maskOf(ctx, i) : 0;
  const lm: usize = lucidMask && counts ? perHead(ctx, CTX_LMCOUNT, i, <usize>m) : 0;
  segmentMeans(inHead(ctx, ptr(ctx, x), i), ld, n, d, m, uneven, pad, scale, weights, lucidMask ? 1 : 0, LUCID_EPS,
    perHead(ctx, dst, i, <usize>m * <usize>d), lm, j0, j1);
}

/** Kernel 2 of head i and its statistics for α. */
export function nyKernel2(ctx: usize, t: i32, i: i32): void {
  const d = field(ctx, CTX_D), m = field(ctx, CTX_M);
  const md = <usize>m * <usize>d, mm = <usize>m * <usize>m;
  const k2 = perHead(ctx, CTX_K2, i, mm);
  gemm(m, m, d, perHead(ctx, CTX_QL, i, md), d, perHead(ctx, CTX_KL, i, md), d, 1, k2, m, scratch(ctx, t, CTX_T_GEMM));
  // lucidrains: pairs with an empty landmark (mask count 0) are filled.
  const lm: usize = lucidMasked(ctx) ? perHead(ctx, CTX_LMCOUNT, i, <usize>m) : 0;
  softmaxRows(k2, m, m, m, 1, 0, lm, lm);
  matrixStats(k2, m, perHead(ctx, CTX_STATS, i, STATS));
}

/**
 * α of every head (record field 3): 'original' 1 / the largest column sum over the whole call,
 * 'exact' the same per head, 'abs_rowcol' 1 / (max ‖k2‖∞ · max ‖k2‖₁) over the call, 'paper'
 * 1 / (‖k2‖∞ · ‖k2‖₁) per head.
 */
export function nyAlpha(ctx: usize): void {
  const BH = field(ctx, CTX_B) * field(ctx, CTX_H);
  const init = field(ctx, CTX_INIT);
  const global = init == INIT_ORIGINAL || init == INIT_ABS_ROWCOL;
  const colRule = init == INIT_ORIGINAL || init == INIT_EXACT;
  let maxCol: f32 = -Infinity, maxRow: f32 = 0, maxAbsCol: f32 = 0;
  if (global) {
    for (let i = 0; i < BH; i++) {
      const st = perHead(ctx, CTX_STATS, i, STATS);
      maxCol = max(maxCol, load<f32>(st));
      maxRow = max(maxRow, load<f32>(st, 4));
      maxAbsCol = max(maxAbsCol, load<f32>(st, 8));
    }
  }
  for (let i = 0; i < BH; i++) {
    const st = perHead(ctx, CTX_STATS, i, STATS);
    if (!global) {
      maxCol = load<f32>(st);
      maxRow = load<f32>(st, 4);
      maxAbsCol = load<f32>(st, 8);
    }
    store<f32>(st, colRule ? <f32>1 / maxCol : <f32>1 / (maxRow * maxAbsCol), 12);
  }
}

/** Z = pinv(kernel 2) of head i. */
export function nyPinv(ctx: usize, t: i32, i: i32): void {
  const m = field(ctx, CTX_M);
  const mm = <usize>m * <usize>m;
  const alpha = load<f32>(perHead(ctx, CTX_STATS, i, STATS), 12);
  pinvIterate(perHead(ctx, CTX_K2, i, mm), perHead(ctx, CTX_Z, i, mm), m, field(ctx, CTX_ITERS), alpha,
    scratch(ctx, t, CTX_T_PINV));
}

/**
 * Head i's kernel 3 [M, NP] (the PAD zero keys first): F3 in the factors and matrix modes and in a
 * call whose heads are split across threads (K3_SHARED), else thread t's scratch.
 */
function k3Matrix(ctx: usize, t: i32, i: i32): usize {
  if (field(ctx, CTX_MODE) != MODE_ATTENTION || field(ctx, CTX_K3_SHARED)) {
    return perHead(ctx, CTX_F3, i, <usize>field(ctx, CTX_M) * <usize>field(ctx, CTX_NP));
  }
  return scratch(ctx, t, CTX_T_K3);
}

/** Head i's V packed by packB (⌈D/8⌉ panels of N rows × 8 floats): PACK_V when K3_SHARED, else thread t's scratch. */
function packedV(ctx: usize, t: i32, i: i32): usize {
  if (field(ctx, CTX_K3_SHARED)) {
    return perHead(ctx, CTX_PACK_V, i, <usize>((field(ctx, CTX_D) + 7) >> 3) * <usize>field(ctx, CTX_N) << 3);
  }
  return scratch(ctx, t, CTX_T_PACK_V);
}

/**
 * Kernel 3 of head i on one thread: its logits by blocks of K3_COLS keys, V packed (attention mode),
 * then every row's softmax and product with V — exactly the ranges a pool splits.
 */
export function nyKernel3(ctx: usize, t: i32, i: i32): void {
  const n = field(ctx, CTX_N), d = field(ctx, CTX_D);
  for (let c = 0; c < n; c += K3_COLS) nyKernel3Logits(ctx, t, i, c, min(n, c + K3_COLS));
  const attention = field(ctx, CTX_MODE) == MODE_ATTENTION;
  if (attention) nyPackV(ctx, t, i, 0, (d + 7) >> 3);
  nyKernel3Rows(ctx, t, i, 0, field(ctx, CTX_M));
  if (attention) nyZV(ctx, t, i);
}

/** Head i's ZV = Z·(k3·V) (attention mode): the m × d matrix every output row block multiplies kernel 1 by. */
export function nyZV(ctx: usize, t: i32, i: i32): void {
  const d = field(ctx, CTX_D), m = field(ctx, CTX_M);
  const md = <usize>m * <usize>d;
  gemm(m, d, m, perHead(ctx, CTX_Z, i, <usize>m * <usize>m), m, perHead(ctx, CTX_K3V, i, md), d, 0,
    perHead(ctx, CTX_ZV, i, md), d, scratch(ctx, t, CTX_T_GEMM));
}

/**
 * Columns [c0, c1) of the real keys of head i's kernel-3 logits Q~·Kᵀ (raw K: its scale is folded
 * into the softmax), every landmark row. Each logit is one dot product over D, so any column split
 * gives the same bits.
 */
export function nyKernel3Logits(ctx: usize, t: i32, i: i32, c0: i32, c1: i32): void {
  if (c1 <= c0) return;
  const d = field(ctx, CTX_D), m = field(ctx, CTX_M), pad = field(ctx, CTX_PAD);
  const np = field(ctx, CTX_NP), ld = field(ctx, CTX_LD);
  const k = inHead(ctx, ptr(ctx, CTX_K), i) + (<usize>c0 * <usize>ld << 2);
  gemm(m, c1 - c0, d, perHead(ctx, CTX_QL, i, <usize>m * <usize>d), d, k, ld, 1,
    k3Matrix(ctx, t, i) + (<usize>(pad + c0) << 2), np, scratch(ctx, t, CTX_T_GEMM));
}

/** Panels [p0, p1) (8 columns each) of head i's V, packed as packB packs them for the k3·V product. */
export function nyPackV(ctx: usize, t: i32, i: i32, p0: i32, p1: i32): void {
  const n = field(ctx, CTX_N), d = field(ctx, CTX_D), ld = field(ctx, CTX_LD);
  const c0 = p0 << 3, c1 = min(d, p1 << 3);
  if (c1 <= c0) return;
  packB(c1 - c0, n, inHead(ctx, ptr(ctx, CTX_V), i) + (<usize>c0 << 2), ld, 0,
    packedV(ctx, t, i) + ((<usize>p0 * <usize>n) << 5));
}

/**
 * Rows [j0, j1) of head i's kernel 3 over the NP keys, from its logits (the PAD zero keys have
 * logit 0; masked keys get weight 0 by bias or fill). Attention mode: rows [j0, j1) of k3·V go to
 * K3V, from the packed V (the same sums as gemm packing V itself).
 */
export function nyKernel3Rows(ctx: usize, t: i32, i: i32, j0: i32, j1: i32): void {
  const n = field(ctx, CTX_N), d = field(ctx, CTX_D), m = field(ctx, CTX_M), pad = field(ctx, CTX_PAD);
  const np = field(ctx, CTX_NP);
  const rows = j1 - j0;
  if (rows <= 0) return;
  const attention = field(ctx, CTX_MODE) == MODE_ATTENTION;
  const lucid = field(ctx, CTX_STYLE) == STYLE_LUCIDRAINS;
  const lucidMask = lucidMasked(ctx);
  const useBias = !lucid && (ptr(ctx, CTX_MASK) != 0 || pad > 0);
  const npBytes = <usize>np << 2, padBytes = <usize>pad << 2;
  const k3 = k3Matrix(ctx, t, i) + <usize>j0 * npBytes;
  for (let r = 0; r < rows; r++) memory.fill(k3 + <usize>r * npBytes, 0, padBytes);
  const lm: usize = lucidMask ? perHead(ctx, CTX_LMCOUNT, i, <usize>m) + (<usize>j0 << 2) : 0;
  const keep = keepOf(ctx, i);
  softmaxRows(k3, rows, np, np, kScale(field(ctx, CTX_STYLE), d), useBias ? biasOf(ctx, i) : 0, lm, lucidMask ? keep : 0);
  if (!attention) return;
  // k3·V over the real keys (the pad rows of V are zero). lucidrains multiplies V by the mask: it
  // matters where a whole landmark is empty, whose row of k3 is uniform over every key.
  if (lucidMask) scaleColumns(k3 + padBytes, rows, n, np, keep + padBytes);
  const k3v = perHead(ctx, CTX_K3V, i, <usize>m * <usize>d) + (<usize>j0 * <usize>d << 2);
  gemmPackedB(rows, d, n, k3 + padBytes, np, packedV(ctx, t, i), scratch(ctx, t, CTX_T_GEMM), k3v, d);
}

/** The kernel-1 block of rows [r, r + rows): thread scratch (attention mode) or rows PAD + r of F1. */
function kernel1Block(ctx: usize, t: i32, i: i32, r: i32, rows: i32): usize {
  const n = field(ctx, CTX_N), d = field(ctx, CTX_D), m = field(ctx, CTX_M), pad = field(ctx, CTX_PAD);
  const np = field(ctx, CTX_NP), ld = field(ctx, CTX_LD);
  const k1 = field(ctx, CTX_MODE) == MODE_ATTENTION
    ? scratch(ctx, t, CTX_T_K1)
    : perHead(ctx, CTX_F1, i, <usize>np * <usize>m) + (<usize>(pad + r) * <usize>m << 2);
  // From the raw Q with its scale folded into the softmax. A masked query row gives a different
  // (unspecified) row than with Q·mask, and only that row: lucidrains fills it anyway.
  const q = inHead(ctx, ptr(ctx, CTX_Q), i) + (<usize>r * <usize>ld << 2);
  gemm(rows, m, d, q, ld, perHead(ctx, CTX_KL, i, <usize>m * <usize>d), d, 1, k1, m, scratch(ctx, t, CTX_T_GEMM));
  const lucidMask = lucidMasked(ctx);
  softmaxRows(k1, rows, m, m, qScale(field(ctx, CTX_STYLE), d), 0,
    lucidMask ? keepOf(ctx, i) + (<usize>(pad + r) << 2) : 0,
    lucidMask ? perHead(ctx, CTX_LMCOUNT, i, <usize>m) : 0);
  return k1;
}

/**
 * Query rows [r0, r1) of head i: kernel 1, then (attention mode) k1·ZV into the output rows and the
 * conv residual; in the other modes kernel 1 goes to F1 and nothing else is written.
 */
export function nyRows(ctx: usize, t: i32, i: i32, r0: i32, r1: i32): void {
  const d = field(ctx, CTX_D), m = field(ctx, CTX_M);
  const attention = field(ctx, CTX_MODE) == MODE_ATTENTION;
  const gw = scratch(ctx, t, CTX_T_GEMM);
  const zv = attention ? perHead(ctx, CTX_ZV, i, <usize>m * <usize>d) : 0;
  const out = outHead(ctx, ptr(ctx, CTX_OUT), i);
  const oLd = field(ctx, CTX_O_LD);
  for (let r = r0; r < r1; r += ROW_BLOCK) {
    const rows = min(ROW_BLOCK, r1 - r);
    const k1 = kernel1Block(ctx, t, i, r, rows);
    if (!attention) continue;
    gemm(rows, d, m, k1, m, zv, d, 0, out + (<usize>r * <usize>oLd << 2), oLd, gw);
  }
  if (attention) finishRows(ctx, i, r0, r1);
}

/** Rows [r0, r1) of head i's attention matrix k1·Z·k3 over the real keys, from F1, Z and F3. */
export function nyMatrixRows(ctx: usize, t: i32, i: i32, r0: i32, r1: i32): void {
  const n = field(ctx, CTX_N), m = field(ctx, CTX_M), pad = field(ctx, CTX_PAD), np = field(ctx, CTX_NP);
  const gw = scratch(ctx, t, CTX_T_GEMM);
  const w = scratch(ctx, t, CTX_T_W);
  const f1 = perHead(ctx, CTX_F1, i, <usize>np * <usize>m);
  const f3 = perHead(ctx, CTX_F3, i, <usize>m * <usize>np) + (<usize>pad << 2);
  const z = perHead(ctx, CTX_Z, i, <usize>m * <usize>m);
  const out = outHead(ctx, ptr(ctx, CTX_OUT), i);
  const oLd = field(ctx, CTX_O_LD);
  for (let r = r0; r < r1; r += ROW_BLOCK) {
    const rows = min(ROW_BLOCK, r1 - r);
    gemm(rows, m, m, f1 + (<usize>(pad + r) * <usize>m << 2), m, z, m, 0, w, m, gw);
    gemm(rows, n, m, w, m, f3, np, 0, out + (<usize>r * <usize>oLd << 2), oLd, gw);
  }
}
