// Blocked f32 matrix multiply: C[M×N] = A[M×K]·op(B), op(B) = B or Bᵀ.
//
// Layout and strides. All matrices are row-major f32; pointers are byte addresses, strides (lda,
// ldb, ldc) are in floats. A is M×K with row stride lda ≥ K. With transB = 0, B is K×N with row
// stride ldb ≥ N; with transB = 1, B is stored N×K with row stride ldb ≥ K and used transposed.
// C is M×N with row stride ldc ≥ N.
//
// Scratch (`work`, gemmWorkBytes(N, K) bytes, 16-byte aligned):
//   [0, ⌈N/8⌉·K·32)   packed B: ⌈N/8⌉ panels of 8 columns, each K rows of 8 contiguous floats
//                     (panel p, row k at float offset (p·K + k)·8). The last panel is zero-padded
//                     past column N, so every tile computes 8 columns and only the stores see the tail.
//   then mBlock(kc)·kc floats (kc = kBlock(K)): packed A for one M block × one K block, as 4-row tiles
//                     (4 floats per k) and a last tile of M mod 4 rows (that many floats per k).
// packB writes only the first part; gemmPacked reads it and overwrites the second part, so calls
// sharing one packed B (e.g. from several threads) each need their own copy of the A part.
// gemm itself, when M fits one M block and K one K block (M ≤ 64 for K ≤ 1024), packs B a group
// of panels at a time into the start of the first part instead, or with transB = 0 and a B of at
// most 32 KiB reads its full panels in place (same sums, same bits).
//
// In the relaxed build, an A with row stride lda = 64 floats (A_DIRECT_LD) is not packed at all: its
// rows are 256 bytes apart, so a 4-row tile's broadcasts are immediate offsets from one pointer just
// as in a packed tile (4096×64×64 and 64³ 4–6 % faster). For the same reason gemm computes a
// transB = 1 product with ldb = 64, M ≤ N and a small A as Cᵀ = B·Aᵀ: the stored rows of B play
// A's part in place, A is packed as panels, and each tile is transposed into C (64×4096×64 3–4 %
// faster: the 1 MB B is not transposed into panels; columns go in chunks of BT_CHUNK so that C's
// far-apart rows receive whole cache lines at a time). The plain build keeps packing: the in-place
// reads measured 3–5 % slower there.
//
// Tail policy: only C[i][j] with i < M, j < N is written (the last panel stores lanes, never past
// the row end, so ldc padding is untouched); A and B are read only inside their M×K / K×N (N×K)
// ranges, with lane loads at the column tail. K == 0 writes zeros; M == 0 or N == 0 is a no-op.
//
// Aliasing: C must not alias A, B or work; work must not alias A or B. With K > KC_MAX the kernel
// accumulates into C between K blocks (C's previous content is overwritten by the first block,
// never read).
//
// Rounding: each C element is one sequential sum over k = 0..K−1 (K blocks continue it in order).
// The plain build rounds the product and the sum separately, so it is bit-identical to the scalar
// loop `s += a[i][k] * b[k][j]` in f32; the relaxed build fuses them (one rounding per step).
//
// Tiles. V8 gives wasm 15 vector registers, and its scheduler issues all loads of a loop body
// before the arithmetic, so every loaded value is live at once: a tile R×8 needs 2·R accumulators
// + 2 B vectors + R broadcast A values (+1 product in the plain build). 4×8 (14, 15 plain) is the
// largest that fits; 5×8 and 6×8 spilled (measured: 6×8 relaxed ran at half the speed of 4×8).
// The k loop is not unrolled for the same reason. Both builds use 4×8.
// A is packed per M block and K block into `work` (R floats per k per tile), so the R
// broadcasts use one pointer with immediate offsets: that keeps the loop body short enough to be
// FMA-bound. Remainder rows (M mod 4) use the exact 3-, 2- or 1-row tile, not a scalar path.

import { loadPartial, madd, storePartial } from './util';
import { enter, leave } from './profile';
import { PROF_GEMM } from './abi.generated';

