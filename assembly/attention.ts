// Whole attention calls inside wasm: exact softmax attention and the Nyström composition
// (Xiong et al. 2021, eq. 15: out = softmax(Q K~ᵀ) · pinv(softmax(Q~ K~ᵀ)) · softmax(Q~ Kᵀ) · V),
// in the three styles of shared ALGORITHM.md (authors, hf, lucidrains), so one call crosses the
// JS/wasm boundary once.
//
// Inputs q, k, v and the output are [B, H, n, d] row-major; per (b, h) a contiguous n×d slab.
// mask is f32 [B, n] (0/1) or 0; conv is f32 [H, ks] or 0. In matrix mode the output is the n×n
// attention matrix of every head ([B, H, n, n]: the exact softmax, or the one Nyström implies,
// k1·Z·k3) instead of the attention applied to V, and no conv is added.
//
// Memory: the caller provides a workspace of *WorkspaceBytes(...) bytes (16-byte aligned); its
// layout is defined here only. Nyström keeps per head only landmarks, kernel 2 and its statistics
// (O(B·H·m·(d + m))) plus O(n'·(d + m)) for the head in flight; exact attention works on blocks of
// EXACT_ROWS query rows (O(EXACT_ROWS·n) scratch). Nothing is O(n²) except the matrix-mode output.
// The output must not overlap inputs or workspace.
import { gemm, gemmPacked, gemmWorkBytes, packB } from './gemm';
import { softmaxRows } from './softmax';
import { segmentMeans } from './landmarks';
import { pinvIterate, pinvWorkBytes, matrixStats } from './pinv';
import { convResidualAdd } from './conv';
import { NEG_MAX, copyRowsScaled } from './util';

export const STYLE_AUTHORS = 0;
export const STYLE_HF = 1;
export const STYLE_LUCIDRAINS = 2;
export const INIT_ORIGINAL = 0;
export const INIT_EXACT = 1;
export const INIT_ABS_ROWCOL = 2;
export const INIT_PAPER = 3;
export const REMAINDER_PAD = 0;
export const REMAINDER_UNEVEN = 1;
export const REMAINDER_ERROR = 2;

/** Query rows per block in exact attention. */
// @ts-ignore: decorator
@inline const EXACT_ROWS = 64;
/** lucidrains' eps in the masked mean. */
// @ts-ignore: decorator
@inline const LUCID_EPS: f32 = 1e-8;

// @ts-ignore: decorator
@inline function align16(x: usize): usize { return (x + 15) & ~<usize>15; }
// @ts-ignore: decorator
@inline function f32s(count: usize): usize { return align16(count << 2); }

/** Rows of zero padding added in front (remainder 'pad'), so that m divides n + pad. */
export function padRows(n: i32, m: i32, remainder: i32): i32 {
  return remainder == REMAINDER_PAD ? (m - n % m) % m : 0;
}

/** Authors and hf scale Q and K by d^(−1/4) each; lucidrains scales Q by d^(−1/2). */
function qScale(style: i32, d: i32): f32 {
  return style == STYLE_LUCIDRAINS ? <f32>(1.0 / Math.sqrt(<f64>d)) : <f32>(1.0 / Math.sqrt(Math.sqrt(<f64>d)));
}
function kScale(style: i32, d: i32): f32 {
  return style == STYLE_LUCIDRAINS ? <f32>1.0 : <f32>(1.0 / Math.sqrt(Math.sqrt(<f64>d)));
}

/**
 * Keep vector of the padded sequence (np = n + pad) for batch b: 0 for the pad rows, then the
 * caller's mask row (or 1s). Also the additive key bias of the style (authors −1e9·(1−keep),
 * hf (1−keep)·(−3.4028235e38)); lucidrains uses fills instead (bias left unused).
 */
function buildKeep(keep: usize, bias: usize, mask: usize, b: i32, n: i32, pad: i32, style: i32): void {
  const np = n + pad;
  for (let i = 0; i < np; i++) {
    let kv: f32 = 1;
    if (i < pad) kv = 0;
    else if (mask) kv = load<f32>(mask + ((<usize>b * <usize>n + <usize>(i - pad)) << 2));
    store<f32>(keep + (<usize>i << 2), kv);
    const bv: f32 = style == STYLE_AUTHORS ? <f32>-1e9 * (<f32>1 - kv) : (<f32>1 - kv) * NEG_MAX;
    store<f32>(bias + (<usize>i << 2), bv);
  }
}

