// The worker pool: every core on one call. The host (this file, on the calling thread) validates,
// lays out the call in one shared wasm memory, writes the inputs and the context, and posts each
// worker its part of the call's program (src/schedule.ts); workers (src/worker.ts) run kernel ranges
// on the same memory and meet at barriers; the host reads the result when every worker reports.
// The calling thread never blocks (no Atomics.wait here: browsers forbid it on the main thread).
// Where threads cannot exist (no SharedArrayBuffer, no Worker), the pool runs on the calling thread
// and says why (pool.threads === 1, pool.reason).
import {
  POOL_HOST, TERMINATE_WORKER, abortError,
  type Pool, type PoolAttentionPlan, type PoolCallOptions, type PoolHost, type PoolOptions, type SyncApi,
} from './pool-api.js';
import { Engine } from './engine.js';
import { checkBuild, type ModuleSource } from './loader.js';
import { checkResult, compute, layoutCall, readOutput, setupCall, type CallMemory } from './attention.js';
import { checkOperands, matmulDims, matmulOn } from './matmul.js';
import { gemmWorkBytes, type Kind } from './plan.js';
import {
  ABORT, ARRIVED, CLAIMS, CONTROL_BYTES, EVENTS, GATES, GEN, Q_GATES, Q_PARTS, SCAN, attentionProgram, matmulPartColumns, matmulProgram, qParts,
  type Program,
} from './schedule.js';
import { checkCall, checkFloat32, checkInt, checkLength, checkMask, checkNumber, readOptions, readPlanOptions, type Checked } from './validate.js';
import { describe, disposedError, guardMethods, guardedAsync, stateError, typeError } from './errors.js';
import type { BuildName, NystromAttentionOptions, PlanOptions, SoftmaxAttentionOptions } from './types.js';

const MAX_THREADS = 8;
/** PoolOptions.inlineBelow's default: about 1.5 ms of one core at this library's matmul rate. */
const INLINE_BELOW = 64e6;

/** Floating-point operations of an attention call (its products; what decides inlining). */
function attentionFlops(kind: Kind, c: Checked): number {
  const BH = c.B * c.H, { n, d, m } = c;
  return kind === 'softmax' || m >= n ? 4 * BH * n * n * d : 2 * BH * n * m * (4 * d + m);
}

const attnLen = (c: Checked) => c.B * c.H * c.n * c.d;

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (typeof signal !== 'object' || signal === null || typeof (signal as AbortSignal).aborted !== 'boolean' ||
      typeof (signal as AbortSignal).addEventListener !== 'function') {
    throw typeError('ERR_OPTION', `options.signal must be an AbortSignal, got ${describe(signal)}`);
  }
  return signal as AbortSignal;
}

/** Splits `signal` off attention options (the rest is checked as the synchronous call checks it). */
function takeSignal(options: unknown): AbortSignal | undefined {
  if (typeof options !== 'object' || options === null) return undefined;
  let s: unknown;
  try {
    s = (options as { signal?: unknown }).signal;
  } catch {
    return undefined; // the checks report the throwing getter
  }
  return checkSignal(s);
}

async function defaultThreads(): Promise<number> {
  const g = globalThis as any;
  let n = typeof g.navigator?.hardwareConcurrency === 'number' ? g.navigator.hardwareConcurrency : 0;
  if (!n) {
    try {
      const spec = 'node:os';
      const os = await import(spec);
      n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    } catch {
      n = 1;
    }
  }
  return Math.max(1, Math.min(MAX_THREADS, n));
}

/** A worker behind one interface: Web Worker (browsers, Deno, Bun) or Node worker_threads. */
interface WorkerHandle {
  post(msg: unknown): void;
  terminate(): void;
  /** Node: keep the process alive only while a call is in flight. */
  hold(on: boolean): void;
}

function isNode(): boolean {
  const g = globalThis as any;
  return typeof g.process?.versions?.node === 'string' && !g.process.versions.bun && typeof g.Deno === 'undefined';
}