// Rows per main tile (both builds: see Tiles above).
const MR: i32 = 4;
// Maximum K block. Long K blocks keep the A reads long and sequential (short strided runs of a big A
// were DRAM-latency bound: 4096×64×4096 ran 20 % slower with 512-deep blocks).
const KC_MAX: i32 = 4096;
// Packed A block budget (M block rows × kc floats): it stays in L2 while each panel slice passes
// all of its row tiles; the rows per M block follow from kc (64 rows up to kc = 1024, 16 at 4096).
const A_BLOCK_BYTES: i32 = 256 << 10;
const MC_MAX: i32 = 64;
// Relaxed build: an A with this row stride (floats) is read in place, not packed: the four rows of a
// tile are then immediate offsets from one pointer, as in a packed tile.
const A_DIRECT_LD: i32 = 64;
// Relaxed build: gemm computes Cᵀ = op(B)ᵀ·Aᵀ instead (B's rows read in place, A packed as panels)
// when transB = 1, ldb = A_DIRECT_LD, M ≤ N and the packed A is at most this many bytes, BT_CHUNK
// columns of C at a time.
const BT_DIRECT_A_BYTES: i32 = 32 << 10;
const BT_CHUNK: i32 = 128;
// Packed B group of gemm's single-block path.
const JIT_GROUP_BYTES: i32 = 64 << 10;
// gemm's single-block path reads a B (transB = 0) of at most this many bytes in place.
const IN_PLACE_B_BYTES: i32 = 32 << 10;

// K block depth for a K: even blocks no larger than KC_MAX (5000 becomes 2×2500, not 4096 + 904).
@inline function kBlock(K: i32): i32 {
  const nkb = (K + KC_MAX - 1) / KC_MAX;
  return (K + nkb - 1) / nkb;
}

// Rows per M block for a K block of kc: a multiple of 4 in [4, MC_MAX] within A_BLOCK_BYTES.
@inline function mBlock(kc: i32): i32 {
  return max(4, min(MC_MAX, (A_BLOCK_BYTES / (kc << 2)) & ~3));
}

/** Bytes of `work` for gemm / packB + gemmPacked with this N and K: the packed B panels plus one
 *  packed A block (layout in the file header); a multiple of 16. */
export function gemmWorkBytes(N: i32, K: i32): usize {
  if (N <= 0 || K <= 0) return 0;
  const kc = kBlock(K);
  return packedBBytes(N, K) + ((<usize>(mBlock(kc) * kc)) << 2);
}

@inline function packedBBytes(N: i32, K: i32): usize {
  return ((<usize>((N + 7) >> 3)) * (<usize>K)) << 5;
}

// Interleaves R ≤ 4 rows of A (row stride lda4 bytes), kc columns from a, as kc groups of R floats.
function packA(R: i32, kc: i32, a: usize, lda4: usize, dst: usize): void {
  if (R == 4) {
    const r0 = a, r1 = a + lda4, r2 = r1 + lda4, r3 = r2 + lda4;
    const k4 = kc & ~3;
    let o: usize = 0;
    const o4 = (<usize>k4) << 2;
    while (o < o4) {
      const v0 = v128.load(r0 + o), v1 = v128.load(r1 + o);
      const v2 = v128.load(r2 + o), v3 = v128.load(r3 + o);
      const l01 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), h01 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7);
      const l23 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5), h23 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
      v128.store(dst, v128.shuffle<f32>(l01, l23, 0, 1, 4, 5));
      v128.store(dst, v128.shuffle<f32>(l01, l23, 2, 3, 6, 7), 16);
      v128.store(dst, v128.shuffle<f32>(h01, h23, 0, 1, 4, 5), 32);
      v128.store(dst, v128.shuffle<f32>(h01, h23, 2, 3, 6, 7), 48);
      o += 16; dst += 64;
    }
    const end = (<usize>kc) << 2;
    while (o < end) {
      store<f32>(dst, load<f32>(r0 + o));
      store<f32>(dst, load<f32>(r1 + o), 4);
      store<f32>(dst, load<f32>(r2 + o), 8);
      store<f32>(dst, load<f32>(r3 + o), 12);
      o += 4; dst += 16;
    }
  } else {
    for (let r = 0; r < R; r++) {
      let src = a + (<usize>r) * lda4;
      let d = dst + ((<usize>r) << 2);
      const end = src + ((<usize>kc) << 2);
      const step = (<usize>R) << 2;
      while (src < end) { store<f32>(d, load<f32>(src)); src += 4; d += step; }
    }
  }
}

/** Packs op(B) (K×N) into 8-column panels at `work` (layout in the file header). */
export function packB(N: i32, K: i32, b: usize, ldb: i32, transB: i32, work: usize): void {
  enter(PROF_GEMM);
  packBBody(N, K, b, ldb, transB, work);
  leave();
}

