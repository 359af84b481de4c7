// The attention-map demo: exact softmax attention, the Nyström approximation and their
// difference as heatmaps, with timings and errors (the comparison of the Nyströmformer paper's
// Figure 3). Plain JS module; serve the repository with `node scripts/serve.mjs examples/browser`.
// In your own page import from 'nystrom-wasm' (or your bundler's path to it) instead.
import {
  nystromAttention,
  softmaxAttention,
  nystromAttentionMatrix,
  softmaxAttentionMatrix,
  activeBuild,
} from '../../dist/index.js';

const $ = (id) => document.getElementById(id);
const MAX_PIXELS = 512; // maps wider than this are mean-pooled

// ---------------------------------------------------------------------------------------------
// Inputs

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gauss(rand) {
  return Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
}

/**
 * Inputs with the texture of real attention: queries and keys share sinusoidal position codes
 * (so each token attends to its neighbourhood, a band around the diagonal) and a few "global"
 * tokens every query attends to (vertical stripes), plus noise. `sharp` scales the logits.
 */
function localInputs(n, d, seed, sharp) {
  const rand = rng(seed);
  const q = new Float32Array(n * d), k = new Float32Array(n * d), v = new Float32Array(n * d);
  const half = d >> 1;
  const peak = 7 * sharp; // logit of a token with itself, roughly
  const a = Math.sqrt((2 * peak) / Math.sqrt(d));
  // Periods from about n/12 tokens (the width of the band) up to 4n.
  const pMin = Math.max(6, n / 12);
  const omega = Array.from({ length: half }, (_, j) => (2 * Math.PI) / (pMin * Math.pow((4 * n) / pMin, j / Math.max(1, half - 1))));
  const u = Array.from({ length: d }, () => gauss(rand) / Math.sqrt(d));
  const globals = new Set();
  const gCount = Math.max(2, Math.round(n / 80));
  while (globals.size < gCount) globals.add(Math.floor(rand() * n));
  const b = Math.sqrt(0.75 * peak * Math.sqrt(d));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < half; j++) {
      const s = Math.sin(i * omega[j]), c = Math.cos(i * omega[j]);
      q[i * d + 2 * j] = a * (s + 0.35 * gauss(rand));
      q[i * d + 2 * j + 1] = a * (c + 0.35 * gauss(rand));
      k[i * d + 2 * j] = a * (s + 0.35 * gauss(rand));
      k[i * d + 2 * j + 1] = a * (c + 0.35 * gauss(rand));
    }
    for (let c = 0; c < d; c++) {
      q[i * d + c] += b * u[c] * 0.5;
      if (globals.has(i)) k[i * d + c] += b * u[c] * 2;
      v[i * d + c] = gauss(rand);
    }
  }
  return { n, d, q, k, v };
}

function randomInputs(n, d, seed, sharp) {
  const rand = rng(seed);
  const f = (s) => Float32Array.from({ length: n * d }, () => s * gauss(rand));
  return { n, d, q: f(sharp), k: f(sharp), v: f(1) };
}

/** Parses the JSON box: {q: rows, k: rows, v?: rows} or {n, d, q: flat, k: flat, v?: flat}. */
function pastedInputs(text, seed) {
  let msg;
  try { msg = JSON.parse(text); } catch (e) { throw new Error(`pasted inputs: not JSON (${e.message})`); }
  if (!msg || typeof msg !== 'object') throw new Error('pasted inputs: expected an object with q and k');
  const toFlat = (name, x, n, d) => {
    if (!Array.isArray(x)) throw new Error(`pasted inputs: ${name} must be an array`);
    const flat = Array.isArray(x[0]) ? x.flat() : x;
    if (Array.isArray(x[0]) && x.some((r) => !Array.isArray(r) || r.length !== d)) throw new Error(`pasted inputs: every row of ${name} must have ${d} numbers`);
    if (flat.length !== n * d) throw new Error(`pasted inputs: ${name} has ${flat.length} numbers, expected n·d = ${n * d}`);
    const out = Float32Array.from(flat);
    const bad = out.findIndex((t, i) => typeof flat[i] !== 'number' || !Number.isFinite(t));
    if (bad >= 0) throw new Error(`pasted inputs: ${name}[${bad}] is not a finite number`);
    return out;
  };
  let n, d;
  if (Array.isArray(msg.q) && Array.isArray(msg.q[0])) { n = msg.q.length; d = msg.q[0].length; }
  else { n = msg.n; d = msg.d; }
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 2 || d < 1) throw new Error('pasted inputs: give q as rows of numbers, or n and d with flat arrays');
  if (n > 2048) throw new Error(`pasted inputs: n = ${n} is more than this page draws (2048)`);
  const q = toFlat('q', msg.q, n, d), k = toFlat('k', msg.k, n, d);
  const v = msg.v ? toFlat('v', msg.v, n, d) : randomInputs(n, d, seed, 1).v;
  return { n, d, q, k, v };
}

// ---------------------------------------------------------------------------------------------
// Colour maps and drawing

