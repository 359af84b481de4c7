// The public API, bound to a ModuleSource (embedded bytes in index.ts, a fetched file in url.ts).
// One-shot calls share one engine per build whose memory grows as needed; plans own an engine
// laid out once for their shape, so their input/output views stay valid.
import { Engine } from './engine.js';
import { bestBuild, checkBuild, describe, type ModuleSource } from './loader.js';
import { checkCommon, checkFloat32, checkInt, checkLength, checkMask, checkNystrom, type Checked } from './validate.js';
import type { AttentionPlan, BuildName, MatmulPlan, MatmulPlanOptions, NystromAttentionOptions, PlanOptions, SoftmaxAttentionOptions } from './types.js';

type Kind = 'nystrom' | 'softmax';

/** Regions of one attention call: q, k, v, out, mask, conv, workspace. */
interface CallLayout {
  q: number; k: number; v: number; out: number; mask: number; conv: number; ws: number; end: number;
}

function outLen(matrix: boolean) {
  return (c: Checked) => (matrix ? c.B * c.H * c.n * c.n : c.B * c.H * c.n * c.d);
}

function workspaceBytes(e: Engine, kind: Kind, c: Checked, matrix: boolean): number {
  return kind === 'softmax'
    ? e.k.softmaxWorkspaceBytes(c.n, c.d)
    : e.k.nystromWorkspaceBytes(c.B, c.H, c.n, c.d, c.m, c.style, c.remainder, matrix ? 1 : 0);
}

function layoutCall(e: Engine, kind: Kind, c: Checked, matrix: boolean): CallLayout {
  const t = c.B * c.H * c.n * c.d * 4;
  // Matrix mode reads no V, so it gets no region.
  const { offsets: [q, k, v, out, mask, conv, ws], end } = e.layout([
    t, t, matrix ? 0 : t, outLen(matrix)(c) * 4, c.B * c.n * 4, c.H * c.ks * 4, workspaceBytes(e, kind, c, matrix),
  ]);
  return { q, k, v, out, mask, conv, ws, end };
}

/** Writes mask and conv, checks q/k/v are finite (in wasm), runs the kernel. */
function compute(e: Engine, kind: Kind, c: Checked, L: CallLayout, matrix: boolean): void {
  const n = c.B * c.H * c.n * c.d;
  e.checkFinite(L.q, n, 'q');
  e.checkFinite(L.k, n, 'k');
  if (!matrix) e.checkFinite(L.v, n, 'v');
  if (c.mask) e.write(L.mask, c.mask);
  if (c.conv) e.write(L.conv, c.conv);
  const mask = c.mask ? L.mask : 0;
  const conv = c.conv && !matrix ? L.conv : 0;
  // Matrix mode reads no V: point it at q (never written).
  const v = matrix ? L.q : L.v;
  if (kind === 'softmax') {
    e.k.softmaxAttention(L.q, L.k, v, L.out, mask, conv, c.ks, c.B, c.H, c.n, c.d, c.style, matrix ? 1 : 0, L.ws);
  } else {
    e.k.nystromAttention(L.q, L.k, v, L.out, mask, conv, c.ks, c.B, c.H, c.n, c.d, c.m, c.iters, c.init, c.style,
      c.remainder, matrix ? 1 : 0, L.ws);
  }
}