function packBBody(N: i32, K: i32, b: usize, ldb: i32, transB: i32, work: usize): void {
  if (N <= 0 || K <= 0) return;
  const np = (N + 7) >> 3;
  const ldb4 = (<usize>ldb) << 2;
  const panelBytes = (<usize>K) << 5;
  if (transB == 0) {
    // Rows in chunks of 8: each chunk streams 8 rows of B left to right while every panel receives
    // 8 consecutive packed rows (a panel-at-a-time walk down 16 KB-strided rows was 2× slower).
    for (let k0 = 0; k0 < K; k0 += 8) {
      const kn = min(8, K - k0);
      const srcRow = b + (<usize>k0) * ldb4;
      const dstRow = work + ((<usize>k0) << 5);
      for (let p = 0; p < np; p++) {
        const nc = min(8, N - (p << 3));
        let src = srcRow + ((<usize>p) << 5);
        let dst = dstRow + (<usize>p) * panelBytes;
        const end = dst + ((<usize>kn) << 5);
        if (nc == 8) {
          do {
            v128.store(dst, v128.load(src));
            v128.store(dst, v128.load(src, 16), 16);
            src += ldb4; dst += 32;
          } while (dst < end);
        } else {
          do {
            v128.store(dst, loadPartial(src, nc));
            v128.store(dst, loadPartial(src + 16, nc - 4), 16);
            src += ldb4; dst += 32;
          } while (dst < end);
        }
      }
    }
  } else {
    // Bᵀ: panel p gathers rows 8p..8p+7 of the stored N×K matrix; 4×4 blocks are transposed with
    // shuffles so each packed row is two vector stores.
    const K4 = K & ~3;
    for (let p = 0; p < np; p++) {
      const n0 = p << 3;
      const nc = min(8, N - n0);
      const dst0 = work + (<usize>p) * panelBytes;
      if (nc == 8) {
        const r0 = b + (<usize>n0) * ldb4;
        const r1 = r0 + ldb4, r2 = r1 + ldb4, r3 = r2 + ldb4;
        const r4 = r3 + ldb4, r5 = r4 + ldb4, r6 = r5 + ldb4, r7 = r6 + ldb4;
        let dst = dst0;
        for (let k = 0; k < K4; k += 4) {
          const o = (<usize>k) << 2;
          const v0 = v128.load(r0 + o), v1 = v128.load(r1 + o);
          const v2 = v128.load(r2 + o), v3 = v128.load(r3 + o);
          const l01 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), h01 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7);
          const l23 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5), h23 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
          v128.store(dst, v128.shuffle<f32>(l01, l23, 0, 1, 4, 5));
          v128.store(dst, v128.shuffle<f32>(l01, l23, 2, 3, 6, 7), 32);
          v128.store(dst, v128.shuffle<f32>(h01, h23, 0, 1, 4, 5), 64);
          v128.store(dst, v128.shuffle<f32>(h01, h23, 2, 3, 6, 7), 96);
          const v4 = v128.load(r4 + o), v5 = v128.load(r5 + o);
          const v6 = v128.load(r6 + o), v7 = v128.load(r7 + o);
          const l45 = v128.shuffle<f32>(v4, v5, 0, 4, 1, 5), h45 = v128.shuffle<f32>(v4, v5, 2, 6, 3, 7);
          const l67 = v128.shuffle<f32>(v6, v7, 0, 4, 1, 5), h67 = v128.shuffle<f32>(v6, v7, 2, 6, 3, 7);
          v128.store(dst, v128.shuffle<f32>(l45, l67, 0, 1, 4, 5), 16);
          v128.store(dst, v128.shuffle<f32>(l45, l67, 2, 3, 6, 7), 48);
          v128.store(dst, v128.shuffle<f32>(h45, h67, 0, 1, 4, 5), 80);
          v128.store(dst, v128.shuffle<f32>(h45, h67, 2, 3, 6, 7), 112);
          dst += 128;
        }
        for (let k = K4; k < K; k++) {
          const o = (<usize>k) << 2;
          store<f32>(dst, load<f32>(r0 + o));
          store<f32>(dst, load<f32>(r1 + o), 4);
          store<f32>(dst, load<f32>(r2 + o), 8);
          store<f32>(dst, load<f32>(r3 + o), 12);
          store<f32>(dst, load<f32>(r4 + o), 16);
          store<f32>(dst, load<f32>(r5 + o), 20);
          store<f32>(dst, load<f32>(r6 + o), 24);
          store<f32>(dst, load<f32>(r7 + o), 28);
          dst += 32;
        }
      } else {
        // Tail panel: nc < 8 real rows, the rest zero.
        for (let j = 0; j < 8; j++) {
          let dst = dst0 + ((<usize>j) << 2);
          const end = dst + panelBytes;
          if (j < nc) {
            let src = b + (<usize>(n0 + j)) * ldb4;
            do { store<f32>(dst, load<f32>(src)); src += 4; dst += 32; } while (dst < end);
          } else {
            do { store<f32>(dst, 0); dst += 32; } while (dst < end);
          }
        }
      }
    }
  }
}