// Stops of matplotlib's viridis and inferno (perceptually uniform).
const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#fde725'];
const INFERNO = ['#000004', '#1f0c48', '#550f6d', '#88226a', '#ba3655', '#e35933', '#f98e09', '#f9cb35', '#fcffa4'];

function lut(stops) {
  const rgb = stops.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (rgb.length - 1);
    const j = Math.min(rgb.length - 2, Math.floor(x)), f = x - j;
    for (let c = 0; c < 3; c++) table[i * 3 + c] = Math.round(rgb[j][c] * (1 - f) + rgb[j + 1][c] * f);
  }
  return table;
}
const LUT_ATTN = lut(VIRIDIS), LUT_ERR = lut(INFERNO);

/** A value → [0, 1] transform and its inverse, for a colour scale over [0, vmax]. */
function scaleFor(kind, vmax) {
  if (kind === 'linear') return { f: (x) => x / vmax, inv: (t) => t * vmax };
  if (kind === 'sqrt') return { f: (x) => Math.sqrt(Math.max(0, x) / vmax), inv: (t) => t * t * vmax };
  const lo = Math.log10(vmax) - 4; // four decades
  return { f: (x) => (x > 0 ? (Math.log10(x) - lo) / 4 : 0), inv: (t) => Math.pow(10, lo + 4 * t) };
}

/** Mean-pools an n×n matrix to at most MAX_PIXELS per side. */
function pool(a, n) {
  const f = Math.ceil(n / MAX_PIXELS);
  if (f === 1) return { px: n, data: a };
  const px = Math.floor(n / f);
  const data = new Float32Array(px * px);
  for (let i = 0; i < px * f; i++) {
    const row = Math.floor(i / f) * px;
    for (let j = 0; j < px * f; j++) data[row + Math.floor(j / f)] += a[i * n + j];
  }
  for (let i = 0; i < data.length; i++) data[i] /= f * f;
  return { px, data };
}

function quantile(a, q) {
  const s = Float32Array.from(a).sort();
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))];
}

function drawMap(canvas, { px, data }, scale, table) {
  canvas.width = px;
  canvas.height = px;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(px, px);
  for (let i = 0; i < data.length; i++) {
    const t = Math.min(1, Math.max(0, scale.f(data[i])));
    const c = Math.round(t * 255) * 3;
    img.data[i * 4] = table[c];
    img.data[i * 4 + 1] = table[c + 1];
    img.data[i * 4 + 2] = table[c + 2];
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function drawLegend(canvas, ticksEl, scale, table, { clipLow = false } = {}) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height;
  for (let x = 0; x < w; x++) {
    const c = Math.round((x / (w - 1)) * 255) * 3;
    ctx.fillStyle = `rgb(${table[c]},${table[c + 1]},${table[c + 2]})`;
    ctx.fillRect(x, 0, 1, h);
  }
  const fmt = (v) => (v === 0 ? '0' : Math.abs(v) >= 0.01 && Math.abs(v) < 100 ? v.toPrecision(2) : v.toExponential(1));
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => fmt(scale.inv(t)));
  if (clipLow) ticks[0] = `≤${ticks[0]}`;
  ticks[4] = `≥${ticks[4]}`;
  ticksEl.replaceChildren(...ticks.map((t) => Object.assign(document.createElement('span'), { textContent: t })));
}

// ---------------------------------------------------------------------------------------------
// Running

/** Median ms of fn over a few warm runs (at least 3, at most 9, about 150 ms in all). */
function timeIt(fn) {
  fn(); // warm up: V8 runs new wasm code in its baseline tier first
  const times = [];
  const t0 = performance.now();
  while (times.length < 3 || (times.length < 9 && performance.now() - t0 < 150)) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((x, y) => x - y);
  return times[times.length >> 1];
}

function relFrobenius(a, b) {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] * b[i]; }
  return Math.sqrt(num / den);
}

function readInputs() {
  const seed = Number($('seed').value) || 0;
  const sharp = Number($('sharp').value);
  const kind = $('inputs').value;
  if (kind === 'paste') return pastedInputs($('paste').value, seed);
  const n = Number($('n').value), d = Number($('d').value);
  return kind === 'random' ? randomInputs(n, d, seed, sharp) : localInputs(n, d, seed, sharp);
}

let current = null; // the inputs of the last run (for "Fill with the current inputs")
const demo = { runs: 0, last: null, build: null };
window.demo = demo;

