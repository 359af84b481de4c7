// Where the time of one Nyström call goes: times each kernel of the composition at the call's
// shapes (one head), on the build this engine picks, inside one process after warm-up.
// Usage: node [--experimental-wasm-relaxed-simd] scripts/profile-nystrom.mjs [n] [d] [m]
import { readFileSync } from 'node:fs';

const [n, d, m] = [4096, 64, 64].map((x, i) => Number(process.argv[2 + i] ?? x));
const relaxed = WebAssembly.validate(new Uint8Array(readFileSync(new URL('../build/nystrom.relaxed.wasm', import.meta.url))));
const build = process.execArgv.some((a) => a.includes('relaxed')) && relaxed ? 'relaxed' : 'simd';
const mod = new WebAssembly.Module(readFileSync(new URL(`../build/nystrom.${build}.wasm`, import.meta.url)));
const k = new WebAssembly.Instance(mod, {}).exports;
const bytes = (4 * n * d + 4 * n * m + 4 * m * d + 4 * m * m) * 4 * 2 + 64 * 1024 * 1024 + k.nystromWorkspaceBytes(1, 1, n, d, m, 0, 0, 0);
k.memory.grow(Math.ceil(bytes / 65536));
let p = (k.heapBase() + 15) & ~15;
const alloc = (floats) => { const o = p; p += Math.ceil(floats * 4 / 16) * 16; return o; };
const Q = alloc(n * d), K = alloc(n * d), V = alloc(n * d), O = alloc(n * d);
const QL = alloc(m * d), KL = alloc(m * d), K1 = alloc(n * m), K2 = alloc(m * m), K3 = alloc(m * n), Z = alloc(m * m);
const K3V = alloc(m * d), W = alloc(n * m), PW = alloc(k.pinvWorkBytes(m) / 4), GW = alloc(k.gemmWorkBytes(n, d) / 4 + k.gemmWorkBytes(d, n) / 4);
const WS = alloc(k.nystromWorkspaceBytes(1, 1, n, d, m, 0, 0, 0) / 4);
const f = new Float32Array(k.memory.buffer);
for (let i = 0; i < 4 * n * d; i++) f[Q / 4 + i] = Math.random() - 0.5;

const stages = {
  'landmarks (Q and K)': () => { k.segmentMeans(Q, n, d, m, 0, 0, 0, QL, 0); k.segmentMeans(K, n, d, m, 0, 0, 0, KL, 0); },
  'k1 gemm n×m×d (A·Bᵀ)': () => k.gemm(n, m, d, Q, d, KL, d, 1, K1, m, GW),
  'k1 softmax n×m': () => k.softmaxRows(K1, n, m, m, 1, 0, 0, 0),
  'k2 gemm + softmax': () => { k.gemm(m, m, d, QL, d, KL, d, 1, K2, m, GW); k.softmaxRows(K2, m, m, m, 1, 0, 0, 0); },
  'k3 gemm m×n×d (A·Bᵀ)': () => k.gemm(m, n, d, QL, d, K, d, 1, K3, n, GW),
  'k3 softmax m×n': () => k.softmaxRows(K3, m, n, n, 1, 0, 0, 0),
  [`pinv ${m}×${m}, 6 iterations`]: () => k.pinvIterate(K2, Z, m, 6, 0.01, PW),
  'k3·V gemm m×d×n': () => k.gemm(m, d, n, K3, n, V, d, 0, K3V, d, GW),
  'k1·Z gemm n×m×m': () => k.gemm(n, m, m, K1, m, Z, m, 0, W, m, GW),
  'W·(k3V) gemm n×d×m': () => k.gemm(n, d, m, W, m, K3V, d, 0, O, d, GW),
  'whole nystromAttention': () => k.nystromAttention(Q, K, V, O, 0, 0, 0, 1, 1, n, d, m, 6, 0, 0, 0, 0, WS),
};
const flops = {
  'k1 gemm n×m×d (A·Bᵀ)': 2 * n * m * d, 'k3 gemm m×n×d (A·Bᵀ)': 2 * n * m * d, 'k3·V gemm m×d×n': 2 * n * m * d,
  'k1·Z gemm n×m×m': 2 * n * m * m, 'W·(k3V) gemm n×d×m': 2 * n * m * d, [`pinv ${m}×${m}, 6 iterations`]: 6 * 4 * 2 * m ** 3,
};
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const res = {};
for (const [name, fn] of Object.entries(stages)) { for (let i = 0; i < 5; i++) fn(); res[name] = []; }
for (let rep = 0; rep < 15; rep++) {
  for (const [name, fn] of Object.entries(stages)) {
    const t0 = performance.now(); fn(); res[name].push(performance.now() - t0);
  }
}
console.log(`build ${build}, n=${n} d=${d} m=${m}`);
let sum = 0;
for (const [name, ts] of Object.entries(res)) {
  const t = med(ts);
  if (!name.startsWith('whole')) sum += t;
  const g = flops[name] ? `${(flops[name] / t / 1e6).toFixed(1).padStart(6)} GFLOP/s` : '';
  console.log(`${name.padEnd(30)} ${t.toFixed(3).padStart(8)} ms ${g}`);
}
console.log(`${'sum of stages'.padEnd(30)} ${sum.toFixed(3).padStart(8)} ms`);