/** C[M×N] = A[M×K]·op(B) with op(B) already packed at `work` by packB(N, K, ...). */
export function gemmPacked(M: i32, N: i32, K: i32, a: usize, lda: i32, work: usize, c: usize, ldc: i32): void {
  gemmPackedB(M, N, K, a, lda, work, work + packedBBytes(N, K), c, ldc);
}

/**
 * C[M×N] = A[M×K]·op(B) with op(B) packed at `bpack` by packB(N, K, ...) (⌈N/8⌉·K·32 bytes), and A
 * packed per block into `apack` (gemmWorkBytes(N, K) − ⌈N/8⌉·K·32 bytes): a B packed once (a weight)
 * serves any number of calls, each with its own A scratch. Same sums as gemm.
 */
export function gemmPackedB(M: i32, N: i32, K: i32, a: usize, lda: i32, bpack: usize, apack: usize, c: usize, ldc: i32): void {
  enter(PROF_GEMM);
  gemmPackedBBody(M, N, K, a, lda, bpack, apack, c, ldc);
  leave();
}

function gemmPackedBBody(M: i32, N: i32, K: i32, a: usize, lda: i32, bpack: usize, apack: usize, c: usize, ldc: i32): void {
  if (M <= 0 || N <= 0) return;
  const work = bpack;
  const ldc4 = (<usize>ldc) << 2;
  if (K <= 0) {
    for (let i = 0; i < M; i++) {
      const row = c + (<usize>i) * ldc4;
      for (let j = 0; j < N; j++) store<f32>(row + ((<usize>j) << 2), 0);
    }
    return;
  }
  const lda4 = (<usize>lda) << 2;
  const np = (N + 7) >> 3;
  const panelBytes = (<usize>K) << 5;
  const kcStep = kBlock(K);
  const MC = mBlock(kcStep);
  for (let k0 = 0; k0 < K; k0 += kcStep) {
    const kc = min(kcStep, K - k0);
    const acc = k0 > 0;
    const bk = work + ((<usize>k0) << 5);
    const ak = a + ((<usize>k0) << 2);
    const tileBytes = (<usize>kc) << 4; // one packed 4-row tile of this K block
    for (let m0 = 0; m0 < M; m0 += MC) {
      const mc = min(MC, M - m0);
      const full = mc >> 2;     // 4-row tiles in this M block
      const rem = mc & 3;       // rows of the last, smaller tile
      const direct = ASC_FEATURE_RELAXED_SIMD && lda == A_DIRECT_LD;
      if (!direct) {
        for (let t = 0; t < full; t++) {
          packA(4, kc, ak + (<usize>(m0 + (t << 2))) * lda4, lda4, apack + (<usize>t) * tileBytes);
        }
      }
      const remA = apack + (<usize>full) * tileBytes;
      const remRow = m0 + (full << 2);
      if (rem > 0) packA(rem, kc, ak + (<usize>remRow) * lda4, lda4, remA);
      const a4 = direct ? ak + (<usize>m0) * lda4 : apack;
      panels(kc, acc, a4, direct, full, rem, remA, bk, panelBytes, 32, np, N, c + (<usize>m0) * ldc4, ldc4);
    }
  }
}

// Runs np panels (at bk, panelBytes apart, rows bs bytes apart; N columns in all) against one M block
// (`full` 4-row tiles at apack, then a `rem`-row tile at remA); c is the block's first C element.
// Each panel's K-block slice stays in L1 while all row tiles of the M block (in L2) pass it.
function panels(kc: i32, acc: bool, apack: usize, direct: bool, full: i32, rem: i32, remA: usize, bk: usize,
                panelBytes: usize, bs: usize, np: i32, N: i32, c: usize, ldc4: usize): void {
  for (let p = 0; p < np; p++) {
    const bp = bk + (<usize>p) * panelBytes;
    const nc = min(8, N - (p << 3));
    let cp = c + ((<usize>p) << 5);
    if (full > 0) {
      if (direct) tile4x8d(kc, apack, bp, bs, cp, ldc4, nc, acc, full);
      else tile4x8(kc, apack, bp, bs, cp, ldc4, nc, acc, full);
    }
    cp += (<usize>full) * (ldc4 << 2);
    if (rem == 3) tile3x8(kc, remA, bp, bs, cp, ldc4, nc, acc);
    else if (rem == 2) tile2x8(kc, remA, bp, bs, cp, ldc4, nc, acc);
    else if (rem == 1) tile1x8(kc, remA, bp, bs, cp, ldc4, nc, acc);
  }
}

