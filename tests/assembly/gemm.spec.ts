// gemm / packB / gemmPacked against a scalar triple loop (accumulated in f64).
// Every case surrounds C with sentinels (before the first element, in each row's ldc padding, after
// the last row) and fills the stride padding of A and B with NaN, so a write outside C[M×N] or a
// read of A/B outside their ranges (whose product would reach C) shows up as a failure.
import { gemm, gemmWorkBytes, packB, gemmPacked } from "../../assembly/gemm";

const SENTINEL: f32 = -12345.625;
const GUARD: i32 = 8; // floats of sentinel before C and after its last row

let seed: u32 = 0x9e3779b9;
function rnd(): f32 {
  // xorshift32 → uniform in [-1, 1)
  seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5;
  return <f32>(<f64>(seed >> 8) / 8388608.0 - 1.0);
}

function allocF(count: i32): usize {
  return heap.alloc(<usize>max(count, 1) << 2);
}

// Fills a rows×cols matrix with row stride ld: values in [-1, 1), NaN in the padding.
function fillMatrix(p: usize, rows: i32, cols: i32, ld: i32): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < ld; j++) {
      store<f32>(p + ((<usize>(i * ld + j)) << 2), j < cols ? rnd() : NaN);
    }
  }
}

@inline function at(p: usize, i: i32, j: i32, ld: i32): f32 {
  return load<f32>(p + ((<usize>(i * ld + j)) << 2));
}

// max(1e-5, 1e-5·|ref|), widened for long K by the usual f32 summation error, √K·u·Σ|a·b|
// (u = 2⁻²⁴; ×4 margin): at K = 8200 the f32 rounding of any summation order exceeds 1e-5·|ref|.
function tolerance(ref: f64, absSum: f64, K: i32): f64 {
  return max(max(1e-5, Math.abs(ref) * 1e-5), 4.0 * Math.sqrt(<f64>K) * 5.96e-8 * absSum);
}

// Runs one case; returns the number of failures (bad values + touched sentinels).
function runCase(M: i32, N: i32, K: i32, transB: i32, padA: i32, padB: i32, padC: i32, packed: bool): i32 {
  const lda = K + padA;
  const ldb = (transB ? K : N) + padB;
  const ldc = N + padC;
  const bRows = transB ? N : K;
  const a = allocF(M * lda);
  const b = allocF(bRows * ldb);
  fillMatrix(a, M, K, lda);
  fillMatrix(b, bRows, transB ? K : N, ldb);
  const cTotal = GUARD + M * ldc + GUARD;
  const cBuf = allocF(cTotal);
  for (let i = 0; i < cTotal; i++) store<f32>(cBuf + ((<usize>i) << 2), SENTINEL);
  const c = cBuf + ((<usize>GUARD) << 2);
  const workBytes = gemmWorkBytes(N, K);
  const work = heap.alloc(workBytes + 64);
  for (let i: usize = 0; i < 16; i++) store<f32>(work + workBytes + (i << 2), SENTINEL);

  if (packed) {
    packB(N, K, b, ldb, transB, work);
    gemmPacked(M, N, K, a, lda, work, c, ldc);
  } else {
    gemm(M, N, K, a, lda, b, ldb, transB, c, ldc, work);
  }

  let bad = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s: f64 = 0, absSum: f64 = 0, s32: f32 = 0;
      for (let k = 0; k < K; k++) {
        const x = at(a, i, k, lda), y = transB ? at(b, j, k, ldb) : at(b, k, j, ldb);
        const p = <f64>x * <f64>y;
        s += p; absSum += Math.abs(p);
        s32 += x * y;
      }
      const got = <f64>at(c, i, j, ldc);
      // The plain build promises the sequential f32 loop's bits (see assembly/gemm.ts, Rounding).
      const exact = ASC_FEATURE_RELAXED_SIMD || reinterpret<u32>(<f32>got) == reinterpret<u32>(s32);
      if (!exact || !(Math.abs(got - s) <= tolerance(s, absSum, K))) {
        if (bad < 3) trace("gemm mismatch (M, N, K, i, j)", 5, M, N, K, i, j);
        bad++;
      }
    }
    for (let j = N; j < ldc; j++) if (at(c, i, j, ldc) != SENTINEL) bad++;
  }
  for (let i = 0; i < GUARD; i++) {
    if (load<f32>(cBuf + ((<usize>i) << 2)) != SENTINEL) bad++;
    if (load<f32>(c + ((<usize>(M * ldc + i)) << 2)) != SENTINEL) bad++;
  }
  for (let i: usize = 0; i < 16; i++) if (load<f32>(work + workBytes + (i << 2)) != SENTINEL) bad++;

  heap.free(work); heap.free(cBuf); heap.free(b); heap.free(a);
  return bad;
}

