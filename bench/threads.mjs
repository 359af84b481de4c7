// The worker pool's thread curve, in a process that loads only this package (bench/run.mjs runs it
// as its threads section, beside onnxruntime-web's thread counts in processes of their own). For each build: the
// synchronous call against createPool({ threads }) for 2, 4, 8 threads where the machine has the
// cores, every pool result checked bit-identical first, then timed in alternating rounds.
//   node --experimental-wasm-relaxed-simd bench/threads.mjs [--quick] [--json PATH]   (THREADS_ONLY=exact: the cases whose name starts so)
// Pool calls are timed as async functions: tinybench calls a plain function once more to see whether
// it returns a promise, which would leave a call queued ahead of the timed one.
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { timingConfig, measure as measureWith, randomArray, fmt, fmtRatio, gflops, table } from './common.mjs';

try { v8.setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
const here = path.dirname(fileURLToPath(import.meta.url));
const args = { quick: process.argv.includes('--quick'), json: null };
const ji = process.argv.indexOf('--json');
if (ji >= 0) args.json = path.resolve(process.argv[ji + 1]);
const CFG = timingConfig(args.quick);
const measure = (tasks) => measureWith(tasks, CFG);
const O = await import(pathToFileURL(path.join(here, '..', 'dist', 'index.js')).href);
const builds = [];
for (const b of ['simd', 'relaxed']) {
  try { O.selectBuild(b); builds.push(b); } catch { /* unavailable here */ }
}
const failures = [];
const notes = [];
const fail = (msg) => { failures.push(msg); console.error(`\n!!! CORRECTNESS FAILURE: ${msg}\n`); };
const cores = os.availableParallelism?.() ?? os.cpus().length;
const counts = [1, 2, 4, 8].filter((t) => t === 1 || t <= Math.max(2, cores));
const d = 64, m = 64;
const attn = (B, H, n) => ({ q: randomArray(B * H * n * d, 31), k: randomArray(B * H * n * d, 32), v: randomArray(B * H * n * d, 33), o: new Float32Array(B * H * n * d), shape: [B, H, n, d] });
const ALL_CASES = [
  { name: 'nystrom n=16384', kind: 'nystrom', x: attn(1, 1, 16384) },
  { name: 'nystrom n=4096', kind: 'nystrom', x: attn(1, 1, 4096) },
  { name: 'nystrom H=12 n=4096', kind: 'nystrom', x: attn(1, 12, 4096) },
  { name: 'exact n=4096', kind: 'softmax', x: attn(1, 1, 4096), slow: true },
  ...[[1024, 1024, 1024], [64, 4096, 64], [4096, 64, 64]].map(([M, K, N]) => ({ name: `matmul ${M}×${K}×${N}`, kind: 'matmul', M, K, N,
    x: { a: randomArray(M * K, 34), b: randomArray(K * N, 35), c: new Float32Array(M * N) }, flops: 2 * M * K * N })),
];
const CASES = process.env.THREADS_ONLY ? ALL_CASES.filter((c) => c.name.startsWith(process.env.THREADS_ONLY)) : ALL_CASES;
const out = { counts, cores, builds: {} };
for (const bd of builds) {
  const pools = {};
  for (const t of counts.filter((t) => t > 1)) {
    const p = await O.createPool({ threads: t, build: bd });
    if (p.threads === t) pools[t] = p; else { notes.push(`pool of ${t} (${bd}): ${p.reason}`); await p.close(); }
  }
  const run = (c, t) => {
    const pool = pools[t];
    const { x } = c;
    if (c.kind === 'matmul') return pool ? pool.matmul(x.a, x.b, c.M, c.K, c.N, x.c) : (O.selectBuild(bd), O.matmul(x.a, x.b, c.M, c.K, c.N, x.c));
    const o = { shape: x.shape, landmarks: m, out: x.o };
    const fn = c.kind === 'nystrom' ? 'nystromAttention' : 'softmaxAttention';
    if (pool) return pool[fn](x.q, x.k, x.v, o);
    O.selectBuild(bd);
    return O[fn](x.q, x.k, x.v, o);
  };
  // Correctness first: every pool result bit-identical to the synchronous call.
  for (const c of CASES) {
    const want = (await run(c, 1)).slice();
    for (const t of Object.keys(pools)) {
      const got = await run(c, Number(t));
      let same = got.length === want.length;
      for (let i = 0; same && i < got.length; i++) same = Object.is(got[i], want[i]);
      if (!same) fail(`threads: ${c.name} ${bd} with ${t} threads differs from the synchronous call`);
    }
  }
  // Warm every task up before the rounds (each worker's code reaches the optimising tier).
  for (const c of CASES) for (const t of [1, ...Object.keys(pools).map(Number)]) for (let i = 0; i < (c.slow ? 2 : 5); i++) await run(c, t);
  const tasks = [];
  for (const c of CASES) {
    for (const t of [1, ...Object.keys(pools).map(Number)]) {
      tasks.push({ name: `${c.name} ${bd} ×${t}`, fn: async () => { await run(c, t); }, ...(c.slow ? { time: CFG.time / 2, iterations: args.quick ? 2 : 4 } : {}) });
    }
  }
  const t = await measure(tasks);
  for (const p of Object.values(pools)) await p.close();
  const rows = [];
  const entry = {};
  for (const c of CASES) {
    const base = t[`${c.name} ${bd} ×1`]?.median;
    const cells = [];
    entry[c.name] = {};
    for (const n of [1, ...Object.keys(pools).map(Number)]) {
      const ms = t[`${c.name} ${bd} ×${n}`]?.median;
      entry[c.name][n] = { ms, speedup: base / ms, gflops: c.flops ? gflops(c.flops, ms) : undefined };
      cells.push(c.flops ? `${fmt(gflops(c.flops, ms), 1)} GF/s` : `${fmt(ms, 2)} ms`, n === 1 ? '—' : fmtRatio(base / ms));
    }
    rows.push([c.name, ...cells]);
  }
  const heads = [];
  for (const n of [1, ...Object.keys(pools).map(Number)]) heads.push(`${n} thr`, `× vs 1`);
  table(`7. threads (${bd}): 1 = the synchronous call; more = createPool (copies in/out included)`, ['', ...heads], rows);
  out.builds[bd] = entry;
}

out.notes = notes;
out.failures = failures;
if (args.json) fs.writeFileSync(args.json, JSON.stringify(out, null, 2));