/** C[M×N] = A[M×K]·op(B); `work` holds gemmWorkBytes(N, K) bytes (16-byte aligned). */
export function gemm(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, transB: i32,
                     c: usize, ldc: i32, work: usize): void {
  enter(PROF_GEMM);
  gemmBody(M, N, K, a, lda, b, ldb, transB, c, ldc, work);
  leave();
}

function gemmBody(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, transB: i32,
                     c: usize, ldc: i32, work: usize): void {
  if (M <= 0 || N <= 0) return;
  if (ASC_FEATURE_RELAXED_SIMD && transB != 0 && ldb == A_DIRECT_LD && K > 0 && M <= N && N >= 4 &&
      packedBBytes(M, K) <= <usize>BT_DIRECT_A_BYTES) {
    // Cᵀ = B·Aᵀ: the rows of the stored B are the A operand of the 4×8 tile, read in place (as
    // tile4x8d reads A), and A is packed as panels of 8 rows (the packB layout, ⌈M/8⌉ ≤ ⌈N/8⌉
    // panels, so within gemmWorkBytes); each tile is transposed on its way into C. Same sums in
    // the same order as the other paths. The last N mod 4 columns take the ordinary path.
    packB(M, K, a, lda, 1, work);
    const n4 = N & ~3;
    const ldb4 = (<usize>ldb) << 2, ldc4 = (<usize>ldc) << 2;
    const np = (M + 7) >> 3;
    const panelBytes = (<usize>K) << 5;
    // Columns in chunks of BT_CHUNK: each panel's 8 rows of C receive whole cache lines in a row
    // (tile by tile, 4 columns each, C rows far apart would see 16 bytes per line at a time).
    for (let j0 = 0; j0 < n4; j0 += BT_CHUNK) {
      const j1 = min(n4, j0 + BT_CHUNK);
      for (let p = 0; p < np; p++) {
        const bp = work + (<usize>p) * panelBytes;
        const nr = min(8, M - (p << 3));
        const cp = c + (<usize>(p << 3)) * ldc4;
        for (let j = j0; j < j1; j += 4) {
          tile4x8t(K, b + (<usize>j) * ldb4, bp, nr, cp + ((<usize>j) << 2), ldc4);
        }
      }
    }
    if (n4 < N) gemm(M, N - n4, K, a, lda, b + (<usize>n4) * ldb4, ldb, 1, c + ((<usize>n4) << 2), ldc, work);
    return;
  }
  if (K > 0 && K <= KC_MAX && M <= mBlock(K) && N > 8) {
    // One M block and one K block: B is used by this block only, so pack it a group of panels at a
    // time into the start of `work` (a group stays in L1/L2) instead of packing all of it first.
    // Same arithmetic in the same order as packB + gemmPacked, so the result is identical.
    const lda4 = (<usize>lda) << 2, ldb4 = (<usize>ldb) << 2, ldc4 = (<usize>ldc) << 2;
    const panelBytes = (<usize>K) << 5;
    const apack = work + packedBBytes(N, K);
    const full = M >> 2, rem = M & 3;
    const tileBytes = (<usize>K) << 4;
    const direct = ASC_FEATURE_RELAXED_SIMD && lda == A_DIRECT_LD;
    if (!direct) {
      for (let t = 0; t < full; t++) packA(4, K, a + (<usize>(t << 2)) * lda4, lda4, apack + (<usize>t) * tileBytes);
    }
    const a4 = direct ? a : apack;
    const remA = apack + (<usize>full) * tileBytes;
    if (rem > 0) packA(rem, K, a + (<usize>(full << 2)) * lda4, lda4, remA);
    if (transB == 0 && (<usize>K) * ldb4 <= <usize>IN_PLACE_B_BYTES) {
      // A small B (within L1): its rows already hold each panel's 8 columns contiguously, so full
      // panels are read in place (row stride ldb) and only the zero-padded tail panel is packed.
      // (For a wide B the strided walk is 2× slower than packing.)
      const npFull = N >> 3;
      panels(K, false, a4, direct, full, rem, remA, b, 32, ldb4, npFull, npFull << 3, c, ldc4);
      const tail = N & 7;
      if (tail > 0) {
        const j0 = <usize>(npFull << 3);
        packB(tail, K, b + (j0 << 2), ldb, 0, work);
        panels(K, false, a4, direct, full, rem, remA, work, panelBytes, 32, 1, tail, c + (j0 << 2), ldc4);
      }
      return;
    }
    const group = max(1, JIT_GROUP_BYTES / (K << 5));   // panels per group
    for (let j0 = 0; j0 < N; j0 += group << 3) {
      const nj = min(group << 3, N - j0);
      packB(nj, K, transB ? b + (<usize>j0) * ldb4 : b + ((<usize>j0) << 2), ldb, transB, work);
      panels(K, false, a4, direct, full, rem, remA, work, panelBytes, 32, (nj + 7) >> 3, nj, c + ((<usize>j0) << 2), ldc4);
    }
    return;
  }
  packB(N, K, b, ldb, transB, work);
  gemmPacked(M, N, K, a, lda, work, c, ldc);
}

