// Before/after: this checkout's dist/ against another checkout's built dist/, in one process,
// alternating, both builds — the check that a change of the core costs no speed.
// Usage: node --experimental-wasm-relaxed-simd bench/ab.mjs OTHER_CHECKOUT_DIR [--rounds R] [--pool T]
// Prints per case the median ms of each side and the ratio other/this (> 1: this is faster).
// --pool T: the worker pool's calls instead (createPool({ threads: T }) on each side; one long
// sequence with one head, and matmul 1024³), beside this side's synchronous call.
import v8 from 'node:v8';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { randn } from '../tests/reference.js';

try { v8.setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }

const args = process.argv.slice(2);
if (!args[0] || args[0].startsWith('--')) {
  console.error('usage: node bench/ab.mjs OTHER_CHECKOUT_DIR [--rounds R]');
  process.exit(2);
}
const other = path.resolve(args[0]);
const ri = args.indexOf('--rounds');
const ROUNDS = ri >= 0 ? Number(args[ri + 1]) : 9;
const here = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

const sides = {
  this: await import(pathToFileURL(path.join(here, 'dist', 'index.js')).href),
  other: await import(pathToFileURL(path.join(other, 'dist', 'index.js')).href),
};

const attn = (B, H, n, d) => {
  const len = B * H * n * d;
  return { q: randn(len, 3, 1), k: randn(len, 3, 2), v: randn(len, 1, 3), out: new Float32Array(len), shape: [B, H, n, d] };
};

const CASES = [
  { name: 'nystrom n=4096 d=64 m=64', make: () => attn(1, 1, 4096, 64), run: (L, x) => L.nystromAttention(x.q, x.k, x.v, { shape: x.shape, landmarks: 64, out: x.out }) },
  { name: 'nystrom B=1 H=12 n=1024 d=64 m=64', make: () => attn(1, 12, 1024, 64), run: (L, x) => L.nystromAttention(x.q, x.k, x.v, { shape: x.shape, landmarks: 64, out: x.out }) },
  { name: 'exact n=1024 d=64', make: () => attn(1, 1, 1024, 64), run: (L, x) => L.softmaxAttention(x.q, x.k, x.v, { shape: x.shape, out: x.out }) },
  { name: 'exact n=4096 d=64', make: () => attn(1, 1, 4096, 64), run: (L, x) => L.softmaxAttention(x.q, x.k, x.v, { shape: x.shape, out: x.out }), reps: 1 },
  ...[[512, 512, 512], [4096, 64, 64], [64, 4096, 64]].map(([m, k, n]) => ({
    name: `matmul ${m}×${k}×${n}`,
    make: () => ({ a: randn(m * k, 1, 4), b: randn(k * n, 1, 5), out: new Float32Array(m * n) }),
    run: (L, x) => L.matmul(x.a, x.b, m, k, n, x.out),
  })),
];

function time(fn, reps) {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - t0) / reps;
}

const median = (s) => [...s].sort((a, b) => a - b)[Math.floor(s.length / 2)];

const rows = [];
const pi = args.indexOf('--pool');
if (pi >= 0) {
  const T = Number(args[pi + 1]);
  const POOL_CASES = [
    { name: 'nystrom n=16384 d=64 m=64', x: attn(1, 1, 16384, 64), run: (L, x) => L.nystromAttention(x.q, x.k, x.v, { shape: x.shape, landmarks: 64, out: x.out }) },
    { name: 'nystrom n=4096 d=64 m=64', x: attn(1, 1, 4096, 64), run: (L, x) => L.nystromAttention(x.q, x.k, x.v, { shape: x.shape, landmarks: 64, out: x.out }) },
    { name: 'matmul 1024³', x: { a: randn(1 << 20, 1, 4), b: randn(1 << 20, 1, 5), out: new Float32Array(1 << 20) }, run: (L, x) => L.matmul(x.a, x.b, 1024, 1024, 1024, x.out) },
  ];
  for (const build of ['simd', 'relaxed']) {
    const pools = {};
    for (const [k, L] of Object.entries(sides)) pools[k] = await L.createPool({ threads: T, build });
    sides.this.selectBuild(build);
    for (const c of POOL_CASES) {
      const fns = { this: () => c.run(pools.this, c.x), other: () => c.run(pools.other, c.x), sync: async () => c.run(sides.this, c.x) };
      for (const f of Object.values(fns)) for (let i = 0; i < 3; i++) await f();
      const s = { this: [], other: [], sync: [] };
      for (let r = 0; r < ROUNDS * 4; r++) {
        for (const k of r % 2 ? ['other', 'sync', 'this'] : ['this', 'sync', 'other']) {
          const t0 = performance.now();
          await fns[k]();
          s[k].push(performance.now() - t0);
        }
      }
      const [a, b, one] = [median(s.this), median(s.other), median(s.sync)];
      rows.push({ build, case: `${c.name}, ${T} threads`, 'this ms': a.toFixed(3), 'other ms': b.toFixed(3), 'other/this': (b / a).toFixed(3),
        'this ÷ 1 thread': (one / a).toFixed(3), 'other ÷ 1 thread': (one / b).toFixed(3) });
      console.error(`${build} ${c.name} ${T} threads: this ${a.toFixed(3)} ms, other ${b.toFixed(3)} ms, one thread ${one.toFixed(3)} ms`);
    }
    for (const p of Object.values(pools)) await p.close();
  }
  console.table(rows);
  process.exit(0);
}
for (const build of ['simd', 'relaxed']) {
  for (const L of Object.values(sides)) L.selectBuild(build);
  for (const c of CASES) {
    const x = c.make();
    const fns = Object.fromEntries(Object.entries(sides).map(([k, L]) => [k, () => c.run(L, x)]));
    // Warm up until the optimising tier runs, and size the repetitions to ~50 ms.
    for (const f of Object.values(fns)) for (let i = 0; i < 3; i++) f();
    const once = time(fns.this, 1);
    const reps = c.reps ?? Math.max(1, Math.round(50 / Math.max(once, 0.01)));
    const s = { this: [], other: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 ? ['other', 'this'] : ['this', 'other'];
      for (const k of order) s[k].push(time(fns[k], reps));
    }
    const a = median(s.this), b = median(s.other);
    rows.push({ build, case: c.name, 'this ms': a.toFixed(3), 'other ms': b.toFixed(3), 'other/this': (b / a).toFixed(3) });
    console.error(`${build} ${c.name}: this ${a.toFixed(3)} ms, other ${b.toFixed(3)} ms, ratio ${(b / a).toFixed(3)}`);
  }
}
console.table(rows);