// ---------------------------------------------------------------------------------------------
// Exact softmax attention

// Workspace slots of exact attention on a (padded) length np. Q, K and V are read in place: the
// scale 1/√d is folded into the softmax (every style's logits are q·k/√d), pad keys are zero logits,
// and masked keys get weight 0 from the bias or fill, so no masked or padded copy is needed.
// (lucidrains multiplies V by the mask; that changes only rows whose every key is filled, i.e.
// masked query rows, whose output is unspecified.)
// @ts-ignore: decorator
@inline const EX_KEEP = 0;     // np
// @ts-ignore: decorator
@inline const EX_BIAS = 1;     // np
// @ts-ignore: decorator
@inline const EX_S = 2;        // EXACT_ROWS·np: one block of logits / probabilities
// @ts-ignore: decorator
@inline const EX_PACK_KT = 3;  // Kᵀ packed once per head
// @ts-ignore: decorator
@inline const EX_PACK_V = 4;   // V packed once per head
// @ts-ignore: decorator
@inline const EX_END = 5;

function exactSlotBytes(slot: i32, n: i32, np: i32, d: i32): usize {
  switch (slot) {
    case EX_KEEP: case EX_BIAS: return f32s(<usize>np);
    case EX_S: return f32s(<usize>EXACT_ROWS * <usize>np);
    case EX_PACK_KT: return align16(gemmWorkBytes(n, d));
    case EX_PACK_V: return align16(gemmWorkBytes(d, n));
  }
  return 0;
}

function exactOffset(slot: i32, n: i32, np: i32, d: i32): usize {
  let off: usize = 0;
  for (let s = 0; s < slot; s++) off += exactSlotBytes(s, n, np, d);
  return off;
}

/** Workspace bytes of exact attention on n tokens with `pad` zero rows in front. */
function exactWorkspaceBytes(n: i32, pad: i32, d: i32): usize {
  return exactOffset(EX_END, n, n + pad, d);
}

export function softmaxWorkspaceBytes(n: i32, d: i32): usize {
  return exactWorkspaceBytes(n, 0, d);
}

/**
 * Exact attention of one head on the padded length np = n + pad, for the n real query rows:
 * out (n×d) = softmax((q·kᵀ)/√d + bias)·V over the np keys (the pad keys have logit 0 and zero
 * values), or in matrix mode out (n×n) = the softmax restricted to the n real keys.
 * useKeep: whether keep/bias apply (a mask was given, or pad rows exist).
 */
function exactHead(q: usize, k: usize, v: usize, out: usize, n: i32, d: i32, pad: i32,
                   style: i32, useKeep: bool, matrix: bool, ws: usize): void {
  const np = n + pad;
  const keep = exactKeep(ws, n, np, d);
  const bias = exactBias(ws, n, np, d);
  const s = ws + exactOffset(EX_S, n, np, d);
  const packKT = ws + exactOffset(EX_PACK_KT, n, np, d);
  const packV = ws + exactOffset(EX_PACK_V, n, np, d);
  const lucid = style == STYLE_LUCIDRAINS;
  packB(n, d, k, d, 1, packKT);
  if (!matrix) packB(d, n, v, d, 0, packV);
  const colBias: usize = useKeep && !lucid ? bias : 0;
  const fill: usize = useKeep && lucid ? keep : 0;
  const scale = <f32>(1.0 / Math.sqrt(<f64>d));
  const padBytes = <usize>pad << 2;
  const sReal = s + padBytes; // the real keys' columns of the block
  for (let r0 = 0; r0 < n; r0 += EXACT_ROWS) {
    const rows = min(EXACT_ROWS, n - r0);
    for (let r = 0; r < rows; r++) memory.fill(s + (<usize>r * <usize>np << 2), 0, padBytes);
    gemmPacked(rows, n, d, q + (<usize>r0 * <usize>d << 2), d, packKT, sReal, np);
    softmaxRows(s, rows, np, np, scale, colBias, fill ? fill + (<usize>(pad + r0) << 2) : 0, fill);
    if (matrix) {
      for (let r = 0; r < rows; r++) {
        memory.copy(out + ((<usize>(r0 + r) * <usize>n) << 2), sReal + ((<usize>r * <usize>np) << 2), <usize>n << 2);
      }
    } else {
      gemmPacked(rows, d, n, sReal, np, packV, out + (<usize>r0 * <usize>d << 2), d);
    }
  }
}