// tile4x8 with A read in place: rows A_DIRECT_LD floats apart (immediate offsets), no packing.
function tile4x8d(kc: i32, ap0: usize, bp0: usize, bs: usize, c: usize, ldc4: usize, nc: i32, acc: bool, tiles: i32): void {
  const bEnd = bp0 + (<usize>kc) * bs;
  const cStep = ldc4 * 4;
  do {
    let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
    let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
    let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
    let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
    if (acc) {
      c00 = loadPartial(c, nc); c01 = loadPartial(c + 16, nc - 4);
      c10 = loadPartial(c + ldc4, nc); c11 = loadPartial(c + ldc4 + 16, nc - 4);
      c20 = loadPartial(c + ldc4 * 2, nc); c21 = loadPartial(c + ldc4 * 2 + 16, nc - 4);
      c30 = loadPartial(c + ldc4 * 3, nc); c31 = loadPartial(c + ldc4 * 3 + 16, nc - 4);
    }
    let bp = bp0;
    let ap = ap0;
    do {
      const b0 = v128.load(bp), b1 = v128.load(bp, 16);
      const x0 = v128.load32_splat(ap);
      c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01);
      const x1 = v128.load32_splat(ap, A_DIRECT_LD * 4);
      c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11);
      const x2 = v128.load32_splat(ap, A_DIRECT_LD * 8);
      c20 = madd(x2, b0, c20); c21 = madd(x2, b1, c21);
      const x3 = v128.load32_splat(ap, A_DIRECT_LD * 12);
      c30 = madd(x3, b0, c30); c31 = madd(x3, b1, c31);
      ap += 4; bp += bs;
    } while (bp < bEnd);
    if (nc == 8) {
      v128.store(c, c00); v128.store(c, c01, 16);
      v128.store(c + ldc4, c10); v128.store(c + ldc4, c11, 16);
      v128.store(c + ldc4 * 2, c20); v128.store(c + ldc4 * 2, c21, 16);
      v128.store(c + ldc4 * 3, c30); v128.store(c + ldc4 * 3, c31, 16);
    } else {
      storePartial(c, c00, nc); storePartial(c + 16, c01, nc - 4);
      storePartial(c + ldc4, c10, nc); storePartial(c + ldc4 + 16, c11, nc - 4);
      storePartial(c + ldc4 * 2, c20, nc); storePartial(c + ldc4 * 2 + 16, c21, nc - 4);
      storePartial(c + ldc4 * 3, c30, nc); storePartial(c + ldc4 * 3 + 16, c31, nc - 4);
    }
    c += cStep;
    ap0 += A_DIRECT_LD * 16;
  } while (--tiles > 0);
}

