// The public API, bound to a ModuleSource (embedded bytes in index.ts, a fetched file in url.ts).
// One-shot calls share one engine per build whose memory grows as needed (release() drops them);
// plans own an engine laid out once for their shape, so their views stay valid until dispose().
// The ops live in attention.ts and matmul.ts; this file checks arguments and picks engines.
import { Engine } from './engine.js';
import { bestBuild, checkBuild, describe, type ModuleSource } from './loader.js';
import { attentionPlan, factorsOnce, runOnce } from './attention.js';
import { checkOperands, matmulDims, matmulOn, matmulPlan } from './matmul.js';
import { checkCommon, checkNystrom, type Checked } from './validate.js';
import type { Kind } from './plan.js';
import type {
  AttentionPlan, BuildName, MatmulPlan, MatmulPlanOptions, NystromAttentionOptions, NystromFactors, PlanOptions,
  SoftmaxAttentionOptions,
} from './types.js';

export function makeApi(source: ModuleSource) {
  let defaultBuild: BuildName | undefined;
  let engines: Partial<Record<BuildName, Engine>> = {};

  function current(): BuildName {
    return (defaultBuild ??= bestBuild());
  }
  function engine(build = current()): Engine {
    return (engines[build] ??= new Engine(source.module(build), build));
  }

  /** Checks options (and the named tensors); `outLength` sizes options.out. */
  function check(kind: Kind, tensors: [unknown, string][], options: unknown, outLength: (c: Checked) => number): Checked {
    const c = checkCommon(tensors, options as SoftmaxAttentionOptions, outLength);
    return kind === 'nystrom' ? checkNystrom(c, options as NystromAttentionOptions) : c;
  }
  const attnLen = (c: Checked) => c.B * c.H * c.n * c.d;
  const matrixLen = (c: Checked) => c.B * c.H * c.n * c.n;

  function attention(kind: Kind, q: unknown, k: unknown, v: unknown, options: unknown): Float32Array {
    const c = check(kind, [[q, 'q'], [k, 'k'], [v, 'v']], options, attnLen);
    return runOnce(engine(), kind, c, 'attention', q as Float32Array, k as Float32Array, v as Float32Array);
  }

  function matrix(kind: Kind, q: unknown, k: unknown, options: unknown): Float32Array {
    const c = check(kind, [[q, 'q'], [k, 'k']], options, matrixLen);
    return runOnce(engine(), kind, c, 'matrix', q as Float32Array, k as Float32Array, undefined);
  }

  function matmulImpl(transB: boolean, a: unknown, b: unknown, m: unknown, k: unknown, n: unknown, out?: unknown): Float32Array {
    const name = transB ? 'matmulTransposed' : 'matmul';
    const [M, K, N] = matmulDims(name, m, k, n);
    checkOperands(name, M, K, N, transB, a, b, out);
    return matmulOn(engine(), name, M, K, N, transB).run(a as Float32Array, b as Float32Array, out as Float32Array | undefined, true);
  }

  function planBuild(build: unknown): BuildName {
    return build === undefined ? current() : checkBuild(build);
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
    /**
     * Releases the memory of the shared one-shot engines (it only grows while they live). The next
     * one-shot call instantiates a fresh engine; results are unchanged. Plans are not affected.
     */
    release(): void {
      for (const e of Object.values(engines)) e?.dispose();
      engines = {};
    },
    nystromAttention(q: Float32Array, k: Float32Array, v: Float32Array, options: NystromAttentionOptions): Float32Array {
      return attention('nystrom', q, k, v, options);
    },
    softmaxAttention(q: Float32Array, k: Float32Array, v: Float32Array, options: SoftmaxAttentionOptions): Float32Array {
      return attention('softmax', q, k, v, options);
    },
    /** The n×n matrix Nyström attention implies for every head, [B, H, n, n] (no conv). */
    nystromAttentionMatrix(q: Float32Array, k: Float32Array, options: NystromAttentionOptions): Float32Array {
      return matrix('nystrom', q, k, options);
    },
    /** The exact softmax attention matrix of every head, [B, H, n, n]. */
    softmaxAttentionMatrix(q: Float32Array, k: Float32Array, options: SoftmaxAttentionOptions): Float32Array {
      return matrix('softmax', q, k, options);
    },
    /** kernel 1, Z and kernel 3 of every head: the attention matrix in O(n·m) memory. */
    nystromAttentionFactors(q: Float32Array, k: Float32Array, options: Omit<NystromAttentionOptions, 'out' | 'convWeight'>): NystromFactors {
      const c = check('nystrom', [[q, 'q'], [k, 'k']], { ...options, out: undefined, convWeight: undefined }, attnLen);
      return factorsOnce(engine(), c, q, k);
    },
    /** C[m×n] = A[m×k]·B[k×n], row-major. */
    matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
      return matmulImpl(false, a, b, m, k, n, out);
    },
    /** C[m×n] = A[m×k]·Bᵀ with B stored [n×k] (what Q·Kᵀ is), without a transpose pass. */
    matmulTransposed(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
      return matmulImpl(true, a, b, m, k, n, out);
    },
    /** A matmul plan: memory laid out once for one shape, A/B/C views in wasm memory (zero copy). */
    createMatmul(options: MatmulPlanOptions): MatmulPlan {
      if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object { m, k, n, transB? }, got ${describe(options)}`);
      const [M, K, N] = matmulDims('options', options.m, options.k, options.n);
      const transB = options.transB ?? false;
      if (typeof transB !== 'boolean') throw new TypeError(`options.transB must be a boolean, got ${describe(transB)}`);
      const build = planBuild(options.build);
      return matmulPlan(new Engine(source.module(build), build), M, K, N, transB);
    },
    /** A reusable attention plan for one shape and one set of options. */
    createAttention(options: PlanOptions): AttentionPlan {
      if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object with a shape, got ${describe(options)}`);
      const kind = options.kind ?? 'nystrom';
      if (kind !== 'nystrom' && kind !== 'softmax') throw new TypeError(`options.kind must be 'nystrom' or 'softmax', got ${describe(kind)}`);
      const build = planBuild(options.build);
      // The options are checked once here; q, k, v (and out) at every run.
      const { out: _o, ...rest } = options;
      const c = check(kind, [], rest, attnLen);
      return attentionPlan(new Engine(source.module(build), build), kind, c);
    },
  };
}
