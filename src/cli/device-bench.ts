// The device benchmark behind `nystrom-wasm-bench` and examples/bench/: this package's kernels on
// this device and runtime — matmul GFLOP/s (1024³ and the attention shapes) and Nyström / exact
// attention ms at n = 1024 … 16384 for 1, 2, … threads (1 = the synchronous call on the calling
// thread; more = a worker pool). Medians after warm-up. Runs in Node, Deno, Bun and browsers.
import * as lib from '../index.js';

export interface BenchRow { case: string; n?: number; threads: number; ms: number; gflops?: number }
export interface BenchOptions {
  quick?: boolean;
  /** Thread counts to try (default 1, 2, 4, 8 up to the core count, and the core count). */
  threads?: number[];
  /** Called with each table line as it is measured. */
  log?: (line: string) => void;
}
export interface BenchResult {
  runtime: string; cpu: string; cores: number; os: string; build: string; threads: number[]; quick: boolean;
  notes: string[]; rows: BenchRow[];
}

const g = globalThis as any;

export function runtimeName(): string {
  if (g.Deno) return `Deno ${g.Deno.version.deno}`;
  if (g.Bun) return `Bun ${g.Bun.version}`;
  if (g.process?.versions?.node) return `Node ${g.process.versions.node}`;
  return g.navigator?.userAgent ?? 'unknown runtime';
}

async function machine(): Promise<{ cpu: string; cores: number; os: string }> {
  if (!g.process?.versions?.node && !g.Deno) {
    return { cpu: 'browser', cores: g.navigator?.hardwareConcurrency ?? 1, os: g.navigator?.platform ?? 'unknown OS' };
  }
  try {
    const spec = 'node:os';
    const os = await import(spec);
    const cpus = os.cpus();
    return { cpu: cpus[0]?.model?.trim() ?? 'unknown CPU', cores: os.availableParallelism?.() ?? cpus.length, os: `${os.platform()} ${os.arch()}` };
  } catch {
    return { cpu: 'unknown CPU', cores: g.navigator?.hardwareConcurrency ?? 1, os: 'unknown OS' };
  }
}

/** Median ms of fn after warm-up, repeated within a time budget. */
async function time(fn: () => unknown, budgetMs: number, minReps = 3): Promise<number> {
  for (let i = 0; i < 2; i++) await fn();
  const samples: number[] = [];
  const end = performance.now() + budgetMs;
  while (samples.length < minReps || (performance.now() < end && samples.length < 50)) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

function random(len: number, seed: number): Float32Array {
  const x = new Float32Array(len);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    x[i] = s / 2 ** 31 - 1;
  }
  return x;
}

export async function deviceBench(options: BenchOptions = {}): Promise<BenchResult> {
  const quick = options.quick ?? false;
  const log = options.log ?? (() => {});
  const m = await machine();
  const build = lib.activeBuild();
  const wanted = (options.threads ?? [1, 2, 4, 8].filter((t) => t <= m.cores).concat(m.cores > 8 ? [] : [m.cores]))
    .filter((t, i, a) => Number.isInteger(t) && t >= 1 && a.indexOf(t) === i).sort((a, b) => a - b);
  log(`nystrom-wasm-bench: ${runtimeName()}, ${m.os}, ${m.cpu}, ${m.cores} cores; build '${build}'${quick ? ' (quick)' : ''}`);
  const notes: string[] = [];
  const pools = new Map<number, lib.Pool>();
  for (const t of wanted.filter((t) => t > 1)) {
    const pool = await lib.createPool({ threads: t, inlineBelow: 0 }); // the workers, however small the call
    if (pool.threads === t) pools.set(t, pool);
    else {
      notes.push(`${t} threads: not available here (${pool.reason})`);
      log(`  ${notes.at(-1)}`);
      await pool.close();
    }
  }
  const threads = [1, ...pools.keys()];
  const rows: BenchRow[] = [];
  const budget = quick ? 150 : 1200;
  const header = (first: string) => `  ${first.padEnd(16)}${threads.map((t) => `${t} thr`.padStart(10)).join('')}`;
  try {
    const matmulShapes: [number, number, number][] = quick ? [[512, 512, 512], [4096, 64, 64]] : [[1024, 1024, 1024], [4096, 64, 64], [64, 4096, 64]];
    log('\nmatmul GFLOP/s (A·B, operands copied in and out)');
    log(header('M×K×N'));
    for (const [M, K, N] of matmulShapes) {
      const a = random(M * K, 1), b = random(K * N, 2), out = new Float32Array(M * N);
      const cells: string[] = [];
      for (const t of threads) {
        const pool = pools.get(t);
        const ms = await time(() => (pool ? pool.matmul(a, b, M, K, N, out) : lib.matmul(a, b, M, K, N, out)), budget);
        const gflops = (2 * M * K * N) / ms / 1e6;
        rows.push({ case: `matmul ${M}x${K}x${N}`, threads: t, ms, gflops });
        cells.push(gflops.toFixed(1).padStart(10));
      }
      log(`  ${`${M}×${K}×${N}`.padEnd(16)}${cells.join('')}`);
    }
    const ns = quick ? [1024, 4096] : [1024, 2048, 4096, 8192, 16384];
    const d = 64;
    for (const kind of ['nystrom', 'exact'] as const) {
      log(`\n${kind === 'nystrom' ? 'Nyström attention (m = 64, 6 pinv iterations)' : 'exact softmax attention'}, one head, d = 64, ms`);
      log(header('n'));
      for (const n of ns) {
        if (kind === 'exact' && quick && n > 1024) continue;
        const q = random(n * d, 3), k = random(n * d, 4), v = random(n * d, 5), out = new Float32Array(n * d);
        const opts = { shape: [1, 1, n, d] as [number, number, number, number], landmarks: 64, out };
        const cells: string[] = [];
        for (const t of threads) {
          const pool = pools.get(t);
          const call = kind === 'nystrom'
            ? () => (pool ? pool.nystromAttention(q, k, v, opts) : lib.nystromAttention(q, k, v, opts))
            : () => (pool ? pool.softmaxAttention(q, k, v, opts) : lib.softmaxAttention(q, k, v, opts));
          // Exact attention past n = 4096 takes seconds per call: one timed call after the warm-up.
          const ms = kind === 'exact' && n > 4096 ? await time(call, 0, 1) : await time(call, budget);
          rows.push({ case: kind, n, threads: t, ms });
          cells.push(ms.toFixed(ms < 100 ? 2 : 0).padStart(10));
        }
        log(`  ${String(n).padEnd(16)}${cells.join('')}`);
      }
    }
  } finally {
    for (const p of pools.values()) await p.close();
  }
  return { runtime: runtimeName(), ...m, build, threads, quick, notes, rows };
}