const SIZES: i32[] = [1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65];
const FEW_K: i32[] = [1, 4, 7, 17, 64, 65];

describe("gemm", () => {
  it("matches the scalar loop on all M×N of the awkward sizes (a few K), gemm and its halves", () => {
    for (let t = 0; t < 2; t++) {
      for (let mi = 0; mi < SIZES.length; mi++) {
        for (let ni = 0; ni < SIZES.length; ni++) {
          for (let ki = 0; ki < FEW_K.length; ki++) {
            const M = SIZES[mi], N = SIZES[ni], K = FEW_K[ki];
            const what = "M=" + M.toString() + " N=" + N.toString() + " K=" + K.toString() + " transB=" + t.toString();
            expect<i32>(runCase(M, N, K, t, 0, 0, 0, false)).toBe(0, what);
            // gemm takes a single-block path for M ≤ 64; check the two halves on the same grid.
            expect<i32>(runCase(M, N, K, t, 0, 0, 0, true)).toBe(0, what + " (packB + gemmPacked)");
          }
        }
      }
    }
  });

  it("matches on all K of the awkward sizes (a few M×N)", () => {
    const MS: i32[] = [1, 5, 6, 17, 64];
    const NS: i32[] = [3, 8, 9, 65];
    for (let t = 0; t < 2; t++) {
      for (let mi = 0; mi < MS.length; mi++) {
        for (let ni = 0; ni < NS.length; ni++) {
          for (let ki = 0; ki < SIZES.length; ki++) {
            const M = MS[mi], N = NS[ni], K = SIZES[ki];
            expect<i32>(runCase(M, N, K, t, 0, 0, 0, false)).toBe(0,
              "M=" + M.toString() + " N=" + N.toString() + " K=" + K.toString() + " transB=" + t.toString());
          }
        }
      }
    }
  });

  it("handles larger shapes, several K blocks and strided A/B/C", () => {
    for (let t = 0; t < 2; t++) {
      expect<i32>(runCase(130, 70, 300, t, 0, 0, 0, false)).toBe(0, "130x70x300");
      expect<i32>(runCase(130, 70, 300, t, 3, 5, 7, false)).toBe(0, "130x70x300 strided");
      expect<i32>(runCase(37, 29, 1100, t, 1, 2, 3, false)).toBe(0, "37x29x1100 strided");
      expect<i32>(runCase(9, 13, 4100, t, 1, 2, 3, false)).toBe(0, "9x13x4100 strided (two K blocks)");
      expect<i32>(runCase(70, 9, 8200, t, 0, 1, 0, false)).toBe(0, "70x9x8200 (three K blocks, two M blocks)");
      expect<i32>(runCase(67, 45, 513, t, 4, 4, 4, false)).toBe(0, "67x45x513 padded by 4");
      for (let mi = 0; mi < SIZES.length; mi += 2) {
        const M = SIZES[mi], N = SIZES[(mi + 5) % SIZES.length], K = SIZES[(mi + 3) % SIZES.length];
        expect<i32>(runCase(M, N, K, t, 1 + mi % 3, 2 + mi % 5, 1 + mi % 4, false)).toBe(0,
          "strided M=" + M.toString() + " N=" + N.toString() + " K=" + K.toString());
      }
    }
  });

  it("matches with A or B rows 64 floats apart (read in place by the relaxed build)", () => {
    // lda = 64: A is not packed; transB = 1 with ldb = 64 and M ≤ N: computed as Cᵀ = B·Aᵀ.
    // K < 64 through the stride padding; N mod 4 and M mod 8 tails; several M blocks.
    const MS: i32[] = [1, 3, 4, 5, 8, 9, 17, 64, 65, 130];
    const NS: i32[] = [1, 4, 5, 7, 8, 9, 63, 64, 66, 131];
    const KS: i32[] = [1, 3, 17, 63, 64];
    for (let t = 0; t < 2; t++) {
      for (let mi = 0; mi < MS.length; mi++) {
        for (let ni = 0; ni < NS.length; ni++) {
          for (let ki = 0; ki < KS.length; ki++) {
            const M = MS[mi], N = NS[ni], K = KS[ki];
            const what = "M=" + M.toString() + " N=" + N.toString() + " K=" + K.toString() + " transB=" + t.toString();
            expect<i32>(runCase(M, N, K, t, 64 - K, t ? 64 - K : 0, (mi + ni) % 3, false)).toBe(0, what + " lda=64");
            if (t == 1) expect<i32>(runCase(M, N, K, t, (mi + ki) % 2, 64 - K, 1, false)).toBe(0, what + " ldb=64");
          }
        }
      }
      expect<i32>(runCase(64, 4096, 64, t, 0, 0, 0, false)).toBe(0, "64x4096x64");
      expect<i32>(runCase(61, 1027, 64, t, 0, 0, 2, false)).toBe(0, "61x1027x64");
      expect<i32>(runCase(37, 300, 64, t, 0, 0, 1, false)).toBe(0, "37x300x64");
      expect<i32>(runCase(64, 2001, 40, t, 24, t ? 24 : 0, 0, false)).toBe(0, "64x2001x40, lda=64");
      expect<i32>(runCase(4096, 64, 64, t, 0, 0, 0, false)).toBe(0, "4096x64x64");
      expect<i32>(runCase(4093, 67, 50, t, 14, 14, 1, false)).toBe(0, "4093x67x50, lda=ldb=64");
      expect<i32>(runCase(301, 45, 64, t, 0, 0, 3, true)).toBe(0, "301x45x64 packed");
    }
  });

  it("reads nothing past an operand with rows 64 floats apart that ends at the end of memory", () => {
    memory.grow(1);
    const end = (<usize>memory.size()) << 16;
    // M, N, K; lda = ldb = 64 (the operand's last row is its last K floats, no padding after it).
    const shapes: i32[] = [5, 9, 64, 9, 5, 64, 3, 70, 17, 67, 131, 63, 8, 8, 1, 6, 131, 63];
    let runs = 0;
    for (let q = 0; q < shapes.length; q += 3) {
      const M = shapes[q], N = shapes[q + 1], K = shapes[q + 2];
      for (let t = 0; t < 2; t++) {
        const lda = 64, ldb = t ? 64 : N;
        const bRows = t ? N : K;
        const aBytes = (<usize>((M - 1) * lda + K)) << 2;
        const bBytes = (<usize>((bRows - 1) * ldb + (t ? K : N))) << 2;
        const cBytes = (<usize>(M * N)) << 2;
        const a0 = heap.alloc((<usize>(M * lda)) << 2), b0 = heap.alloc((<usize>(bRows * ldb)) << 2);
        const c0 = heap.alloc(cBytes), c1 = heap.alloc(cBytes);
        const work = heap.alloc(gemmWorkBytes(N, K));
        fillMatrix(a0, M, K, lda);
        fillMatrix(b0, bRows, t ? K : N, ldb);
        gemm(M, N, K, a0, lda, b0, ldb, t, c0, N, work);
        for (let which = 0; which < 3; which++) {
          const a = which == 0 ? end - aBytes : a0;
          const b = which == 1 ? end - bBytes : b0;
          const c = which == 2 ? end - cBytes : c1;
          if (which == 0) memory.copy(a, a0, aBytes);
          if (which == 1) memory.copy(b, b0, bBytes);
          gemm(M, N, K, a, lda, b, ldb, t, c, N, work);
          let diff = 0;
          for (let i = 0; i < M * N; i++) {
            if (load<u32>(c + ((<usize>i) << 2)) != load<u32>(c0 + ((<usize>i) << 2))) diff++;
          }
          expect<i32>(diff).toBe(0, "result depends on where the operands are");
          packB(N, K, b, ldb, t, work);
          gemmPacked(M, N, K, a, lda, work, c, N);
          runs++;
        }
        heap.free(work); heap.free(c1); heap.free(c0); heap.free(b0); heap.free(a0);
      }
    }
    expect<i32>(runs).toBe(36);
  });

  it("matches on the single-block path with a B over 32 KiB (packed per group of panels)", () => {
    for (let t = 0; t < 2; t++) {
      expect<i32>(runCase(64, 300, 64, t, 0, 0, 0, false)).toBe(0, "64x300x64");
      expect<i32>(runCase(64, 4096, 64, t, 0, 0, 1, false)).toBe(0, "64x4096x64");
      expect<i32>(runCase(13, 1000, 200, t, 3, 2, 1, false)).toBe(0, "13x1000x200 strided");
      expect<i32>(runCase(5, 9, 4096, t, 1, 1, 1, false)).toBe(0, "5x9x4096 strided");
      expect<i32>(runCase(16, 17, 4096, t, 0, 0, 0, false)).toBe(0, "16x17x4096");
      for (let m = 1; m <= 9; m++) {
        expect<i32>(runCase(m, 131, 63, t, m % 3, m % 2, 1, false)).toBe(0, "M=" + m.toString() + " 131x63");
        expect<i32>(runCase(m, 136, 70, t, 0, 0, 0, false)).toBe(0, "M=" + m.toString() + " 136x70");
      }
    }
  });

  it("writes zeros for K = 0 and nothing for M = 0 or N = 0", () => {
    for (let t = 0; t < 2; t++) {
      expect<i32>(runCase(7, 9, 0, t, 0, 0, 3, false)).toBe(0, "K=0");
      expect<i32>(runCase(0, 9, 5, t, 0, 0, 3, false)).toBe(0, "M=0");
      expect<i32>(runCase(7, 0, 5, t, 0, 0, 3, false)).toBe(0, "N=0");
    }
  });

  it("packB + gemmPacked equals gemm", () => {
    for (let t = 0; t < 2; t++) {
      expect<i32>(runCase(130, 70, 300, t, 2, 1, 3, true)).toBe(0, "130x70x300 packed");
      expect<i32>(runCase(65, 17, 63, t, 0, 0, 0, true)).toBe(0, "65x17x63 packed");
      expect<i32>(runCase(1, 65, 600, t, 0, 3, 1, true)).toBe(0, "1x65x600 packed");
    }
  });

  it("packed B is reusable across row blocks and bit-identical to gemm", () => {
    // 150 rows: several M blocks; 64, 13 and 5 rows: gemm's single-block path (B packed per
    // group); 64³ and 37×45×50: B small enough to be read in place when transB = 0.
    const shapes: i32[] = [150, 37, 90, 64, 300, 64, 13, 1000, 200, 5, 9, 4096, 64, 64, 64, 37, 45, 50];
    for (let q = 0; q < shapes.length * 2; q += 3) {
      const M = shapes[q % shapes.length], N = shapes[q % shapes.length + 1], K = shapes[q % shapes.length + 2];
      const t = q < shapes.length ? 0 : 1;
      const ldb = t ? K : N;
      const a = allocF(M * K), b = allocF((t ? N : K) * ldb);
      fillMatrix(a, M, K, K);
      fillMatrix(b, t ? N : K, ldb, ldb);
      const c1 = allocF(M * N), c2 = allocF(M * N);
      const work = heap.alloc(gemmWorkBytes(N, K));
      gemm(M, N, K, a, K, b, ldb, t, c1, N, work);
      packB(N, K, b, ldb, t, work);
      // Blocks of 64 rows (like exact attention), the last one short.
      for (let i0 = 0; i0 < M; i0 += 64) {
        const rows = min(64, M - i0);
        gemmPacked(rows, N, K, a + ((<usize>(i0 * K)) << 2), K, work, c2 + ((<usize>(i0 * N)) << 2), N);
      }
      let diff = 0;
      for (let i = 0; i < M * N; i++) {
        if (load<u32>(c1 + ((<usize>i) << 2)) != load<u32>(c2 + ((<usize>i) << 2))) diff++;
      }
      expect<i32>(diff).toBe(0, "row-blocked gemmPacked differs from gemm");
      heap.free(work); heap.free(c2); heap.free(c1); heap.free(b); heap.free(a);
    }
  });

  it("reads nothing past an operand that ends at the end of linear memory", () => {
    // A page grown here is not owned by the allocator: each operand in turn is placed so that its
    // last float is the last 4 bytes of memory, where any over-read traps.
    memory.grow(1);
    const end = (<usize>memory.size()) << 16;
    const shapes: i32[] = [1, 1, 1, 3, 5, 7, 5, 9, 3, 7, 13, 17, 9, 3, 65, 6, 1, 6];
    let runs = 0;
    for (let q = 0; q < shapes.length; q += 3) {
      const M = shapes[q], N = shapes[q + 1], K = shapes[q + 2];
      for (let t = 0; t < 2; t++) {
        const ldb = t ? K : N;
        const aBytes = (<usize>(M * K)) << 2, bBytes = (<usize>((t ? N : K) * ldb)) << 2, cBytes = (<usize>(M * N)) << 2;
        const a0 = heap.alloc(aBytes), b0 = heap.alloc(bBytes), c0 = heap.alloc(cBytes);
        const work = heap.alloc(gemmWorkBytes(N, K));
        fillMatrix(a0, M, K, K);
        fillMatrix(b0, t ? N : K, ldb, ldb);
        for (let which = 0; which < 3; which++) {
          const a = which == 0 ? end - aBytes : a0;
          const b = which == 1 ? end - bBytes : b0;
          const c = which == 2 ? end - cBytes : c0;
          if (which == 0) memory.copy(a, a0, aBytes);
          if (which == 1) memory.copy(b, b0, bBytes);
          gemm(M, N, K, a, K, b, ldb, t, c, N, work);
          packB(N, K, b, ldb, t, work);
          gemmPacked(M, N, K, a, K, work, c, N);
          runs++;
        }
        heap.free(work); heap.free(c0); heap.free(b0); heap.free(a0);
      }
    }
    expect<i32>(runs).toBe(36);
  });

  it("gemmWorkBytes holds at least the packed panels, in 16-byte units", () => {
    const Ns: i32[] = [1, 7, 8, 9, 65];
    const Ks: i32[] = [1, 3, 600, 1100];
    for (let i = 0; i < Ns.length; i++) {
      for (let j = 0; j < Ks.length; j++) {
        const bytes = gemmWorkBytes(Ns[i], Ks[j]);
        const panels = (<usize>((Ns[i] + 7) >> 3)) * (<usize>Ks[j]) * 32;
        expect<bool>(bytes >= panels).toBe(true, "gemmWorkBytes too small");
        expect<usize>(bytes & 15).toBe(0, "gemmWorkBytes not a multiple of 16");
      }
    }
    expect<usize>(gemmWorkBytes(0, 3)).toBe(0);
    expect<usize>(gemmWorkBytes(3, 0)).toBe(0);
  });
});
