// The settings guide: how far Nyström attention is from exact attention, and how long each takes,
// as n, the landmarks m, the pinv iterations and pinvInit vary — on random inputs and on inputs with
// the structure real attention has (a sequence of embedded tokens with positions, through random
// projections). Prints markdown tables (the README's "Choosing settings" section).
//   npm run build && node bench/settings.mjs [--quick] [--json PATH]
import fs from 'node:fs';
import { nystromAttention, softmaxAttention, activeBuild } from '../dist/index.js';
import { mulberry32, gaussian } from '../tests/reference.js';

const quick = process.argv.includes('--quick');
const ji = process.argv.indexOf('--json');
const jsonPath = ji >= 0 ? process.argv[ji + 1] : null;
const d = 64;
const NS = quick ? [256, 1024, 4096] : [256, 1024, 4096, 16384];
const MS = [16, 32, 64, 128, 256];
const ITERS = [0, 1, 3, 6, 12];

function randn(len, std, rng) {
  const g = gaussian(rng);
  const x = new Float32Array(len);
  for (let i = 0; i < len; i++) x[i] = g() * std;
  return x;
}

/** Noise: q, k, v ~ N(0, 1), no structure at all (nearly uniform attention). */
function randomInputs(n, seed) {
  const rng = mulberry32(seed);
  return { q: randn(n * d, 1, rng), k: randn(n * d, 1, rng), v: randn(n * d, 1, rng) };
}

/** Smooth low-rank structure plus noise (the demo's inputs): 8 position-smooth directions shared by q and k. */
function lowRankInputs(n, seed) {
  const rng = mulberry32(seed);
  const q = randn(n * d, 0.5, rng), k = randn(n * d, 0.5, rng), v = randn(n * d, 1, rng);
  const basis = randn(8 * d, 1, rng);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < 8; r++) {
      const w = Math.sin((i / n) * Math.PI * (r + 1));
      for (let c = 0; c < d; c++) {
        q[i * d + c] += w * basis[r * d + c];
        k[i * d + c] += w * basis[r * d + c];
      }
    }
  }
  return { q, k, v };
}

/**
 * Structured inputs: token embeddings from a vocabulary of 512 (a token repeats and its neighbours
 * correlate: a slowly drifting topic), plus sinusoidal positions, through random projections
 * Wq, Wk, Wv (scaled so logits have a spread like a trained layer's).
 */
function structuredInputs(n, seed) {
  const rng = mulberry32(seed);
  const g = gaussian(rng);
  const V = 512;
  const emb = randn(V * d, 1, rng);
  const proj = () => randn(d * d, 1.6 / Math.sqrt(d), rng);
  const [Wq, Wk, Wv] = [proj(), proj(), proj()];
  const x = new Float32Array(n * d);
  let topic = 0;
  for (let i = 0; i < n; i++) {
    if (rng() < 0.05) topic = Math.floor(rng() * V);
    const tok = rng() < 0.6 ? (topic + Math.floor(g() * 8) + V) % V : Math.floor(rng() * V);
    for (let c = 0; c < d; c++) {
      const freq = 1 / 10000 ** ((2 * Math.floor(c / 2)) / d);
      const pos = c % 2 ? Math.cos(i * freq) : Math.sin(i * freq);
      x[i * d + c] = emb[tok * d + c] + pos;
    }
  }
  const mul = (W) => {
    const y = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j] * W[j * d + c];
      y[i * d + c] = s;
    }
    return y;
  };
  return { q: mul(Wq), k: mul(Wk), v: mul(Wv) };
}

function relErr(a, b) {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { const e = a[i] - b[i]; num += e * e; den += b[i] * b[i]; }
  return Math.sqrt(num / den);
}

function time(fn, budgetMs = quick ? 60 : 250) {
  for (let i = 0; i < 2; i++) fn();
  const s = [];
  const end = performance.now() + budgetMs;
  while (s.length < 3 || (performance.now() < end && s.length < 25)) {
    const t = performance.now();
    fn();
    s.push(performance.now() - t);
  }
  s.sort((x, y) => x - y);
  return s[s.length >> 1];
}