// C[0..M)[0..4) = A'·Bp with A' the 4 rows at ap0 (A_DIRECT_LD floats apart, read in place, kc
// floats each) and Bp the np packed panels at bp0 (panelBytes apart): the 4×8 tile of each panel
// is transposed into rows 8p..8p+7 (those < M) of C, 4 columns each.
function tile4x8t(kc: i32, ap0: usize, bp0: usize, nr: i32, c: usize, ldc4: usize): void {
  const kBytes = (<usize>kc) << 5;
  {
    let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
    let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
    let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
    let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
    let bp = bp0;
    const bEnd = bp + kBytes;
    let ap = ap0;
    do {
      const b0 = v128.load(bp), b1 = v128.load(bp, 16);
      const x0 = v128.load32_splat(ap);
      c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01);
      const x1 = v128.load32_splat(ap, A_DIRECT_LD * 4);
      c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11);
      const x2 = v128.load32_splat(ap, A_DIRECT_LD * 8);
      c20 = madd(x2, b0, c20); c21 = madd(x2, b1, c21);
      const x3 = v128.load32_splat(ap, A_DIRECT_LD * 12);
      c30 = madd(x3, b0, c30); c31 = madd(x3, b1, c31);
      ap += 4; bp += 32;
    } while (bp < bEnd);
    let cp = c;
    const t0 = v128.shuffle<f32>(c00, c10, 0, 4, 1, 5), t1 = v128.shuffle<f32>(c00, c10, 2, 6, 3, 7);
    const t2 = v128.shuffle<f32>(c20, c30, 0, 4, 1, 5), t3 = v128.shuffle<f32>(c20, c30, 2, 6, 3, 7);
    const u0 = v128.shuffle<f32>(c01, c11, 0, 4, 1, 5), u1 = v128.shuffle<f32>(c01, c11, 2, 6, 3, 7);
    const u2 = v128.shuffle<f32>(c21, c31, 0, 4, 1, 5), u3 = v128.shuffle<f32>(c21, c31, 2, 6, 3, 7);
    if (nr == 8) {
      v128.store(cp, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5)); cp += ldc4;
      v128.store(cp, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7)); cp += ldc4;
      v128.store(cp, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5)); cp += ldc4;
      v128.store(cp, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7)); cp += ldc4;
      v128.store(cp, v128.shuffle<f32>(u0, u2, 0, 1, 4, 5)); cp += ldc4;
      v128.store(cp, v128.shuffle<f32>(u0, u2, 2, 3, 6, 7)); cp += ldc4;
      v128.store(cp, v128.shuffle<f32>(u1, u3, 0, 1, 4, 5)); cp += ldc4;
      v128.store(cp, v128.shuffle<f32>(u1, u3, 2, 3, 6, 7));
    } else {
      v128.store(cp, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5)); cp += ldc4;
      if (nr > 1) { v128.store(cp, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7)); cp += ldc4; }
      if (nr > 2) { v128.store(cp, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5)); cp += ldc4; }
      if (nr > 3) { v128.store(cp, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7)); cp += ldc4; }
      if (nr > 4) { v128.store(cp, v128.shuffle<f32>(u0, u2, 0, 1, 4, 5)); cp += ldc4; }
      if (nr > 5) { v128.store(cp, v128.shuffle<f32>(u0, u2, 2, 3, 6, 7)); cp += ldc4; }
      if (nr > 6) { v128.store(cp, v128.shuffle<f32>(u1, u3, 0, 1, 4, 5)); }
    }
  }
}

// ---- Microkernels -------------------------------------------------------------------------------
// tileRx8(kc, ap, bp, bs, c, ldc4, nc, acc): C[0..R)[0..nc) (+)= Apacked[0..kc)[0..R) · panel[0..kc)[0..8).
// ap: the packed A tile (R floats per k); bp: the panel's first row of this K block, rows bs bytes
// apart (32 when packed, the row stride of B when read in place); c: the
// tile's first C element (row stride ldc4 bytes); nc ≤ 8 columns are stored; acc: add to C (later
// K blocks) instead of overwriting. kc ≥ 1. tile4x8 takes `tiles` ≥ 1 and runs that many 4-row
// tiles down the M block against the same panel slice (packed A tiles are consecutive): one call per
// panel instead of one per tile was 8–10 % faster at K = 64.

