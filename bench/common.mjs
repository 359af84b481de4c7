// Pieces the bench scripts share: the timing protocol (tinybench rounds, contestants alternating),
// inputs, and the console tables.
import { Bench } from 'tinybench';
import { mulberry32 } from '../tests/reference.js';

/** Timing budgets. `time` is the budget per task summed over the rounds; rounds alternate the tasks. */
export function timingConfig(quick) {
  return quick
    ? { rounds: 2, time: 100, iterations: 2, warmupTime: 25, warmupIterations: 2 }
    : { rounds: 7, time: 1500, iterations: 14, warmupTime: 300, warmupIterations: 5 };
}

export function randomArray(len, seed, scale = 1) {
  const r = mulberry32(seed);
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}

export async function measure(tasks, CFG) {
  const samples = new Map(tasks.map((t) => [t.name, []]));
  for (let r = 0; r < CFG.rounds; r++) {
    const order = tasks.map((_, i) => tasks[(i + r) % tasks.length]);
    for (const t of order) {
      const rounds = Math.min(t.rounds ?? CFG.rounds, CFG.rounds);
      if (r >= rounds) continue;
      const warm = r === 0 && t.warmup !== false;
      const bench = new Bench({
        time: (t.time ?? CFG.time) / rounds,
        iterations: Math.max(1, Math.ceil((t.iterations ?? CFG.iterations) / rounds)),
        warmup: warm,
        warmupTime: CFG.warmupTime,
        warmupIterations: CFG.warmupIterations,
        retainSamples: true,
        throws: true,
      });
      bench.add(t.name, t.fn, t.beforeAll ? { beforeAll: t.beforeAll } : {});
      const t0 = performance.now();
      await bench.run();
      if (process.env.BENCH_DEBUG) console.error(`  [${t.name}] round ${r}: ${(performance.now() - t0).toFixed(0)} ms, ${bench.tasks[0].result.latency?.samples?.length} samples`);
      const res = bench.tasks[0].result;
      if (res.state !== 'completed') throw new Error(`${t.name}: ${res.state} ${res.error ?? ''}`);
      samples.get(t.name).push(...res.latency.samples);
    }
  }
  const out = {};
  for (const [name, s] of samples) {
    const sorted = [...s].sort((a, b) => a - b);
    out[name] = { median: percentile(sorted, 0.5), min: sorted[0], p75: percentile(sorted, 0.75), samples: sorted.length };
  }
  return out;
}

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const x = (sorted.length - 1) * p;
  const lo = Math.floor(x), hi = Math.ceil(x);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (x - lo);
}

export function fmt(x, digits = 2) {
  if (x == null || Number.isNaN(x)) return '—';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 100) return x.toFixed(Math.max(0, digits - 1));
  if (a >= 1) return x.toFixed(digits);
  if (a === 0) return '0';
  return x.toPrecision(digits + 1);
}

export const fmtRatio = (x) => (x == null || !Number.isFinite(x) ? '—' : `${x.toFixed(2)}×`);

export const gflops = (flops, ms) => flops / (ms * 1e6);

export function table(title, headers, rows) {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells) console.log(line(r));
}