/** The keep vector of this batch element in the exact workspace (filled by buildKeep). */
function exactKeep(ws: usize, n: i32, np: i32, d: i32): usize { return ws + exactOffset(EX_KEEP, n, np, d); }
function exactBias(ws: usize, n: i32, np: i32, d: i32): usize { return ws + exactOffset(EX_BIAS, n, np, d); }

/** out += conv(V) of head h, with the conv input masked as the style does. */
function addConv(v: usize, out: usize, mask: usize, conv: usize, ks: i32, b: i32, h: i32, n: i32, d: i32, style: i32): void {
  if (!conv) return;
  const keep: usize = mask && style != STYLE_HF ? mask + (<usize>b * <usize>n << 2) : 0;
  convResidualAdd(v, n, d, conv + (<usize>h * <usize>ks << 2), ks, keep, out);
}

/** Exact softmax attention over [B, H, n, d] (ALGORITHM.md "exact path masking" per style). */
export function softmaxAttention(q: usize, k: usize, v: usize, out: usize, mask: usize, conv: usize, ks: i32,
                                 B: i32, H: i32, n: i32, d: i32, style: i32, matrix: bool, ws: usize): void {
  runExact(q, k, v, out, mask, conv, ks, B, H, n, d, 0, style, matrix, ws);
}

