// Matmul on an engine: C[M×N] = A[M×K]·op(B), the one-shot functions and plans over one path.
import type { Engine } from './engine.js';
import { disposedError, guardMethods } from './errors.js';
import { gemmWorkBytes } from './plan.js';
import { MAX_INT, checkFloat32, checkInt, checkLength } from './validate.js';
import type { MatmulPlan } from './types.js';

export function matmulDims(name: string, m: unknown, k: unknown, n: unknown): [number, number, number] {
  return [checkInt(m, `${name}: m`, 1, MAX_INT, 'ERR_SHAPE'), checkInt(k, `${name}: k`, 1, MAX_INT, 'ERR_SHAPE'), checkInt(n, `${name}: n`, 1, MAX_INT, 'ERR_SHAPE')];
}

export function checkOperands(name: string, M: number, K: number, N: number, transB: boolean, a: unknown, b: unknown, out: unknown): void {
  checkLength(checkFloat32(a, `${name}: a`), M * K, `${name}: a`, `m×k = ${M}×${K}`);
  checkLength(checkFloat32(b, `${name}: b`), K * N, `${name}: b`, transB ? `n×k = ${N}×${K}` : `k×n = ${K}×${N}`);
  if (out !== undefined) checkLength(checkFloat32(out, `${name}: out`), M * N, `${name}: out`, `m×n = ${M}×${N}`);
}

/**
 * One matmul shape laid out on an engine: A, B, C and the packing scratch. With `constantB`, B is
 * packed once (packB into the scratch) and later runs multiply by the packed panels (gemmPacked: the
 * same sums as gemm) until another B comes: `stale()` marks the packed B out of date. `start`: where
 * the layout begins (default the heap start; a pool lays out above its resident regions).
 */
export function matmulOn(e: Engine, name: string, M: number, K: number, N: number, transB: boolean, constantB = false, start?: number) {
  const { offsets: [pa, pb, pc, pw], end } = e.layout([M * K * 4, K * N * 4, M * N * 4, gemmWorkBytes(N, K)], `${name} ${M}×${K}×${N}`, start);
  let packedFrom: Float32Array | null = null; // the array whose contents are packed (constantB)
  let fresh = false;
  return {
    pa, pb, pc, end,
    /** The packed B no longer matches (its source was changed in place). */
    stale() {
      fresh = false;
    },
    /** Copies a and b in (sources that are views of this memory are read before anything is written),
     *  checks them, multiplies; returns the C view, or a copy in `out` / a new array. */
    run(a: Float32Array, b: Float32Array, out: Float32Array | undefined, copyOut: boolean): Float32Array {
      const repack = !constantB || !fresh || b !== packedFrom;
      e.writeAll(repack ? [[a, pa], [b, pb]] : [[a, pa]]);
      e.checkFinite(pa, M * K, `${name}: a`);
      if (repack) e.checkFinite(pb, K * N, `${name}: b`);
      if (!constantB) {
        e.k.gemm(M, N, K, pa, K, pb, transB ? K : N, transB ? 1 : 0, pc, N, pw);
      } else {
        if (repack) {
          e.k.packB(N, K, pb, transB ? K : N, transB ? 1 : 0, pw);
          packedFrom = b;
          fresh = true;
        }
        e.k.gemmPacked(M, N, K, pa, K, pw, pc, N);
      }
      const c = e.f32(pc, M * N);
      if (!copyOut) return c;
      const result = out ?? new Float32Array(M * N);
      result.set(c);
      return result;
    },
  };
}

/** A matmul plan on its own engine; disposing it drops the engine. */
export function matmulPlan(engine: Engine, M: number, K: number, N: number, transB: boolean, constantB = false): MatmulPlan {
  let e: Engine | null = engine;
  const mm = matmulOn(engine, 'matmul plan', M, K, N, transB, constantB);
  let views: { a: Float32Array; b: Float32Array; c: Float32Array } | null = {
    a: engine.f32(mm.pa, M * K), b: engine.f32(mm.pb, K * N), c: engine.f32(mm.pc, M * N),
  };
  const live = () => {
    if (!e) throw disposedError('this matmul plan');
    return views!;
  };
  return guardMethods({
    build: engine.build,
    memoryBytes: mm.end,
    get a() { return live().a; },
    get b() { return live().b; },
    get c() { return live().c; },
    run(x, y, out) {
      live();
      checkOperands('matmul plan', M, K, N, transB, x, y, out);
      return mm.run(x, y, out, true);
    },
    runInPlace() {
      const v = live();
      mm.run(v.a, v.b, undefined, false);
      return v.c;
    },
    setB(b) {
      const v = live();
      if (b !== undefined) {
        checkLength(checkFloat32(b, 'matmul plan setB: b'), K * N, 'matmul plan setB: b', transB ? `n×k = ${N}×${K}` : `k×n = ${K}×${N}`);
        if (b !== v.b) v.b.set(b);
      }
      mm.stale();
    },
    dispose() {
      e?.dispose();
      e = null;
      views = null;
    },
  }, 'matmul plan');
}