async function spawnWorker(url: URL, onMessage: (m: any) => void, onDeath: (why: string) => void): Promise<WorkerHandle> {
  const g = globalThis as any;
  if (!isNode() && typeof g.Worker === 'function') {
    const w = new g.Worker(url, { type: 'module' });
    w.onmessage = (e: MessageEvent) => onMessage(e.data);
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault?.();
      onDeath(e.message || 'the worker failed');
    };
    return { post: (m) => w.postMessage(m), terminate: () => w.terminate(), hold: () => {} };
  }
  const spec = 'node:worker_threads';
  const { Worker } = await import(spec);
  const w = new Worker(url);
  w.on('message', onMessage);
  w.on('error', (e: Error) => onDeath(e?.message ?? String(e)));
  w.on('exit', (code: number) => onDeath(`the worker exited (code ${code})`));
  w.unref();
  return { post: (m) => w.postMessage(m), terminate: () => void w.terminate(), hold: (on) => (on ? w.ref() : w.unref()) };
}

/** Whether threads can exist here, and the shared memory if so; else why not. */
function sharedMemory(): { memory?: WebAssembly.Memory; reason?: string } {
  const g = globalThis as any;
  if (typeof SharedArrayBuffer !== 'function') {
    return { reason: g.crossOriginIsolated === false
      ? 'SharedArrayBuffer is unavailable: the page is not cross-origin isolated (serve it with COOP same-origin and COEP require-corp)'
      : 'SharedArrayBuffer is unavailable in this runtime' };
  }
  if (!isNode() && typeof g.Worker !== 'function') return { reason: 'this runtime has no Worker' };
  // The threads builds declare at most 65536 pages (4 GiB); engines that cannot reserve that much
  // (32-bit devices) get a smaller maximum.
  for (const maximum of [65536, 16384, 4096]) {
    try {
      return { memory: new WebAssembly.Memory({ initial: 1, maximum, shared: true }) };
    } catch {
      /* try smaller */
    }
  }
  return { reason: 'this engine cannot create a shared WebAssembly.Memory' };
}

/** A pool plan runs the pool's build: options.build may only name it. */
function checkPlanBuild(asked: unknown, build: BuildName): void {
  if (asked !== undefined && checkBuild(asked) !== build) {
    throw typeError('ERR_OPTION', `options.build must be this pool's build '${build}' (or absent), got ${describe(asked)}`);
  }
}

/** At a queued call's turn: its inputs still hold what was checked (none was detached meanwhile). */
function stillThere(inputs: [Float32Array, number, string][]): void {
  for (const [x, count, name] of inputs) checkLength(x, count, name, 'the call (checked when it was queued)');
}

type Pending = { resolve: () => void; reject: (e: unknown) => void; left: number; error?: string; aborted: boolean; failed?: { e: unknown } };