function runExact(q: usize, k: usize, v: usize, out: usize, mask: usize, conv: usize, ks: i32,
                  B: i32, H: i32, n: i32, d: i32, pad: i32, style: i32, matrix: bool, ws: usize): void {
  const np = n + pad;
  const slab = <usize>n * <usize>d << 2;
  const outSlab = matrix ? <usize>n * <usize>n << 2 : slab;
  const useKeep = mask != 0 || pad > 0;
  for (let b = 0; b < B; b++) {
    buildKeep(exactKeep(ws, n, np, d), exactBias(ws, n, np, d), mask, b, n, pad, style);
    for (let h = 0; h < H; h++) {
      const i = <usize>(b * H + h);
      const o = out + i * outSlab;
      exactHead(q + i * slab, k + i * slab, v + i * slab, o, n, d, pad, style, useKeep, matrix, ws);
      if (!matrix) addConv(v + i * slab, o, mask, conv, ks, b, h, n, d, style);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Nyström attention

// Workspace slots. Q and K are read where the caller put them (scale, mask and padding are
// folded into the landmark means and the softmaxes); only lucidrains' masked V is copied.
// @ts-ignore: decorator
@inline const NY_KEEP = 0;    // np: keep of the padded sequence (current batch element)
// @ts-ignore: decorator
@inline const NY_BIAS = 1;    // np: additive key bias of kernel 3
// @ts-ignore: decorator
@inline const NY_LMKEEP = 2;  // B·H·m: mask counts per landmark (lucidrains masked mean)
// @ts-ignore: decorator
@inline const NY_V = 3;       // n·d: V·mask of the head in flight (lucidrains with a mask only)
// @ts-ignore: decorator
@inline const NY_QL = 4;      // B·H·m·d: Q landmarks of every head
// @ts-ignore: decorator
@inline const NY_KL = 5;      // B·H·m·d
// @ts-ignore: decorator
@inline const NY_K2 = 6;      // B·H·m·m: kernel 2 of every head
// @ts-ignore: decorator
@inline const NY_STATS = 7;   // B·H·4: matrixStats of every kernel 2
// @ts-ignore: decorator
@inline const NY_K1 = 8;      // n·m: kernel 1 (last n query rows)
// @ts-ignore: decorator
@inline const NY_K3 = 9;      // m·np: kernel 3
// @ts-ignore: decorator
@inline const NY_Z = 10;       // m·m: pinv(kernel 2)
// @ts-ignore: decorator
@inline const NY_K3V = 11;     // m·d
// @ts-ignore: decorator
@inline const NY_W = 12;       // n·m: k1·Z
// @ts-ignore: decorator
@inline const NY_PINV = 13;    // pinv scratch
// @ts-ignore: decorator
@inline const NY_GEMM = 14;    // packed-B scratch shared by every product
// @ts-ignore: decorator
@inline const NY_END = 15;

function maxGemmWork(n: i32, np: i32, d: i32, m: i32, matrix: bool): usize {
  let w = gemmWorkBytes(m, d);                 // Q·K~ᵀ and Q~·K~ᵀ
  w = max(w, gemmWorkBytes(n, d));             // Q~·Kᵀ
  w = max(w, gemmWorkBytes(d, n));             // k3·V
  w = max(w, gemmWorkBytes(m, m));             // k1·Z
  w = max(w, gemmWorkBytes(d, m));             // W·(k3V)
  if (matrix) w = max(w, gemmWorkBytes(n, m)); // W·k3
  return align16(w);
}

function nySlotBytes(slot: i32, BH: i32, n: i32, np: i32, d: i32, m: i32, style: i32, matrix: bool): usize {
  const bh = <usize>BH;
  switch (slot) {
    case NY_KEEP: case NY_BIAS: return f32s(<usize>np);
    case NY_LMKEEP: return f32s(bh * <usize>m);
    case NY_V: return style == STYLE_LUCIDRAINS && !matrix ? f32s(<usize>n * <usize>d) : 0;
    case NY_QL: case NY_KL: return f32s(bh * <usize>m * <usize>d);
    case NY_K2: return f32s(bh * <usize>m * <usize>m);
    case NY_STATS: return f32s(bh * 4);
    case NY_K1: case NY_W: return f32s(<usize>n * <usize>m);
    case NY_K3: return f32s(<usize>m * <usize>np);
    case NY_Z: return f32s(<usize>m * <usize>m);
    case NY_K3V: return f32s(<usize>m * <usize>d);
    case NY_PINV: return align16(pinvWorkBytes(m));
    case NY_GEMM: return maxGemmWork(n, np, d, m, matrix);
  }
  return 0;
}

/** Authors and hf run exact attention when m equals the length the algorithm runs on. */
function takesExactPath(n: i32, m: i32, style: i32, remainder: i32): bool {
  return style != STYLE_LUCIDRAINS && m == n + padRows(n, m, remainder);
}

export function nystromWorkspaceBytes(B: i32, H: i32, n: i32, d: i32, m: i32, style: i32, remainder: i32, matrix: bool): usize {
  const np = n + padRows(n, m, remainder);
  if (takesExactPath(n, m, style, remainder)) return exactWorkspaceBytes(n, np - n, d);
  let total: usize = 0;
  for (let s = 0; s < NY_END; s++) total += nySlotBytes(s, B * H, n, np, d, m, style, matrix);
  return total;
}

// The call in flight. Calls never nest and an instance runs one call at a time, so the per-head
// steps below read their shape from here instead of from long argument lists.
let cH: i32 = 0, cN: i32 = 0, cNp: i32 = 0, cD: i32 = 0, cM: i32 = 0, cPad: i32 = 0;
let cStyle: i32 = 0, cUneven: i32 = 0, cIters: i32 = 0, cMatrix: bool = false;
let cQ: usize = 0, cK: usize = 0, cV: usize = 0, cOut: usize = 0, cMask: usize = 0, cConv: usize = 0, cKs: i32 = 0;
/** Absolute address of every workspace slot of the call in flight (a static table, not heap). */
const SLOT = memory.data(NY_END * 8, 16);

// @ts-ignore: decorator
@inline function slot(s: i32): usize { return load<usize>(SLOT + (<usize>s << 3)); }

/**
 * Nyström attention over [B, H, n, d]. Options are validated by the host: m ≥ 1; with remainder
 * 'error' m divides n; with 'uneven' m ≤ n; iters ≥ 0; ks odd.
 */
export function nystromAttention(q: usize, k: usize, v: usize, out: usize, mask: usize, conv: usize, ks: i32,
                                 B: i32, H: i32, n: i32, d: i32, m: i32, iters: i32, init: i32, style: i32,
                                 remainder: i32, matrix: bool, ws: usize): void {
  const pad = padRows(n, m, remainder);
  if (takesExactPath(n, m, style, remainder)) {
    runExact(q, k, v, out, mask, conv, ks, B, H, n, d, pad, style, matrix, ws);
    return;
  }
  const BH = B * H;
  cH = H; cN = n; cNp = n + pad; cD = d; cM = m; cPad = pad; cStyle = style; cIters = iters;
  cUneven = remainder == REMAINDER_UNEVEN ? 1 : 0; cMatrix = matrix;
  cQ = q; cK = k; cV = v; cOut = out; cMask = mask; cConv = conv; cKs = ks;
  let off = ws;
  for (let s = 0; s < NY_END; s++) {
    store<usize>(SLOT + (<usize>s << 3), off);
    off += nySlotBytes(s, BH, n, cNp, d, m, style, matrix);
  }
  const stats = slot(NY_STATS);
  if ((init == INIT_ORIGINAL || init == INIT_ABS_ROWCOL) && BH > 1) {
    // α is one scalar for the whole call: landmarks and kernel 2 of every head first.
    for (let i = 0; i < BH; i++) nyLandmarks(i);
    let maxCol: f32 = -Infinity, maxRow: f32 = 0, maxAbsCol: f32 = 0;
    for (let i = 0; i < BH; i++) {
      const st = stats + (<usize>i << 4);
      maxCol = max(maxCol, load<f32>(st));
      maxRow = max(maxRow, load<f32>(st, 4));
      maxAbsCol = max(maxAbsCol, load<f32>(st, 8));
    }
    const alpha: f32 = init == INIT_ORIGINAL ? <f32>1 / maxCol : <f32>1 / (maxRow * maxAbsCol);
    for (let i = 0; i < BH; i++) {
      nyKeep(i); // phase 1 left the keep vector of the last head's batch element
      nyCompose(i, alpha);
    }
  } else {
    // Per-head α (or a single head): one pass.
    for (let i = 0; i < BH; i++) {
      nyLandmarks(i);
      const st = stats + (<usize>i << 4);
      const alpha: f32 = init == INIT_ORIGINAL || init == INIT_EXACT
        ? <f32>1 / load<f32>(st)
        : <f32>1 / (load<f32>(st, 4) * load<f32>(st, 8));
      nyCompose(i, alpha);
    }
  }
}

/** Keep vector and key bias of head i's batch element. */
function nyKeep(i: i32): void {
  buildKeep(slot(NY_KEEP), slot(NY_BIAS), cMask, i / cH, cN, cPad, cStyle);
}

/** Phase 1 of head i: landmarks, kernel 2 and its statistics. */
function nyLandmarks(i: i32): void {
  nyKeep(i);
  const m = cM, d = cD, b = i / cH;
  const slab = <usize>i * <usize>cN * <usize>d << 2;
  const lucidMask = cStyle == STYLE_LUCIDRAINS && cMask != 0;
  // Authors and lucidrains average the masked rows (a masked row counts in the authors' divisor);
  // lucidrains divides by the mask count (+ eps) instead. hf averages the raw rows.
  const userKeep: usize = cMask && cStyle != STYLE_HF ? cMask + (<usize>b * <usize>cN << 2) : 0;
  const lm = slot(NY_LMKEEP) + (<usize>i * <usize>m << 2);
  const ql = slot(NY_QL) + (<usize>i * <usize>m * <usize>d << 2);
  const kl = slot(NY_KL) + (<usize>i * <usize>m * <usize>d << 2);
  const k2 = slot(NY_K2) + (<usize>i * <usize>m * <usize>m << 2);
  const mm = lucidMask ? 1 : 0;
  segmentMeans(cQ + slab, cN, d, m, cUneven, cPad, qScale(cStyle, d), userKeep, mm, LUCID_EPS, ql, lucidMask ? lm : 0);
  segmentMeans(cK + slab, cN, d, m, cUneven, cPad, kScale(cStyle, d), userKeep, mm, LUCID_EPS, kl, 0);
  gemm(m, m, d, ql, d, kl, d, 1, k2, m, slot(NY_GEMM));
  // lucidrains: pairs with an empty landmark (mask count 0) are filled.
  softmaxRows(k2, m, m, m, 1, 0, lucidMask ? lm : 0, lucidMask ? lm : 0);
  matrixStats(k2, m, slot(NY_STATS) + (<usize>i << 4));
}

/** Phase 2 of head i: kernels 1 and 3, pinv, the products, conv. */
function nyCompose(i: i32, alpha: f32): void {
  const n = cN, np = cNp, d = cD, m = cM, pad = cPad;
  const b = i / cH;
  const slab = <usize>i * <usize>n * <usize>d << 2;
  const lucid = cStyle == STYLE_LUCIDRAINS;
  const lucidMask = lucid && cMask != 0;
  const useBias = !lucid && (cMask != 0 || pad > 0);
  const keep = slot(NY_KEEP);
  const lm = slot(NY_LMKEEP) + (<usize>i * <usize>m << 2);
  const ql = slot(NY_QL) + (<usize>i * <usize>m * <usize>d << 2);
  const kl = slot(NY_KL) + (<usize>i * <usize>m * <usize>d << 2);
  const k2 = slot(NY_K2) + (<usize>i * <usize>m * <usize>m << 2);
  const k1 = slot(NY_K1), k3 = slot(NY_K3), z = slot(NY_Z), w = slot(NY_W), gw = slot(NY_GEMM);
  // Kernel 1 for the n real query rows (the pad rows' output is discarded), from the raw Q with its
  // scale folded into the softmax. A masked query row gives a different (unspecified) row than with
  // Q·mask, and only that row: lucidrains fills it anyway.
  gemm(n, m, d, cQ + slab, d, kl, d, 1, k1, m, gw);
  softmaxRows(k1, n, m, m, qScale(cStyle, d), 0, lucidMask ? keep + (<usize>pad << 2) : 0, lucidMask ? lm : 0);
  // Kernel 3 over the padded keys: the pad keys (zero rows) have logit 0; the real keys use the raw K
  // with its scale folded into the softmax. Masked keys get weight 0 either way (bias or fill).
  for (let r = 0; r < m; r++) memory.fill(k3 + (<usize>r * <usize>np << 2), 0, <usize>pad << 2);
  gemm(m, n, d, ql, d, cK + slab, d, 1, k3 + (<usize>pad << 2), np, gw);
  softmaxRows(k3, m, np, np, kScale(cStyle, d), useBias ? slot(NY_BIAS) : 0, lucidMask ? lm : 0, lucidMask ? keep : 0);
  pinvIterate(k2, z, m, cIters, alpha, slot(NY_PINV));
  gemm(n, m, m, k1, m, z, m, 0, w, m, gw);
  if (cMatrix) {
    gemm(n, n, m, w, m, k3 + (<usize>pad << 2), np, 0, cOut + (<usize>i * <usize>n * <usize>n << 2), n, gw);
    return;
  }
  // k3·V over the real keys (the pad rows of V are zero). lucidrains multiplies V by the mask: it
  // matters where a whole landmark is empty, whose row of k3 is uniform over every key.
  let vsrc = cV + slab;
  if (lucidMask) {
    vsrc = slot(NY_V);
    copyRowsScaled(vsrc, cV + slab, n, d, 1, cMask + (<usize>b * <usize>n << 2));
  }
  const k3v = slot(NY_K3V);
  gemm(m, d, n, k3 + (<usize>pad << 2), np, vsrc, d, 0, k3v, d, gw);
  const o = cOut + slab;
  gemm(n, d, m, w, m, k3v, d, 0, o, d, gw);
  addConv(cV + slab, o, cMask, cConv, cKs, b, i % cH, n, d, cStyle);
}
