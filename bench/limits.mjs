// The longest single-head sequence each call kind can take in wasm32 memory, per (headDim, landmarks),
// as the library's memory planner computes it (the README's table).
//   npm run build && node bench/limits.mjs
import { largestSeqLen } from '../dist/attention.js';
import { Engine } from '../dist/engine.js';
import { base64ToBytes } from '../dist/loader.js';
import { SIMD_WASM_BASE64 } from '../dist/wasm/bytes.generated.js';

const engine = new Engine(new WebAssembly.Module(base64ToBytes(SIMD_WASM_BASE64)), 'simd');
const base = engine.heapStart;
const PAIRS = [[64, 64], [64, 128], [128, 64], [16, 128], [32, 32], [1, 64]];
const call = (d, m) => ({ B: 1, H: 1, n: 2 ** 30, d, style: 0, layout: 0, mask: null, conv: null, ks: 0, m, iters: 6, init: 0, remainder: 0, out: undefined });
const fmt = (x) => x.toLocaleString('en-US').replace(/,/g, ' ');
console.log(`| d, m | ${PAIRS.map(([d, m]) => `${d}, ${m}`).join(' | ')} |`);
console.log(`|---|${PAIRS.map(() => '---:').join('|')}|`);
for (const [label, kind] of [['Nyström', 'nystrom'], ['exact', 'softmax']]) {
  console.log(`| ${label} | ${PAIRS.map(([d, m]) => fmt(largestSeqLen(base, kind, call(d, m), 'attention'))).join(' | ')} |`);
}