function tile4x8(kc: i32, ap: usize, bp0: usize, bs: usize, c: usize, ldc4: usize, nc: i32, acc: bool, tiles: i32): void {
  const bEnd = bp0 + (<usize>kc) * bs;
  const cStep = ldc4 * 4;
  do {
    let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
    let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
    let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
    let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
    if (acc) {
      c00 = loadPartial(c, nc); c01 = loadPartial(c + 16, nc - 4);
      c10 = loadPartial(c + ldc4, nc); c11 = loadPartial(c + ldc4 + 16, nc - 4);
      c20 = loadPartial(c + ldc4 * 2, nc); c21 = loadPartial(c + ldc4 * 2 + 16, nc - 4);
      c30 = loadPartial(c + ldc4 * 3, nc); c31 = loadPartial(c + ldc4 * 3 + 16, nc - 4);
    }
    let bp = bp0;
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
      ap += 16; bp += bs;
    } while (bp < bEnd);
    if (nc == 8) {
      v128.store(c, c00); v128.store(c, c01, 16);
      v128.store(c + ldc4, c10); v128.store(c + ldc4, c11, 16);
      v128.store(c + ldc4 * 2, c20); v128.store(c + ldc4 * 2, c21, 16);
      v128.store(c + ldc4 * 3, c30); v128.store(c + ldc4 * 3, c31, 16);
    } else {
      storePartial(c, c00, nc); storePartial(c + 16, c01, nc - 4);
      storePartial(c + ldc4, c10, nc); storePartial(c + ldc4 + 16, c11, nc - 4);
      storePartial(c + ldc4 * 2, c20, nc); storePartial(c + ldc4 * 2 + 16, c21, nc - 4);
      storePartial(c + ldc4 * 3, c30, nc); storePartial(c + ldc4 * 3 + 16, c31, nc - 4);
    }
    c += cStep;
  } while (--tiles > 0);
}


function tile3x8(kc: i32, ap: usize, bp: usize, bs: usize, c: usize, ldc4: usize, nc: i32, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  if (acc) {
    c00 = loadPartial(c, nc); c01 = loadPartial(c + 16, nc - 4);
    c10 = loadPartial(c + ldc4, nc); c11 = loadPartial(c + ldc4 + 16, nc - 4);
    c20 = loadPartial(c + ldc4 * 2, nc); c21 = loadPartial(c + ldc4 * 2 + 16, nc - 4);
  }
  const bEnd = bp + (<usize>kc) * bs;
  do {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    const x0 = v128.load32_splat(ap);
    c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01);
    const x1 = v128.load32_splat(ap, 4);
    c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11);
    const x2 = v128.load32_splat(ap, 8);
    c20 = madd(x2, b0, c20); c21 = madd(x2, b1, c21);
    ap += 12; bp += bs;
  } while (bp < bEnd);
  if (nc == 8) {
    v128.store(c, c00); v128.store(c, c01, 16);
    v128.store(c + ldc4, c10); v128.store(c + ldc4, c11, 16);
    v128.store(c + ldc4 * 2, c20); v128.store(c + ldc4 * 2, c21, 16);
  } else {
    storePartial(c, c00, nc); storePartial(c + 16, c01, nc - 4);
    storePartial(c + ldc4, c10, nc); storePartial(c + ldc4 + 16, c11, nc - 4);
    storePartial(c + ldc4 * 2, c20, nc); storePartial(c + ldc4 * 2 + 16, c21, nc - 4);
  }
}

function tile2x8(kc: i32, ap: usize, bp: usize, bs: usize, c: usize, ldc4: usize, nc: i32, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  if (acc) {
    c00 = loadPartial(c, nc); c01 = loadPartial(c + 16, nc - 4);
    c10 = loadPartial(c + ldc4, nc); c11 = loadPartial(c + ldc4 + 16, nc - 4);
  }
  const bEnd = bp + (<usize>kc) * bs;
  do {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    const x0 = v128.load32_splat(ap);
    c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01);
    const x1 = v128.load32_splat(ap, 4);
    c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11);
    ap += 8; bp += bs;
  } while (bp < bEnd);
  if (nc == 8) {
    v128.store(c, c00); v128.store(c, c01, 16);
    v128.store(c + ldc4, c10); v128.store(c + ldc4, c11, 16);
  } else {
    storePartial(c, c00, nc); storePartial(c + 16, c01, nc - 4);
    storePartial(c + ldc4, c10, nc); storePartial(c + ldc4 + 16, c11, nc - 4);
  }
}

function tile1x8(kc: i32, ap: usize, bp: usize, bs: usize, c: usize, ldc4: usize, nc: i32, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  if (acc) {
    c00 = loadPartial(c, nc); c01 = loadPartial(c + 16, nc - 4);
  }
  const bEnd = bp + (<usize>kc) * bs;
  do {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    const x0 = v128.load32_splat(ap);
    c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01);
    ap += 4; bp += bs;
  } while (bp < bEnd);
  if (nc == 8) {
    v128.store(c, c00); v128.store(c, c01, 16);
  } else {
    storePartial(c, c00, nc); storePartial(c + 16, c01, nc - 4);
  }
}

