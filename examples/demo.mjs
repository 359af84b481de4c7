// The main job on built-in data: Nyström and exact softmax attention on one head at n = 4096,
// d = 64 (m = 64 landmarks, 6 pinv iterations), timed after warm-up, with the approximation error.
// Usage: node examples/demo.mjs [n]
import { activeBuild, createAttention } from '../dist/index.js';

const n = Number(process.argv[2] ?? 4096);
const d = 64;
const m = 64;
const shape = [1, 1, n, d];

// Seeded normal inputs (xorshift32 + Box–Muller), Q and K with std 3 as in the accuracy checks.
let seed = 0x9e3779b9;
function uniform() {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return (seed + 0.5) / 4294967296;
}
function normal(len, std) {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform())) * std;
    const t = 2 * Math.PI * uniform();
    a[i] = r * Math.cos(t);
    if (i + 1 < len) a[i + 1] = r * Math.sin(t);
  }
  return a;
}
// Smooth, low-rank structure in Q and K (as real attention inputs have) plus noise, so the
// approximation error reflects the method rather than pure noise.
const q = normal(n * d, 0.5), k = normal(n * d, 0.5), v = normal(n * d, 1);
const basis = normal(8 * d, 1);
for (let i = 0; i < n; i++) {
  for (let r = 0; r < 8; r++) {
    const w = Math.sin((i / n) * Math.PI * (r + 1));
    for (let c = 0; c < d; c++) {
      q[i * d + c] += w * basis[r * d + c];
      k[i * d + c] += w * basis[r * d + c];
    }
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}
function time(plan, reps) {
  // Warm up: V8 runs new wasm code in its baseline tier first and optimises it after some use.
  const until = performance.now() + 400;
  for (let i = 0; i < 3 || performance.now() < until; i++) plan.run(q, k, v, outBuf(plan));
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    plan.run(q, k, v, outBuf(plan));
    ts.push(performance.now() - t0);
  }
  return median(ts);
}
const bufs = new Map();
const outBuf = (p) => bufs.get(p) ?? bufs.set(p, new Float32Array(n * d)).get(p);

const nys = createAttention({ shape, landmarks: m, kind: 'nystrom' });
const exact = createAttention({ shape, kind: 'softmax' });
const tNys = time(nys, 15);
const tExact = time(exact, 5);
const a = outBuf(nys), b = outBuf(exact);
let num = 0, den = 0;
for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }

console.log(`nystrom-wasm demo: one head, n = ${n}, d = ${d}, m = ${m} landmarks, 6 pinv iterations, build '${activeBuild()}'`);
console.log(`  Nyström attention   ${tNys.toFixed(2).padStart(9)} ms  (median of 15, copies in/out included)`);
console.log(`  exact attention     ${tExact.toFixed(2).padStart(9)} ms  (median of 5)`);
console.log(`  speed-up            ${(tExact / tNys).toFixed(1).padStart(9)} ×`);
console.log(`  relative error ‖nyström − exact‖F / ‖exact‖F = ${Math.sqrt(num / den).toExponential(3)}`);