const results = { build: activeBuild(), d, rows: [] };
console.log(`nystrom-wasm settings sweep: one head, d = ${d}, build '${activeBuild()}'${quick ? ' (quick)' : ''}`);
const KINDS = [['noise', randomInputs], ['low-rank', lowRankInputs], ['tokens', structuredInputs]];
for (const [kind, make] of KINDS) {
  for (const n of NS) {
    const { q, k, v } = make(n, 1000 + n);
    const shape = [1, 1, n, d];
    const out = new Float32Array(n * d);
    const exact = softmaxAttention(q, k, v, { shape }).slice();
    const exactMs = n >= 16384 ? (() => { const t = performance.now(); softmaxAttention(q, k, v, { shape, out }); return performance.now() - t; })() : time(() => softmaxAttention(q, k, v, { shape, out }));
    const row = { kind, n, exactMs, grid: [] };
    for (const m of MS) {
      if (m > n) continue;
      for (const iters of ITERS) {
        for (const pinvInit of iters === 6 && m === 64 ? ['original', 'exact'] : ['original']) {
          const o = { shape, landmarks: m, pinvIterations: iters, pinvInit, out };
          let err = null, ms = null, refused = null;
          try {
            err = relErr(nystromAttention(q, k, v, o), exact);
            ms = iters === 6 || iters === 0 ? time(() => nystromAttention(q, k, v, o)) : null;
          } catch (e) {
            refused = e.code ?? e.message;
          }
          row.grid.push({ m, iters, pinvInit, err, ms, refused });
        }
      }
    }
    results.rows.push(row);
    const g6 = row.grid.filter((x) => x.iters === 6 && x.pinvInit === 'original');
    console.error(`${kind} n=${n}: exact ${exactMs.toFixed(1)} ms; 6 iterations: ${g6.map((x) => `m=${x.m} ${x.err?.toFixed(3)} (${x.ms?.toFixed(1)} ms)`).join(', ')}`);
  }
}

// Markdown: error and time against m × n (6 iterations), what the iterations do (m = 64), the init.
const md = [];
const fmtErr = (e) => (e == null ? '—' : e.toFixed(3));
const TITLES = {
  noise: 'noise (q, k, v ~ N(0, 1): no structure, nearly uniform attention)',
  'low-rank': 'low-rank + noise (8 position-smooth directions shared by q and k, the demo\'s inputs)',
  tokens: 'tokens (embedded tokens from a vocabulary of 512 with a drifting topic, plus positions, through random projections)',
};
for (const [kind] of KINDS) {
  const rows = results.rows.filter((r) => r.kind === kind);
  md.push(`**${TITLES[kind]}**: relative error ‖nyström − exact‖/‖exact‖ and ms (6 iterations; exact attention's ms last)`, '');
  md.push(`| m | ${rows.map((r) => `n = ${r.n}`).join(' | ')} |`, `|---|${rows.map(() => '---:').join('|')}|`);
  for (const m of MS) {
    md.push(`| ${m} | ${rows.map((r) => { const x = r.grid.find((g) => g.m === m && g.iters === 6 && g.pinvInit === 'original'); return !x ? '—' : m === r.n ? 'exact path' : `${fmtErr(x.err)} · ${x.ms?.toFixed(1)} ms`; }).join(' | ')} |`);
  }
  md.push(`| exact | ${rows.map((r) => `${r.exactMs.toFixed(1)} ms`).join(' | ')} |`, '');
  md.push(`Iterations (m = 64): relative error at 0 / 1 / 3 / 6 / 12 iterations; pinvInit 'exact' at 6`, '');
  md.push(`| n | ${ITERS.map((i) => `${i}`).join(' | ')} | 'exact' init, 6 |`, `|---|${ITERS.map(() => '---:').join('|')}|---:|`);
  for (const r of rows) {
    const at = (i, init = 'original') => r.grid.find((g) => g.m === 64 && g.iters === i && g.pinvInit === init);
    md.push(`| ${r.n} | ${ITERS.map((i) => { const x = at(i); return x ? (x.refused ? 'refused' : fmtErr(x.err)) : '—'; }).join(' | ')} | ${fmtErr(at(6, 'exact')?.err)} |`);
  }
  md.push('');
}
console.log(md.join('\n'));
if (jsonPath) fs.writeFileSync(jsonPath, JSON.stringify(results, null, 2));
