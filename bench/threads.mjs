// The worker pool's thread curve, in a process that loads only this package (bench/run.mjs runs it
// as its threads section, beside onnxruntime-web's thread counts in processes of their own). For each build: the
// synchronous call against createPool({ threads }) for 2, 4, 8 threads where the machine has the
// cores, every pool result checked bit-identical first, then timed in alternating rounds; the same
// with plans and the inputs in place (no copies); and the machine's ceiling (bench/ceiling.mjs):
// what that many independent one-thread calls at once give, timed in the same rounds.
//   node --experimental-wasm-relaxed-simd bench/threads.mjs [--quick] [--json PATH]   (THREADS_ONLY=exact: the cases whose name starts so)
// Pool calls are timed as async functions: tinybench calls a plain function once more to see whether
// it returns a promise, which would leave a call queued ahead of the timed one.
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { timingConfig, measure as measureWith, randomArray, fmt, fmtRatio, gflops, table } from './common.mjs';
import { startCeiling } from './ceiling.mjs';

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
  { name: 'nystrom n=16384 in place', kind: 'nystrom', x: attn(1, 1, 16384), inPlace: true, ceilingOf: 'nystrom n=16384' },
  { name: 'nystrom n=4096', kind: 'nystrom', x: attn(1, 1, 4096) },
  { name: 'nystrom n=4096 in place', kind: 'nystrom', x: attn(1, 1, 4096), inPlace: true, ceilingOf: 'nystrom n=4096' },
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
  // In-place cases: plans (the synchronous one, and one per pool) with the inputs written once: no copies.
  const plans = new Map();
  const planOf = (c, t) => {
    const key = `${c.name} ${t}`;
    if (!plans.has(key)) {
      const o = { shape: c.x.shape, landmarks: m, kind: c.kind };
      const p = t === 1 ? O.createAttention({ ...o, build: bd }) : pools[t].createAttention(o);
      plans.set(key, Promise.resolve(p).then((plan) => {
        plan.inputs.q.set(c.x.q);
        plan.inputs.k.set(c.x.k);
        plan.inputs.v.set(c.x.v);
        return plan;
      }));
    }
    return plans.get(key);
  };
  for (const c of CASES.filter((x) => x.inPlace)) for (const t of [1, ...Object.keys(pools).map(Number)]) c[`plan${t}`] = await planOf(c, t);
  const run = (c, t) => {
    const pool = pools[t];
    const { x } = c;
    if (c.inPlace) return c[`plan${t}`].runInPlace();
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
  const ceilingRigs = [];
  for (const c of CASES) {
    const timing = c.slow ? { time: CFG.time / 2, iterations: args.quick ? 2 : 4 } : {};
    for (const t of [1, ...Object.keys(pools).map(Number)]) {
      tasks.push({ name: `${c.name} ${bd} ×${t}`, fn: async () => { await run(c, t); }, ...timing });
      if (t === 1 || c.ceilingOf) continue;
      // The machine's ceiling for t threads, in the same rounds: t independent one-thread calls at once.
      const spec = c.kind === 'matmul' ? { kind: 'matmul', M: c.M, K: c.K, N: c.N } : { kind: c.kind, shape: c.x.shape, landmarks: m };
      const calls = c.slow ? 1 : 3;
      const rig = await startCeiling(spec, bd, t, calls);
      ceilingRigs.push(rig);
      tasks.push({ name: `${c.name} ${bd} solo`, fn: async () => { await rig.solo(); }, ...timing });
      tasks.push({ name: `${c.name} ${bd} together×${t}`, fn: async () => { await rig.together(); }, ...timing });
    }
  }
  const t = await measure(tasks);
  await Promise.all(ceilingRigs.map((r) => r.close()));
  const ceilings = {};
  for (const c of CASES.filter((x) => !x.ceilingOf)) {
    ceilings[c.name] = {};
    for (const n of Object.keys(pools).map(Number)) {
      const solo = t[`${c.name} ${bd} solo`]?.median, together = t[`${c.name} ${bd} together×${n}`]?.median;
      if (solo && together) ceilings[c.name][n] = (n * solo) / together;
    }
  }
  for (const c of CASES.filter((x) => x.inPlace)) for (const key of Object.keys(c).filter((k) => k.startsWith('plan'))) c[key].dispose();
  for (const p of Object.values(pools)) await p.close();
  const rows = [];
  const entry = {};
  for (const c of CASES) {
    const base = t[`${c.name} ${bd} ×1`]?.median;
    const cells = [];
    entry[c.name] = {};
    for (const n of [1, ...Object.keys(pools).map(Number)]) {
      const ms = t[`${c.name} ${bd} ×${n}`]?.median;
      const ceiling = n === 1 ? undefined : ceilings[c.ceilingOf ?? c.name]?.[n];
      entry[c.name][n] = { ms, speedup: base / ms, gflops: c.flops ? gflops(c.flops, ms) : undefined, ceiling };
      cells.push(c.flops ? `${fmt(gflops(c.flops, ms), 1)} GF/s` : `${fmt(ms, 2)} ms`, n === 1 ? '—' : fmtRatio(base / ms));
      if (n > 1) cells.push(ceiling ? `${fmtRatio(ceiling)} (${Math.round((100 * base) / ms / ceiling)} %)` : '—');
    }
    rows.push([c.name, ...cells]);
  }
  const heads = [];
  for (const n of [1, ...Object.keys(pools).map(Number)]) heads.push(`${n} thr`, `× vs 1`, ...(n > 1 ? [`ceiling (% of it)`] : []));
  table(`7. threads (${bd}): 1 = the synchronous call (in place: a plan); more = createPool (copies in/out included; in place: pool.createAttention); ceiling: ${''
  }that many independent one-thread calls at once`, ['', ...heads], rows);
  out.builds[bd] = entry;
}

out.notes = notes;
out.failures = failures;
if (args.json) fs.writeFileSync(args.json, JSON.stringify(out, null, 2));
