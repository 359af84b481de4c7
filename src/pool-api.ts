// The worker pool's interface: its options, the Pool and PoolAttentionPlan it returns, and the hooks
// the library's own code uses (a model loaded on a pool). The implementation (pool.ts, the workers,
// the threads builds) loads only when createPool is called.
import type { Engine } from './engine.js';
import type { Program } from './schedule.js';
import type {
  AttentionPlan, BuildName, Layout, MaskLike, NystromAttentionOptions, PlanOptions, SoftmaxAttentionOptions,
} from './types.js';

/** Options of createPool. */
export interface PoolOptions {
  /** Worker threads; default the core count (navigator.hardwareConcurrency / os.availableParallelism()), at most 8. */
  threads?: number;
  /** Default: the build one-shot calls use. */
  build?: BuildName;
  /**
   * Calls with less work than this many floating-point operations run on the calling thread, with
   * the same kernels and bits (handing them to the workers costs more than they take). Default
   * 64e6 (about 1.5 ms of one core); 0 sends every call to the workers.
   */
  inlineBelow?: number;
}

/** Per-call pool options besides the attention options. */
export interface PoolCallOptions {
  /** Aborting rejects the call with an AbortError; the workers stop at their next block boundary. */
  signal?: AbortSignal;
}

/** A pool of workers sharing one wasm memory; every call returns a Promise of what the synchronous call returns. */
export interface Pool {
  /** Threads the pool runs with (1: the calling thread, see reason). */
  readonly threads: number;
  /** The build the pool runs. */
  readonly build: BuildName;
  /** Why the pool runs on the calling thread, when it does. */
  readonly reason?: string;
  nystromAttention(q: Float32Array, k: Float32Array, v: Float32Array, options: NystromAttentionOptions & PoolCallOptions): Promise<Float32Array>;
  softmaxAttention(q: Float32Array, k: Float32Array, v: Float32Array, options: SoftmaxAttentionOptions & PoolCallOptions): Promise<Float32Array>;
  matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array, options?: PoolCallOptions): Promise<Float32Array>;
  matmulTransposed(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array, options?: PoolCallOptions): Promise<Float32Array>;
  /**
   * A reusable attention plan on the pool (the options of createAttention; `build` must be the
   * pool's): its memory is laid out once in the pool's shared memory and kept, so its input and
   * output views skip the copies. Resolves once laid out (queued behind running calls).
   */
  createAttention(options: PlanOptions): Promise<PoolAttentionPlan>;
  /** Ends every worker; later calls reject. */
  close(): Promise<void>;
}

/**
 * An attention plan on a pool: one shape and one set of options, memory kept in the pool's shared
 * memory until dispose(). Runs are queued like every pool call; leave the input views alone until
 * a run settles.
 */
export interface PoolAttentionPlan {
  readonly shape: readonly [number, number, number, number];
  readonly build: BuildName;
  readonly layout: Layout;
  /** Views of the plan's inputs in the pool's memory (fill them, then runInPlace: no copy in). */
  readonly inputs: { readonly q: Float32Array; readonly k: Float32Array; readonly v: Float32Array };
  /** View of the plan's output in the pool's memory (valid until the next run starts). */
  readonly output: Float32Array;
  /** Runs on q, k, v (the plan's own views are not copied); resolves to `out` or a new array. */
  run(q: Float32Array, k: Float32Array, v: Float32Array, out?: Float32Array, options?: PoolCallOptions): Promise<Float32Array>;
  /** Runs on what the caller wrote into inputs; resolves to `output` (no copy in or out). */
  runInPlace(options?: PoolCallOptions): Promise<Float32Array>;
  /** Replaces the mask (batch·seqLen 0/1 entries) for the runs that have not started; undefined removes it. */
  setMask(mask: MaskLike | undefined): void;
  /** Bytes of the pool's memory the plan keeps. */
  readonly memoryBytes: number;
  /** Gives the memory back to the pool; later use throws (runs reject) with code 'ERR_DISPOSED'. */
  dispose(): void;
}

/** What the pool needs from the synchronous API (the calling-thread fallback). */
export interface SyncApi {
  activeBuild(): BuildName;
  selectBuild(b: BuildName): BuildName;
  nystromAttention(q: Float32Array, k: Float32Array, v: Float32Array, o: NystromAttentionOptions): Float32Array;
  softmaxAttention(q: Float32Array, k: Float32Array, v: Float32Array, o: SoftmaxAttentionOptions): Float32Array;
  matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array;
  matmulTransposed(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array;
  createAttention(options: PlanOptions): AttentionPlan;
}

/** Test hook: terminates worker i as a crash would (the pool must reject and close). */
export const TERMINATE_WORKER = Symbol.for('nystrom-wasm:terminate-worker');
/** The library's own access to a pool's memory and workers (models loaded on a pool). */
export const POOL_HOST = Symbol.for('nystrom-wasm:pool-host');

/**
 * What a model loaded on a pool uses: the pool's engine (an instance of the threads build on the
 * shared memory, on the calling thread), resident regions kept across calls, and the queue.
 */
export interface PoolHost {
  readonly engine: Engine;
  readonly threads: number;
  /** Why the pool can no longer run anything, or null. */
  readonly closedBy: string | null;
  /** Whether a call is queued or running (the memory above the resident regions is in use). */
  readonly busy: boolean;
  /** Where the memory of calls starts: the end of the resident regions. */
  readonly top: number;
  /** Keeps [top, end) out of every later call's memory until the returned release is called. */
  keep(end: number): () => void;
  /** Queues `fn` as one call; `exec` runs a program on the workers. */
  run<T>(signal: AbortSignal | undefined, fn: (exec: (program: Program) => Promise<void>) => Promise<T>): Promise<T>;
}
/** The rejection of an aborted call (a DOMException named AbortError where that exists). */
export function abortError(): Error {
  if (typeof DOMException === 'function') return new DOMException('the pool call was aborted', 'AbortError');
  return Object.assign(new Error('the pool call was aborted'), { name: 'AbortError' });
}