class WorkerPool implements Pool, PoolHost {
  readonly threads: number;
  readonly build: BuildName;
  readonly reason = undefined;
  readonly engine: Engine;
  private readonly control: number;
  private readonly workers: WorkerHandle[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private pending: Pending | null = null;
  private seq = 0;
  closedBy: string | null = null;
  /** Calls queued or running. */
  private inFlight = 0;
  /** Resident regions (models' weights), stacked from the control block up; released lazily from the top. */
  private resident: { end: number; live: boolean }[] = [];
  /** When the last call's program was posted (ms since the epoch). */
  postedAt = 0;

  private constructor(engine: Engine, threads: number, private readonly inlineBelow: number) {
    this.engine = engine;
    this.build = engine.build;
    this.threads = threads;
    this.control = engine.reserved;
  }

  static async start(module: WebAssembly.Module, bytes: Uint8Array<ArrayBuffer>, memory: WebAssembly.Memory,
                     build: BuildName, threads: number, inlineBelow: number): Promise<WorkerPool> {
    const engine = new Engine(module, build, { memory, reserve: CONTROL_BYTES });
    const pool = new WorkerPool(engine, threads, inlineBelow);
    const url = new URL('./worker.js', import.meta.url);
    const ready: Promise<void>[] = [];
    try {
      for (let t = 0; t < threads; t++) {
        let settle!: [() => void, (e: Error) => void];
        ready.push(new Promise<void>((res, rej) => { settle = [res, rej]; }));
        const w = await spawnWorker(url, (m) => {
          if (m.type === 'ready') settle[0]();
          else if (m.type === 'failed') settle[1](new Error(m.message));
          else pool.onDone(m);
        }, (why) => {
          settle[1](new Error(why));
          pool.die(`a pool worker died: ${why}`);
        });
        pool.workers.push(w);
        w.hold(true); // until it is ready
        try {
          w.post({ type: 'init', module, memory, control: pool.control, index: t });
        } catch {
          // Engines that cannot clone a compiled module compile the bytes in the worker.
          w.post({ type: 'init', bytes, memory, control: pool.control, index: t });
        }
      }
      await Promise.all(ready);
      for (const w of pool.workers) w.hold(false);
    } catch (e) {
      pool.terminate();
      throw e;
    }
    return pool;
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  get top(): number {
    return this.resident.length ? this.resident[this.resident.length - 1].end : this.engine.heapStart;
  }

  keep(end: number): () => void {
    const r = { end: Math.max(end, this.top), live: true };
    this.resident.push(r);
    return () => {
      r.live = false;
      while (this.resident.length && !this.resident[this.resident.length - 1].live) this.resident.pop();
    };
  }

  run<T>(signal: AbortSignal | undefined, fn: (exec: (program: Program) => Promise<void>) => Promise<T>): Promise<T> {
    return this.enqueue(signal, () => fn((program) => this.execute(program, signal)));
  }

  /** Per worker of the last call: when it started (ms since the epoch) and per phase [working, waiting] ms. */
  lastTimes: { thread: number; start: number; phases: number[][]; trace?: [string, number, number][] }[] = [];
  /** Test and bench hook: workers time every task of the following calls (lastTimes[i].trace). */
  trace = false;

  private onDone(m: { type: string; id: number; status: string; message?: string; thread?: number; times?: number[][]; start?: number;
                      trace?: [string, number, number][] }): void {
    const p = this.pending;
    if (m.type !== 'done' || !p || m.id !== this.seq) return;
    if (m.times) this.lastTimes[m.thread!] = { thread: m.thread!, start: m.start!, phases: m.times, ...(m.trace ? { trace: m.trace } : {}) };
    if (m.status === 'error') p.error ??= m.message;
    if (--p.left === 0) {
      this.pending = null;
      for (const w of this.workers) w.hold(false);
      if (p.failed) p.reject(p.failed.e);
      else if (p.error !== undefined) p.reject(stateError('ERR_LOAD', `a pool worker failed: ${p.error}`));
      else if (p.aborted) p.reject(abortError());
      else p.resolve();
    }
  }

  /** A worker died: every pending call rejects and the pool is closed. */
  private die(why: string): void {
    if (this.closedBy) return;
    this.closedBy = why;
    this.stop();
    const p = this.pending;
    this.pending = null;
    p?.reject(stateError('ERR_LOAD', `${why}; the pool is closed`));
    this.terminate();
  }

  /** Tells running workers to stop at their next task boundary (or barrier). */
  private stop(): void {
    const c = this.words();
    Atomics.store(c, ABORT, 1);
    for (let w = EVENTS[0]; w < EVENTS[1]; w++) Atomics.notify(c, w);
    Atomics.notify(c, GEN);
  }

  private terminate(): void {
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }

  /**
   * Runs a program on every worker; resolves when all report. `feed` runs right after the program
   * is posted (the host writing the inputs while the workers start; the program's gates wait for
   * them); if it throws, the workers are stopped and the call rejects with its error.
   */
  private execute(program: Program, signal?: AbortSignal, feed?: () => void): Promise<void> {
    if (this.closedBy) return Promise.reject(stateError('ERR_LOAD', `the pool is closed (${this.closedBy})`));
    const c = this.words();
    Atomics.store(c, ARRIVED, 0);
    Atomics.store(c, ABORT, 0);
    c.fill(0, ...EVENTS);
    c.fill(0, CLAIMS); // the claim counters (no worker runs now)
    const id = ++this.seq;
    this.lastTimes = [];
    this.postedAt = performance.now() + performance.timeOrigin;
    return new Promise<void>((resolve, reject) => {
      const p: Pending = { resolve, reject, left: this.threads, aborted: false };
      this.pending = p;
      const onAbort = () => {
        p.aborted = true;
        this.stop();
      };
      if (signal) {
        signal.addEventListener('abort', onAbort, { once: true });
        const done = () => signal.removeEventListener('abort', onAbort);
        p.resolve = () => { done(); resolve(); };
        p.reject = (e) => { done(); reject(e); };
      }
      for (let t = 0; t < this.threads; t++) {
        this.workers[t].hold(true);
        this.workers[t].post({ type: 'run', id, threads: this.threads, phases: program.map((phase) => phase[t]), trace: this.trace });
      }
      if (!feed) return;
      try {
        feed();
      } catch (e) {
        p.failed = { e };
        this.stop();
      }
    });
  }

  /** Queues a call: one runs at a time on the pool's memory. */
  private enqueue<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    const run = async () => {
      if (this.closedBy) throw stateError('ERR_LOAD', `the pool is closed (${this.closedBy})`);
      if (signal?.aborted) throw abortError();
      return fn();
    };
    this.inFlight++;
    const result = this.queue.then(run, run);
    const settled = result.then(() => { this.inFlight--; }, () => { this.inFlight--; });
    this.queue = settled;
    return result;
  }

  private attention(kind: Kind, q: unknown, k: unknown, v: unknown, options: unknown): Promise<Float32Array> {
    let c: Checked, signal: AbortSignal | undefined;
    try {
      signal = takeSignal(options);
      c = checkCall(`${kind}Attention`, kind, [[q, 'q'], [k, 'k'], [v, 'v']], options, attnLen, ['signal']);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.enqueue(signal, async () => {
      const count = attnLen(c);
      const qkv = [q, k, v] as Float32Array[];
      stillThere(qkv.map((x, i) => [x, count, 'qkv'[i]]));
      const inline = this.inline(attentionFlops(kind, c));
      const M = layoutCall(this.engine, kind, c, 'attention', inline ? 1 : this.threads, this.top);
      await this.runAttention(kind, c, M, qkv, signal, inline);
      return readOutput(this.engine, c, M);
    });
  }

  /** Whether a call of this much work runs on the calling thread (see PoolOptions.inlineBelow). */
  private inline(flops: number): boolean {
    return flops < this.inlineBelow;
  }

  /**
   * One attention call laid out at M: the program is posted first and q, k, v (when given; else
   * they are in place) written while the workers start — its gates wait for each; the finiteness
   * scans run in the workers (setupCall skips them, and reads no input). A bad input is reported
   * after the call exactly as the synchronous call reports it.
   */
  private async runAttention(kind: Kind, c: Checked, M: CallMemory, qkv: Float32Array[] | null, signal: AbortSignal | undefined,
                             inline: boolean): Promise<void> {
    const e = this.engine;
    if (inline) {
      // The synchronous call, on the calling thread (thread 0's scratch of M).
      if (qkv) e.writeAll([[qkv[0], M.q], [qkv[1], M.k], [qkv[2], M.v]]);
      compute(e, kind, c, M);
      return;
    }
    setupCall(e, kind, c, M, false);
    const count = attnLen(c);
    const at: [number, number, number] = [M.q, M.k, M.v];
    const words = this.words();
    words.fill(0, SCAN, SCAN + 3);
    const program = this.attentionProgram(M, c, qkv !== null);
    await this.execute(program, signal, qkv ? () => {
      // The pieces in the order the program waits for them, each with the gates it opens: q a part
      // at a time where the program takes it so (thread 0 averages each part's landmarks), then k, v.
      const parts = qParts(c, M.plan);
      const pieces: [Float32Array, number][] = [], opens: number[][] = [];
      if (parts) {
        const d = c.d;
        for (let g = 0; g < Q_PARTS; g++) {
          pieces.push([qkv[0].subarray(parts[g] * d, parts[g + 1] * d), M.q + parts[g] * d * 4]);
          opens.push(g < Q_PARTS - 1 ? [Q_GATES + g] : [Q_GATES + g, GATES]);
        }
      } else {
        pieces.push([qkv[0], M.q]);
        opens.push([GATES]);
      }
      pieces.push([qkv[1], M.k], [qkv[2], M.v]);
      opens.push([GATES + 1], [GATES + 2]);
      e.writeAll(pieces, (i) => opens[i].forEach((w) => this.raise(w)));
    } : undefined);
    (['q', 'k', 'v'] as const).forEach((name, i) => {
      if (Atomics.load(words, SCAN + i) !== 0) e.checkFinite(at[i], count, name);
    });
    checkResult(e, c, M);
  }

  /** Programs of recent attention calls (a plan, or the same shape again: the same program). */
  private readonly programs = new Map<string, Program>();

  /** The program of an attention call laid out at M (schedule.ts attentionProgram), memoised on all it reads. */
  private attentionProgram(M: CallMemory, c: Checked, gated: boolean): Program {
    const { plan } = M;
    const { geo } = plan;
    const key = [M.ctx, M.q, M.k, M.v, c.B, c.H, c.n, c.d, c.m, c.remainder, plan.mode, plan.k3Shared, geo.exact, geo.pad, geo.np, gated].join();
    let program = this.programs.get(key);
    if (!program) {
      program = attentionProgram(M.ctx, c, plan, this.threads, { at: [M.q, M.k, M.v], count: attnLen(c), gated }, this.control);
      if (this.programs.size >= 16) this.programs.clear();
      this.programs.set(key, program);
    }
    return program;
  }

  /** The control block's words (a view over the current buffer). */
  private words(): Int32Array {
    return new Int32Array(this.engine.buffer, this.control, CONTROL_BYTES / 4);
  }

  /** Raises control word w (a gate: the host has written an input) and wakes its waiters. */
  private raise(w: number): void {
    const c = this.words();
    Atomics.store(c, w, 1);
    Atomics.notify(c, w);
  }

  createAttention(options: PlanOptions): Promise<PoolAttentionPlan> {
    let kind: Kind, c: Checked;
    try {
      const o = readPlanOptions(options, 'pool.createAttention options');
      checkPlanBuild(o.build, this.build);
      ({ kind, c } = o);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.enqueue(undefined, async () => {
      const inline = this.inline(attentionFlops(kind, c));
      const M = layoutCall(this.engine, kind, c, 'attention', inline ? 1 : this.threads, this.top);
      return this.plan(kind, c, M, M.end - this.top, this.keep(M.end), inline);
    });
  }

  /** The plan over M (kept in memory until release). */
  private plan(kind: Kind, c: Checked, M: CallMemory, memoryBytes: number, release: () => void, inline: boolean): PoolAttentionPlan {
    const e = this.engine;
    const len = attnLen(c);
    let live = true;
    const views = { q: e.f32(M.q, len), k: e.f32(M.k, len), v: e.f32(M.v, len) };
    const output = e.f32(M.out, len);
    const shape = [c.B, c.H, c.n, c.d] as const;
    const check = () => {
      if (!live) throw disposedError('this pool attention plan');
    };
    const run = (qkv: Float32Array[] | null, options: unknown, after: () => Float32Array): Promise<Float32Array> => {
      let signal: AbortSignal | undefined;
      try {
        check();
        signal = checkSignal(readOptions<PoolCallOptions>(options, ['signal'], 'plan run options', false).signal);
      } catch (err) {
        return Promise.reject(err);
      }
      return this.enqueue(signal, async () => {
        check();
        if (qkv) stillThere(qkv.map((x, i) => [x, len, 'qkv'[i]]));
        await this.runAttention(kind, c, M, qkv, signal, inline);
        return after();
      });
    };
    return guardMethods({
      shape,
      build: this.build,
      layout: c.layout === 1 ? 'bnhd' : 'bhnd',
      memoryBytes,
      get inputs() {
        check();
        return views;
      },
      get output() {
        check();
        return output;
      },
      run(q, k, v, out, options) {
        const what = `the plan's shape [${shape.join(', ')}]`;
        try {
          for (const [t, name] of [[q, 'q'], [k, 'k'], [v, 'v']] as const) checkLength(checkFloat32(t, name), len, name, what);
          if (out !== undefined) checkLength(checkFloat32(out, 'out'), len, 'out', what);
        } catch (err) {
          return Promise.reject(err);
        }
        return run([q, k, v], options, () => {
          const result = out ?? new Float32Array(len);
          result.set(output);
          return result;
        });
      },
      runInPlace(options) {
        return run(null, options, () => output);
      },
      setMask(mask) {
        check();
        // Checked in full before it replaces the old one (the mask region is always laid out).
        c.mask = mask === undefined ? null : checkMask(mask, c.B, c.n);
      },
      dispose() {
        if (!live) return;
        live = false;
        release();
      },
    } satisfies PoolAttentionPlan, 'pool attention plan');
  }

  private mm(transB: boolean, a: unknown, b: unknown, m: unknown, k: unknown, n: unknown, out: unknown, options: unknown): Promise<Float32Array> {
    const name = transB ? 'matmulTransposed' : 'matmul';
    let M: number, K: number, N: number, signal: AbortSignal | undefined;
    try {
      [M, K, N] = matmulDims(name, m, k, n);
      checkOperands(name, M, K, N, transB, a, b, out);
      signal = checkSignal(readOptions<PoolCallOptions>(options, ['signal'], `pool.${name} options`, false).signal);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.enqueue(signal, async () => {
      const e = this.engine;
      stillThere([[a as Float32Array, M * K, 'a'], [b as Float32Array, K * N, 'b']]);
      if (this.inline(2 * M * K * N)) {
        // Small: the synchronous call, on the calling thread, above the resident regions.
        return matmulOn(e, name, M, K, N, transB, false, this.top).run(a as Float32Array, b as Float32Array, out as Float32Array | undefined, true);
      }
      const T = this.threads;
      const work = gemmWorkBytes(matmulPartColumns(M, N, T), K);
      const { offsets } = e.layout([M * K * 4, K * N * 4, M * N * 4, ...Array(T).fill(work)], `pool.${name} ${M}×${K}×${N}`, this.top);
      const [pa, pb, pc, ...pw] = offsets;
      // Posted first; A and B written while the workers start; scanned by the workers after.
      const words = this.words();
      words.fill(0, SCAN, SCAN + 2);
      await this.execute(matmulProgram(M, N, K, pa, pb, transB, pc, pw, T, this.control), signal, () => {
        e.writeAll([[a as Float32Array, pa], [b as Float32Array, pb]], (i) => this.raise(GATES + i));
      });
      if (Atomics.load(words, SCAN) !== 0) e.checkFinite(pa, M * K, `${name}: a`);
      if (Atomics.load(words, SCAN + 1) !== 0) e.checkFinite(pb, K * N, `${name}: b`);
      const result = (out as Float32Array | undefined) ?? new Float32Array(M * N);
      result.set(e.f32(pc, M * N));
      return result;
    });
  }

  nystromAttention(q: Float32Array, k: Float32Array, v: Float32Array, options: NystromAttentionOptions & PoolCallOptions) {
    return this.attention('nystrom', q, k, v, options);
  }
  softmaxAttention(q: Float32Array, k: Float32Array, v: Float32Array, options: SoftmaxAttentionOptions & PoolCallOptions) {
    return this.attention('softmax', q, k, v, options);
  }
  matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array, options?: PoolCallOptions) {
    return this.mm(false, a, b, m, k, n, out, options);
  }
  matmulTransposed(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array, options?: PoolCallOptions) {
    return this.mm(true, a, b, m, k, n, out, options);
  }

  /** See TERMINATE_WORKER. */
  [TERMINATE_WORKER](i: number): void {
    const w = this.workers[i];
    w?.terminate();
    // Node reports 'exit'; a Web Worker's terminate() reports nothing, so report it here.
    this.die(`worker ${i} was terminated`);
  }

  async close(): Promise<void> {
    if (this.closedBy) return;
    this.closedBy = 'close() was called';
    this.stop();
    const p = this.pending;
    this.pending = null;
    p?.reject(stateError('ERR_LOAD', 'the pool was closed during the call'));
    this.terminate();
    this.engine.dispose();
  }
}

/** The pool where threads cannot exist: the synchronous calls, on the calling thread, as Promises. */
class CallingThreadPool implements Pool {
  readonly threads = 1;
  private closed = false;
  constructor(private readonly api: SyncApi, readonly build: BuildName, readonly reason: string) {}

  private call<T>(options: unknown, signalOf: () => AbortSignal | undefined, fn: () => T): Promise<T> {
    try {
      if (this.closed) throw stateError('ERR_LOAD', 'the pool is closed (close() was called)');
      const signal = signalOf();
      if (signal?.aborted) throw abortError();
      const prev = this.api.activeBuild();
      this.api.selectBuild(this.build);
      try {
        return Promise.resolve(fn());
      } finally {
        this.api.selectBuild(prev);
      }
    } catch (e) {
      return Promise.reject(e);
    }
  }
  private strip(options: unknown): unknown {
    if (typeof options !== 'object' || options === null || !('signal' in options)) return options;
    const { signal: _s, ...rest } = options as Record<string, unknown>;
    return rest;
  }
  nystromAttention(q: Float32Array, k: Float32Array, v: Float32Array, options: NystromAttentionOptions & PoolCallOptions) {
    return this.call(options, () => takeSignal(options), () => this.api.nystromAttention(q, k, v, this.strip(options) as NystromAttentionOptions));
  }
  softmaxAttention(q: Float32Array, k: Float32Array, v: Float32Array, options: SoftmaxAttentionOptions & PoolCallOptions) {
    return this.call(options, () => takeSignal(options), () => this.api.softmaxAttention(q, k, v, this.strip(options) as SoftmaxAttentionOptions));
  }
  matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array, options?: PoolCallOptions) {
    return this.call(options, () => checkSignal(readOptions<PoolCallOptions>(options, ['signal'], 'pool.matmul options', false).signal),
      () => this.api.matmul(a, b, m, k, n, out));
  }
  matmulTransposed(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array, options?: PoolCallOptions) {
    return this.call(options, () => checkSignal(readOptions<PoolCallOptions>(options, ['signal'], 'pool.matmulTransposed options', false).signal),
      () => this.api.matmulTransposed(a, b, m, k, n, out));
  }
  createAttention(options: PlanOptions): Promise<PoolAttentionPlan> {
    return this.call(undefined, () => undefined, () => {
      checkPlanBuild(readPlanOptions(options, 'pool.createAttention options').build, this.build);
      const plan = this.api.createAttention({ ...(options as PlanOptions), build: this.build });
      const settle = <T>(options: unknown, fn: () => T): Promise<T> => {
        try {
          const signal = checkSignal(readOptions<PoolCallOptions>(options, ['signal'], 'plan run options', false).signal);
          if (signal?.aborted) throw abortError();
          return Promise.resolve(fn());
        } catch (e) {
          return Promise.reject(e);
        }
      };
      return guardMethods({
        get shape() { return plan.shape; },
        build: this.build,
        get layout() { return plan.layout; },
        get memoryBytes() { return plan.memoryBytes; },
        get inputs() { return plan.inputs; },
        get output() { return plan.output; },
        run: (q, k, v, out, options) => settle(options, () => plan.run(q, k, v, out)),
        runInPlace: (options) => settle(options, () => plan.runInPlace()),
        setMask: (mask) => plan.setMask(mask),
        dispose: () => plan.dispose(),
      } satisfies PoolAttentionPlan, 'pool attention plan');
    });
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** The pool users get: its calls guarded (a throwing getter or Proxy in an argument is a coded TypeError). */
function facade(pool: WorkerPool | CallingThreadPool): Pool {
  const f = {
    get threads() { return pool.threads; },
    get build() { return pool.build; },
    get reason() { return pool.reason; },
    nystromAttention: guardedAsync(pool.nystromAttention.bind(pool), 'pool.nystromAttention'),
    softmaxAttention: guardedAsync(pool.softmaxAttention.bind(pool), 'pool.softmaxAttention'),
    matmul: guardedAsync(pool.matmul.bind(pool), 'pool.matmul'),
    matmulTransposed: guardedAsync(pool.matmulTransposed.bind(pool), 'pool.matmulTransposed'),
    createAttention: guardedAsync(pool.createAttention.bind(pool), 'pool.createAttention'),
    close: () => pool.close(),
  };
  if (pool instanceof WorkerPool) {
    Object.defineProperty(f, POOL_HOST, { value: pool satisfies PoolHost });
    Object.defineProperty(f, TERMINATE_WORKER, { value: (i: number) => pool[TERMINATE_WORKER](i) });
    Object.defineProperty(f, 'lastTimes', { get: () => pool.lastTimes });
    Object.defineProperty(f, 'trace', { get: () => pool.trace, set: (on: boolean) => { pool.trace = on === true; } });
    Object.defineProperty(f, 'postedAt', { get: () => pool.postedAt });
  }
  return f;
}

/**
 * createPool for a module source: threads where SharedArrayBuffer and workers exist, else the
 * calling thread (never a rejection for that).
 */
export async function createPoolWith(source: ModuleSource, api: SyncApi, options: PoolOptions = {}): Promise<Pool> {
  return facade(await startPool(source, api, options));
}

async function startPool(source: ModuleSource, api: SyncApi, options: PoolOptions): Promise<WorkerPool | CallingThreadPool> {
  const o = readOptions<PoolOptions>(options, ['threads', 'build', 'inlineBelow'], 'createPool options', false);
  const inlineBelow = o.inlineBelow === undefined ? INLINE_BELOW : checkNumber(o.inlineBelow, 'createPool options.inlineBelow', 0);
  const build = o.build === undefined ? api.activeBuild() : checkBuild(o.build);
  const threads = o.threads === undefined ? await defaultThreads() : checkInt(o.threads, 'createPool options.threads', 1, 256);
  const { memory, reason } = sharedMemory();
  if (!memory) return new CallingThreadPool(api, build, reason!);
  let mod: { module: WebAssembly.Module; bytes: Uint8Array<ArrayBuffer> };
  try {
    mod = await source.threads(build);
  } catch (e) {
    return new CallingThreadPool(api, build, `the threads build could not be loaded (${(e as Error)?.message ?? e})`);
  }
  try {
    return await WorkerPool.start(mod.module, mod.bytes, memory, build, threads, inlineBelow);
  } catch (e) {
    return new CallingThreadPool(api, build, `workers could not be started (${(e as Error)?.message ?? e})`);
  }
}