export function makeApi(source: ModuleSource) {
  let defaultBuild: BuildName | undefined;
  const engines: Partial<Record<BuildName, Engine>> = {};

  function current(): BuildName {
    return (defaultBuild ??= bestBuild());
  }
  function engine(build = current()): Engine {
    return (engines[build] ??= new Engine(source.module(build), build));
  }

  function check(kind: Kind, tensors: [unknown, string][], options: unknown, matrix: boolean): Checked {
    const c = checkCommon(tensors, options as SoftmaxAttentionOptions, outLen(matrix));
    return kind === 'nystrom' ? checkNystrom(c, options as NystromAttentionOptions) : c;
  }

  /** One call on the shared engine; matrix mode returns the attention matrices and reads no V. */
  function oneShot(kind: Kind, q: unknown, k: unknown, v: unknown, options: unknown, matrix: boolean): Float32Array {
    const c = check(kind, matrix ? [[q, 'q'], [k, 'k']] : [[q, 'q'], [k, 'k'], [v, 'v']], options, matrix);
    const e = engine();
    const L = layoutCall(e, kind, c, matrix);
    e.write(L.q, q as Float32Array);
    e.write(L.k, k as Float32Array);
    if (!matrix) e.write(L.v, v as Float32Array);
    compute(e, kind, c, L, matrix);
    const len = outLen(matrix)(c);
    const result = c.out ?? new Float32Array(len);
    result.set(e.f32(L.out, len));
    return result;
  }

  /**
   * One matmul shape on an engine: the operand checks, the memory regions and the kernel call,
   * shared by the one-shot functions (default engine, laid out per call) and matmul plans.
   */
  function matmulOn(e: Engine, name: string, M: number, K: number, N: number, transB: boolean) {
    const { offsets: [pa, pb, pc, pw], end } = e.layout([M * K * 4, K * N * 4, M * N * 4, e.k.gemmWorkBytes(N, K)]);
    return {
      pa, pb, pc, end,
      /** Copies a and b in (unless they already are the regions), checks them, multiplies, copies out. */
      run(a: Float32Array, b: Float32Array, out: Float32Array | undefined, copyOut: boolean): Float32Array {
        const mem = e.k.memory.buffer;
        if (a.buffer !== mem || a.byteOffset !== pa) e.write(pa, a);
        if (b.buffer !== mem || b.byteOffset !== pb) e.write(pb, b);
        e.checkFinite(pa, M * K, `${name}: a`);
        e.checkFinite(pb, K * N, `${name}: b`);
        e.k.gemm(M, N, K, pa, K, pb, transB ? K : N, transB ? 1 : 0, pc, N, pw);
        const c = e.f32(pc, M * N);
        if (!copyOut) return c;
        const result = out ?? new Float32Array(M * N);
        result.set(c);
        return result;
      },
    };
  }

  function matmulDims(name: string, m: unknown, k: unknown, n: unknown): [number, number, number] {
    return [checkInt(m, `${name}: m`, 1), checkInt(k, `${name}: k`, 1), checkInt(n, `${name}: n`, 1)];
  }

  function checkOperands(name: string, M: number, K: number, N: number, transB: boolean, a: unknown, b: unknown, out: unknown): void {
    checkLength(checkFloat32(a, `${name}: a`), M * K, `${name}: a`, `m×k = ${M}×${K}`);
    checkLength(checkFloat32(b, `${name}: b`), K * N, `${name}: b`, transB ? `n×k = ${N}×${K}` : `k×n = ${K}×${N}`);
    if (out !== undefined) checkLength(checkFloat32(out, `${name}: out`), M * N, `${name}: out`, `m×n = ${M}×${N}`);
  }

  function matmulImpl(transB: boolean, a: unknown, b: unknown, m: unknown, k: unknown, n: unknown, out?: unknown): Float32Array {
    const name = transB ? 'matmulTransposed' : 'matmul';
    const [M, K, N] = matmulDims(name, m, k, n);
    checkOperands(name, M, K, N, transB, a, b, out);
    return matmulOn(engine(), name, M, K, N, transB).run(a as Float32Array, b as Float32Array, out as Float32Array | undefined, true);
  }

  /** A matmul plan: memory laid out once for one shape, A/B/C views in wasm memory (zero copy). */
  function createMatmul(options: MatmulPlanOptions): MatmulPlan {
    if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object { m, k, n, transB? }, got ${describe(options)}`);
    const [M, K, N] = matmulDims('options', options.m, options.k, options.n);
    const transB = options.transB ?? false;
    if (typeof transB !== 'boolean') throw new TypeError(`options.transB must be a boolean, got ${describe(transB)}`);
    const build = options.build === undefined ? current() : checkBuild(options.build);
    const e = new Engine(source.module(build), build);
    const mm = matmulOn(e, 'matmul plan', M, K, N, transB);
    const a = e.f32(mm.pa, M * K), b = e.f32(mm.pb, K * N), c = e.f32(mm.pc, M * N);
    return {
      build, a, b, c,
      memoryBytes: mm.end,
      run(x, y, out) {
        checkOperands('matmul plan', M, K, N, transB, x, y, out);
        return mm.run(x, y, out, true);
      },
      runInPlace() {
        mm.run(a, b, undefined, false);
        return c;
      },
    };
  }

  function createAttention(options: PlanOptions): AttentionPlan {
    if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object with a shape, got ${describe(options)}`);
    const kind = options.kind ?? 'nystrom';
    if (kind !== 'nystrom' && kind !== 'softmax') throw new TypeError(`options.kind must be 'nystrom' or 'softmax', got ${describe(kind)}`);
    const build = options.build === undefined ? current() : checkBuild(options.build);
    // The options are checked once here; q, k, v (and out) at every run.
    const { out: _o, ...rest } = options;
    const c = check(kind, [], rest, false);
    const e = new Engine(source.module(build), build);
    const L = layoutCall(e, kind, c, false);
    const len = c.B * c.H * c.n * c.d;
    const inputs = { q: e.f32(L.q, len), k: e.f32(L.k, len), v: e.f32(L.v, len) };
    const output = e.f32(L.out, len);
    const shape = [c.B, c.H, c.n, c.d] as const;
    let disposed = false;
    const isView = (x: Float32Array, off: number) => x.buffer === e.k.memory.buffer && x.byteOffset === off;
    const alive = () => {
      if (disposed) throw new Error('this attention plan was disposed');
    };
    const plan: AttentionPlan = {
      shape,
      build,
      inputs,
      output,
      memoryBytes: L.end,
      run(q, k, v, out) {
        alive();
        const what = `the plan's shape [${shape.join(', ')}]`;
        const named: [unknown, string, number][] = [[q, 'q', L.q], [k, 'k', L.k], [v, 'v', L.v]];
        for (const [t, name] of named) checkLength(checkFloat32(t, name), len, name, what);
        if (out !== undefined) checkLength(checkFloat32(out, 'out'), len, 'out', what);
        for (const [t, , off] of named) if (!isView(t as Float32Array, off)) e.write(off, t as Float32Array);
        compute(e, kind, c, L, false);
        const result = out ?? new Float32Array(len);
        result.set(output);
        return result;
      },
      runInPlace() {
        alive();
        compute(e, kind, c, L, false);
        return output;
      },
      setMask(mask) {
        alive();
        // Checked in full before it replaces the old one (the mask region is always laid out).
        c.mask = mask === undefined ? null : checkMask(mask, c.B, c.n);
      },
      dispose() {
        disposed = true;
      },
    };
    return plan;
  }

  return {
    /** Compiles (asynchronously where possible) the module of the chosen build ahead of the first call. */
    async init(opts: { build?: BuildName } = {}): Promise<BuildName> {
      if (opts.build !== undefined) defaultBuild = checkBuild(opts.build);
      const b = current();
      await source.load(b);
      engine(b);
      return b;
    },
    /** The build one-shot calls use ('relaxed' where the engine validates relaxed SIMD, else 'simd'). */
    activeBuild(): BuildName {
      return current();
    },
    /** Switches the build of one-shot calls (and the default of new plans). */
    selectBuild(build: BuildName): BuildName {
      defaultBuild = checkBuild(build);
      return defaultBuild;
    },
    nystromAttention(q: Float32Array, k: Float32Array, v: Float32Array, options: NystromAttentionOptions): Float32Array {
      return oneShot('nystrom', q, k, v, options, false);
    },
    softmaxAttention(q: Float32Array, k: Float32Array, v: Float32Array, options: SoftmaxAttentionOptions): Float32Array {
      return oneShot('softmax', q, k, v, options, false);
    },
    /** The n×n matrix Nyström attention implies for every head, [B, H, n, n] (no conv). */
    nystromAttentionMatrix(q: Float32Array, k: Float32Array, options: NystromAttentionOptions): Float32Array {
      return oneShot('nystrom', q, k, undefined, options, true);
    },
    /** The exact softmax attention matrix of every head, [B, H, n, n]. */
    softmaxAttentionMatrix(q: Float32Array, k: Float32Array, options: SoftmaxAttentionOptions): Float32Array {
      return oneShot('softmax', q, k, undefined, options, true);
    },
    /** C[m×n] = A[m×k]·B[k×n], row-major. */
    matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
      return matmulImpl(false, a, b, m, k, n, out);
    },
    /** C[m×n] = A[m×k]·Bᵀ with B stored [n×k] (what Q·Kᵀ is), without a transpose pass. */
    matmulTransposed(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
      return matmulImpl(true, a, b, m, k, n, out);
    },
    createAttention,
    createMatmul,
  };
}
