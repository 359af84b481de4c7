// The public API, bound to a ModuleSource (embedded bytes in index.ts, a fetched file in url.ts).
// One-shot calls share one engine per build whose memory grows as needed (release() drops them);
// plans own an engine laid out once for their shape, so their views stay valid until dispose().
// The ops live in attention.ts and matmul.ts; this file checks arguments and picks engines.
import { Engine } from './engine.js';
import { bestBuild, checkBuild, type ModuleSource } from './loader.js';
import { attentionPlan, factorsOnce, runOnce } from './attention.js';
import { checkOperands, matmulDims, matmulOn, matmulPlan } from './matmul.js';
import { checkCall, readOptions, readPlanOptions, type Checked } from './validate.js';
import type { Kind } from './plan.js';
import type { PoolOptions } from './pool-api.js';
import { makeModels } from './model/model.js';
import { typeError, describe, guardMethods, guardedAsync } from './errors.js';

/**
 * One-shot engines keep their memory between calls up to this size (so repeated calls reuse it);
 * after a call that grew one past it, that engine is released at once (so a server that once ran a
 * huge call does not keep its memory). release() frees them at any time.
 */
export const RETAIN_BYTES = 256 * 2 ** 20;

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


  /** The retention policy of one-shot engines (RETAIN_BYTES). */
  function settle(e: Engine): void {
    if (e.disposed || e.buffer.byteLength <= RETAIN_BYTES) return;
    e.dispose();
    if (engines[e.build] === e) delete engines[e.build];
  }

  /** Runs a one-shot call on the shared engine of the current build, then applies the policy. */
  function oneShot<T>(fn: (e: Engine) => T): T {
    const e = engine();
    try {
      return fn(e);
    } finally {
      settle(e);
    }
  }
  const attnLen = (c: Checked) => c.B * c.H * c.n * c.d;
  const matrixLen = (c: Checked) => c.B * c.H * c.n * c.n;

  function attention(kind: Kind, q: unknown, k: unknown, v: unknown, options: unknown): Float32Array {
    const c = checkCall(`${kind}Attention`, kind, [[q, 'q'], [k, 'k'], [v, 'v']], options, attnLen);
    return oneShot((e) => runOnce(e, kind, c, 'attention', q as Float32Array, k as Float32Array, v as Float32Array));
  }

  function matrix(kind: Kind, q: unknown, k: unknown, options: unknown): Float32Array {
    const c = checkCall(`${kind}AttentionMatrix`, kind, [[q, 'q'], [k, 'k']], options, matrixLen);
    return oneShot((e) => runOnce(e, kind, c, 'matrix', q as Float32Array, k as Float32Array, undefined));
  }

  function matmulImpl(transB: boolean, a: unknown, b: unknown, m: unknown, k: unknown, n: unknown, out?: unknown): Float32Array {
    const name = transB ? 'matmulTransposed' : 'matmul';
    const [M, K, N] = matmulDims(name, m, k, n);
    checkOperands(name, M, K, N, transB, a, b, out);
    return oneShot((e) => matmulOn(e, name, M, K, N, transB).run(a as Float32Array, b as Float32Array, out as Float32Array | undefined, true));
  }

  function planBuild(build: unknown): BuildName {
    return build === undefined ? current() : checkBuild(build);
  }

  const api = {
    /** Compiles (asynchronously where possible) the module of the chosen build ahead of the first call. */
    async init(opts: { build?: BuildName } = {}): Promise<BuildName> {
      const o = readOptions<{ build: BuildName }>(opts, ['build'], 'init options', false);
      if (o.build !== undefined) defaultBuild = checkBuild(o.build);
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
      const c = checkCall('nystromAttentionFactors', 'nystrom', [[q, 'q'], [k, 'k']], options, attnLen);
      return oneShot((e) => factorsOnce(e, c, q, k));
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
      const o = readOptions<MatmulPlanOptions>(options, ['m', 'k', 'n', 'transB', 'constantB', 'build'], 'createMatmul options');
      const [M, K, N] = matmulDims('createMatmul options', o.m, o.k, o.n);
      const transB = o.transB ?? false;
      if (typeof transB !== 'boolean') throw typeError('ERR_OPTION', `options.transB must be a boolean, got ${describe(transB)}`);
      const constantB = o.constantB ?? false;
      if (typeof constantB !== 'boolean') throw typeError('ERR_OPTION', `options.constantB must be a boolean, got ${describe(constantB)}`);
      const build = planBuild(o.build);
      return matmulPlan(new Engine(source.module(build), build), M, K, N, transB, constantB);
    },
    /** A reusable attention plan for one shape and one set of options. */
    createAttention(options: PlanOptions): AttentionPlan {
      const { kind, build: asked, c } = readPlanOptions(options, 'createAttention options');
      const build = planBuild(asked);
      return attentionPlan(new Engine(source.module(build), build), kind, c);
    },
  };
  guardMethods(api, 'nystrom-wasm');
  return {
    ...api,
    /**
     * A pool of workers over one shared wasm memory: the same calls as Promises, on every core.
     * Where threads cannot exist it runs on the calling thread (pool.threads === 1, pool.reason).
     */
    // The pool's implementation is a chunk of its own, loaded with the first pool.
    createPool: guardedAsync(async (options?: PoolOptions) => (await import('./pool.js')).createPoolWith(source, api, options), 'createPool'),
    ...makeModels(source, current),
  };
}
