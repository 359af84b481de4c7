// Throughput probe for the gemm kernel: median GFLOP/s (2·M·N·K / s) per shape and transB.
// Usage: node --experimental-wasm-relaxed-simd bench/gemm-probe.mjs [wasm ...] [--shapes=MxNxK,...]
//        [--rounds=N]. Without files: build/nystrom.simd.wasm, and build/nystrom.relaxed.wasm when
//        this node validates relaxed SIMD (Node 20 needs the flag; Node 22+ has it on).
// Several wasm files alternate inside one process, round by round, so their ratios are comparable
// on a noisy machine. Timed: the gemm call only (B packed inside it), after warm-up; no copies.
// The last column, "cached", is gemmPacked on a cache-resident 64×64×256 with B packed once: the
// kernel's own speed at the moment of the run, to read the shape columns against.
import fs from 'node:fs';

const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  for (const b of ['simd', 'relaxed']) {
    const f = new URL(`../build/nystrom.${b}.wasm`, import.meta.url).pathname;
    if (WebAssembly.validate(fs.readFileSync(f))) files.push(f);
    else console.log(`skipping ${b}: this node does not validate it (try --experimental-wasm-relaxed-simd)`);
  }
}
const shapeArg = process.argv.find((a) => a.startsWith('--shapes='));
const rounds = Number((process.argv.find((a) => a.startsWith('--rounds=')) || '--rounds=7').slice(9));
// MxNxK. The last two are the Nyström-only shapes (n = 4096, d = m = 64): k3·V (K = n) and the
// pinv's 64³; 4096x64x64 (Q·K~ᵀ, k1·Z, W·k3V) and 64x4096x64 (Q~·Kᵀ) are in the first five.
let shapes = [[512, 512, 512], [1024, 1024, 1024], [4096, 64, 4096], [4096, 64, 64], [64, 4096, 64],
  [64, 64, 4096], [64, 64, 64]];
if (shapeArg) shapes = shapeArg.slice(9).split(',').map((s) => s.split('x').map(Number));

const align = (x) => (x + 63) & ~63;
const variants = files.map((f) => {
  const ex = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(f)), {}).exports;
  return { name: f.split('/').pop(), ex };
});

function setup(v, M, N, K) {
  const { ex } = v;
  const aOff = align(ex.heapBase ? ex.heapBase() : 65536);
  const bOff = align(aOff + M * K * 4), cOff = align(bOff + K * N * 4), wOff = align(cOff + M * N * 4);
  const end = wOff + Number(ex.gemmWorkBytes(N, K));
  const need = Math.ceil((end - ex.memory.buffer.byteLength) / 65536);
  if (need > 0) ex.memory.grow(need);
  const f = new Float32Array(ex.memory.buffer);
  for (let i = 0; i < M * K; i++) f[aOff / 4 + i] = Math.random() - 0.5;
  for (let i = 0; i < K * N; i++) f[bOff / 4 + i] = Math.random() - 0.5;
  return { aOff, bOff, cOff, wOff };
}

function timeOnce(v, M, N, K, tB, o, reps) {
  const { gemm } = v.ex;
  const ldb = tB ? K : N;
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) gemm(M, N, K, o.aOff, K, o.bOff, ldb, tB, o.cOff, N, o.wOff);
  return (performance.now() - t0) / 1000 / reps;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const rows = [];
for (const [M, N, K] of shapes) {
  const flop = 2 * M * N * K;
  const reps = Math.max(1, Math.round(0.05e9 / flop * 4)); // ≈ 5 ms per sample at 40 GFLOP/s
  for (const tB of [0, 1]) {
    const offs = variants.map((v) => setup(v, M, N, K));
    // Warm up: V8 runs a fresh function in its baseline tier first.
    for (let w = 0; w < 3; w++) variants.forEach((v, i) => timeOnce(v, M, N, K, tB, offs[i], reps));
    const samples = variants.map(() => []);
    for (let r = 0; r < rounds; r++) variants.forEach((v, i) => samples[i].push(flop / timeOnce(v, M, N, K, tB, offs[i], reps) / 1e9));
    variants.forEach((v, i) => rows.push({ variant: v.name, shape: `${M}x${N}x${K}`, transB: tB, gflops: +median(samples[i]).toFixed(1) }));
  }
}
// Cache-resident reference: B packed outside the timed loop.
{
  const [M, N, K] = [64, 64, 256], flop = 2 * M * N * K, reps = 200;
  for (const tB of [0, 1]) {
    const offs = variants.map((v) => setup(v, M, N, K));
    variants.forEach((v, i) => v.ex.packB(N, K, offs[i].bOff, tB ? K : N, tB, offs[i].wOff));
    const run = (v, o) => { const t0 = performance.now(); for (let r = 0; r < reps; r++) v.ex.gemmPacked(M, N, K, o.aOff, K, o.wOff, o.cOff, N); return (performance.now() - t0) / 1000 / reps; };
    for (let w = 0; w < 3; w++) variants.forEach((v, i) => run(v, offs[i]));
    const samples = variants.map(() => []);
    for (let r = 0; r < rounds; r++) variants.forEach((v, i) => samples[i].push(flop / run(v, offs[i]) / 1e9));
    variants.forEach((v, i) => rows.push({ variant: v.name, shape: 'cached', transB: tB, gflops: +median(samples[i]).toFixed(1) }));
  }
}
const shapeNames = [...new Set(rows.map((r) => r.shape))];
console.log(['variant', 'transB', ...shapeNames].join('\t'));
for (const v of variants) for (const tB of [0, 1]) {
  console.log([v.name, tB, ...shapeNames.map((s) => rows.find((r) => r.variant === v.name && r.shape === s && r.transB === tB).gflops)].join('\t'));
}
