// Where a pool call's time goes: the workers time every task of the calls (the pool's trace hook),
// and this prints, over many calls, the median of when things happen (ms from the call) and of the
// time spent per kernel summed over the threads — against the synchronous call beside it.
//   node --experimental-wasm-relaxed-simd bench/pool-trace.mjs [--n 16384] [--threads 2] [--build simd] [--in-place] [--calls 60]
import v8 from 'node:v8';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomArray } from './common.mjs';

try { v8.setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const n = Number(opt('n', 16384)), T = Number(opt('threads', 2)), build = opt('build', 'simd'), calls = Number(opt('calls', 60));
const inPlace = argv.includes('--in-place');
const d = 64, m = 64;
const O = await import(pathToFileURL(path.join(here, '..', 'dist', 'index.js')).href);
O.selectBuild(build);
const shape = [1, 1, n, d];
const [q, k, v] = [31, 32, 33].map((s) => randomArray(n * d, s));
const out = new Float32Array(n * d);
const pool = await O.createPool({ threads: T, build, inlineBelow: 0 });
const plan = inPlace ? await pool.createAttention({ shape, landmarks: m }) : null;
const syncPlan = inPlace ? O.createAttention({ shape, landmarks: m, build }) : null;
for (const p of [plan, syncPlan]) {
  if (!p) continue;
  p.inputs.q.set(q);
  p.inputs.k.set(k);
  p.inputs.v.set(v);
}
const poolCall = () => (plan ? plan.runInPlace() : pool.nystromAttention(q, k, v, { shape, landmarks: m, out }));
const syncCall = () => (syncPlan ? syncPlan.runInPlace() : O.nystromAttention(q, k, v, { shape, landmarks: m, out }));
for (let i = 0; i < 20; i++) { await poolCall(); syncCall(); }
pool.trace = true;
const at = {}, spent = {}, sync = [];
const add = (tbl, key, x) => (tbl[key] ??= []).push(x);
for (let i = 0; i < calls; i++) {
  const s = performance.now();
  syncCall();
  sync.push(performance.now() - s);
  const t0 = performance.now() + performance.timeOrigin;
  await poolCall();
  add(at, 'resolved', performance.now() + performance.timeOrigin - t0);
  add(at, 'posted', pool.postedAt - t0);
  const sums = {};
  let last = 0;
  pool.lastTimes.forEach((w, t) => {
    add(at, `worker ${t} started`, w.start - t0);
    const seen = new Set();
    for (const [what, a, b] of w.trace ?? []) {
      sums[what] = (sums[what] ?? 0) + (b - a);
      last = Math.max(last, b - t0);
      // When each gate opened (the first pass through it on this worker).
      if (what.startsWith('gate') && !seen.has(what)) { seen.add(what); add(at, `${what} passed (worker ${t})`, b - t0); }
    }
    let p = w.start - t0;
    w.phases.forEach(([work, wait], i) => { p += work; add(at, `phase ${i} done (worker ${t})`, p); p += wait; });
  });
  add(at, 'last task ended', last);
  for (const [what, x] of Object.entries(sums)) add(spent, what, x);
}
await pool.close();
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`n = ${n}, d = ${d}, m = ${m}, one head, ${T} threads, ${build}${inPlace ? ', in place (plans)' : ''}: medians of ${calls} calls`);
console.log(`synchronous call ${median(sync).toFixed(2)} ms; pool call ${median(at.resolved).toFixed(2)} ms (${(median(sync) / median(at.resolved)).toFixed(2)}×)\n`);
console.log('when (ms from the call)');
for (const [what, xs] of Object.entries(at).sort((x, y) => median(x[1]) - median(y[1]))) console.log(`  ${what.padEnd(34)} ${median(xs).toFixed(3)}`);
console.log('\nthread-ms per kernel (summed over the threads)');
let total = 0;
for (const [what, xs] of Object.entries(spent)) {
  if (!what.startsWith('gate')) total += median(xs);
  console.log(`  ${what.padEnd(34)} ${median(xs).toFixed(3)}`);
}
console.log(`  ${'all kernels'.padEnd(34)} ${total.toFixed(3)}`);