function setStatus(text, error = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

function stat(k, v, note = '') {
  const el = document.createElement('div');
  el.className = 'stat';
  el.innerHTML = `<div class="k"></div><div class="v"></div>`;
  el.firstChild.textContent = k;
  el.lastChild.textContent = v;
  if (note) el.lastChild.append(' ', Object.assign(document.createElement('small'), { textContent: note }));
  return el;
}

async function run() {
  const button = $('run');
  button.disabled = true;
  setStatus('running…');
  await new Promise((r) => setTimeout(r, 0)); // let the status paint
  try {
    const inputs = readInputs();
    const { n, d, q, k, v } = inputs;
    current = inputs;
    const mSlider = $('m');
    mSlider.max = String(Math.min(256, n));
    const m = Math.min(Number(mSlider.value), n);
    $('m-out').textContent = String(m);
    const style = $('style').value;
    const pinvIterations = Number($('iters').value);
    const shape = [1, 1, n, d];
    const nysOptions = { shape, landmarks: m, style, pinvIterations };
    const exactOptions = { shape, style };

    let t = performance.now();
    const exact = softmaxAttentionMatrix(q, k, exactOptions);
    const exactMatMs = performance.now() - t;
    t = performance.now();
    const approx = nystromAttentionMatrix(q, k, nysOptions);
    const nysMatMs = performance.now() - t;
    const diff = new Float32Array(n * n);
    let maxErr = 0;
    for (let i = 0; i < diff.length; i++) { diff[i] = Math.abs(approx[i] - exact[i]); maxErr = Math.max(maxErr, diff[i]); }

    const outExact = softmaxAttention(q, k, v, exactOptions).slice();
    const outNys = nystromAttention(q, k, v, nysOptions).slice();
    const exactMs = timeIt(() => softmaxAttention(q, k, v, exactOptions));
    const nysMs = timeIt(() => nystromAttention(q, k, v, nysOptions));

    const kindOfScale = $('scale').value;
    const pe = pool(exact, n), pa = pool(approx, n), pd = pool(diff, n);
    const vmax = Math.max(quantile(pe.data, 0.998), 1e-12);
    const attnScale = scaleFor(kindOfScale, vmax);
    const errScale = scaleFor(kindOfScale, Math.max(quantile(pd.data, 0.998), 1e-12));
    drawMap($('exact'), pe, attnScale, LUT_ATTN);
    drawMap($('nystrom'), pa, attnScale, LUT_ATTN);
    drawMap($('error'), pd, errScale, LUT_ERR);
    drawLegend($('legend-attn'), $('ticks-exact'), attnScale, LUT_ATTN);
    drawLegend($('legend-attn-2'), $('ticks-nystrom'), attnScale, LUT_ATTN, { clipLow: true });
    drawLegend($('legend-err'), $('ticks-error'), errScale, LUT_ERR);

    const matRel = relFrobenius(approx, exact);
    const outRel = relFrobenius(outNys, outExact);
    $('exact-dims').textContent = `${n} × ${n}`;
    $('nys-m').textContent = String(m);
    $('time-exact').innerHTML = `attention: <b>${exactMs.toFixed(2)} ms</b> · matrix: ${exactMatMs.toFixed(1)} ms`;
    $('time-nystrom').innerHTML = `attention: <b>${nysMs.toFixed(2)} ms</b> · matrix: ${nysMatMs.toFixed(1)} ms`;
    $('time-error').innerHTML = `rel. error ‖Â − A‖/‖A‖ = <b>${matRel.toExponential(2)}</b>`;
    const build = activeBuild();
    $('stats').replaceChildren(
      stat('matrix rel. error', matRel.toExponential(2), 'Frobenius'),
      stat('output rel. error', outRel.toExponential(2), 'with V'),
      stat('max |error|', maxErr.toExponential(2), 'of any entry'),
      stat('speed-up', `${(exactMs / nysMs).toFixed(2)}×`, `${exactMs.toFixed(1)} → ${nysMs.toFixed(1)} ms`),
      stat('shape', `n ${n}, d ${d}`, `m ${m}, ${style}`),
      stat('wasm build', build, build === 'relaxed' ? 'fused multiply-add' : '128-bit SIMD'),
    );
    demo.runs++;
    demo.build = build;
    demo.last = { n, d, m, style, matRel, outRel, maxErr, exactMs, nysMs, exactMatMs, nysMatMs };
    document.body.dataset.runs = String(demo.runs);
    setStatus(`n = ${n}, d = ${d}, m = ${m}, style ${style}, ${pinvIterations} pinv iterations · wasm build: ${build}`);
  } catch (e) {
    setStatus(e && e.message ? e.message : String(e), true);
  } finally {
    button.disabled = false;
  }
}

function fillPaste() {
  if (!current) return;
  const { n, d, q, k } = current;
  const rows = (a) => Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * d, (i + 1) * d), (x) => Number(x.toFixed(4))));
  $('paste').value = JSON.stringify({ q: rows(q), k: rows(k) });
  $('paste-box').open = true;
}

// ---------------------------------------------------------------------------------------------
// Wiring

let queued = false;
function schedule() {
  if (queued) return;
  queued = true;
  requestAnimationFrame(() => { queued = false; run(); });
}
for (const id of ['n', 'd', 'style', 'inputs', 'scale', 'seed', 'iters', 'm', 'sharp']) $(id).addEventListener('change', schedule);
$('m').addEventListener('input', () => { $('m-out').textContent = $('m').value; });
$('sharp').addEventListener('input', () => { $('sharp-out').textContent = Number($('sharp').value).toFixed(1); });
$('run').addEventListener('click', run);
$('fill').addEventListener('click', fillPaste);
$('paste').addEventListener('input', () => { if ($('paste').value.trim()) $('inputs').value = 'paste'; });
run();
