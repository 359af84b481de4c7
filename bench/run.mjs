// nystrom-wasm benchmark: our kernels side by side with tfjs-wasm, onnxruntime-web and plain JS,
// in one process. Usage: node --experimental-wasm-relaxed-simd bench/run.mjs [--quick] [--json PATH]
//                         [--only matmul|attention|nystrom-peer|scaling|memory|copies|threads]
import v8 from 'node:v8';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { timingConfig, measure as measureWith, randomArray, percentile, fmt, fmtRatio, gflops, table } from './common.mjs';
import { select } from '../tests/cases.js';
import { breakdown, PARTS } from './breakdown.mjs';

// Relaxed SIMD is behind a flag on Node 20; setting it before any module compiles has the same effect
// as passing it on the command line. Harmless where it is already on (Node 22+).
const relaxedFlagOnCli = process.execArgv.includes('--experimental-wasm-relaxed-simd');
try { v8.setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

const SECTIONS = ['matmul', 'attention', 'nystrom-peer', 'scaling', 'memory', 'copies', 'threads'];

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const args = { quick: false, json: path.join(here, 'results', 'latest.json'), only: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--json') args.json = path.resolve(argv[++i] ?? usage('--json needs a path'));
    else if (a.startsWith('--json=')) args.json = path.resolve(a.slice(7));
    else if (a === '--only') args.only = argv[++i] ?? usage('--only needs a section');
    else if (a.startsWith('--only=')) args.only = a.slice(7);
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  if (args.only) {
    const list = args.only.split(',');
    for (const s of list) if (!SECTIONS.includes(s)) usage(`unknown section ${s}`);
    args.only = list;
  }
  return args;
}

function usage(msg) {
  if (msg) console.error(msg);
  console.error(`usage: node --experimental-wasm-relaxed-simd bench/run.mjs [--quick] [--json PATH] [--only ${SECTIONS.join('|')}]`);
  process.exit(msg ? 2 : 0);
}

const args = parseArgs(process.argv.slice(2));
const want = (s) => !args.only || args.only.includes(s);

// Timing budgets. `time` is the budget per task summed over the rounds; rounds alternate the tasks.
const CFG = timingConfig(args.quick);
const measure = (tasks) => measureWith(tasks, CFG);

// ---------------------------------------------------------------- attention shapes

/**
 * The attention cases of a section: the 'bench' cases of tests/cases.js whose `bench` is the section
 * (with --quick, those marked quick), as { n, d, m, iters, shape }.
 */
function benchShapes(section) {
  const cases = select('bench', (c) => c.bench === section && (!args.quick || c.quick));
  if (!cases.length) throw new Error(`tests/cases.js has no bench cases for section ${section}`);
  return cases.map((c) => ({ n: c.shape[2], d: c.shape[3], m: c.options.landmarks, iters: c.options.pinvIterations, shape: c.shape }));
}

// ---------------------------------------------------------------- versions and our package

function pkgVersion(name) {
  let dir = root;
  for (;;) {
    const p = path.join(dir, 'node_modules', name, 'package.json');
    if (fs.existsSync(p)) return JSON.parse(fs.readFileSync(p, 'utf8')).version;
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

const ourPkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

const failures = [];
const notes = [];
function fail(msg) {
  failures.push(msg);
  console.error(`\n!!! CORRECTNESS FAILURE: ${msg}\n`);
}

async function loadOurs() {
  const entry = path.join(root, 'dist', 'index.js');
  if (!fs.existsSync(entry)) {
    notes.push('dist/index.js not found (run `npm run build`): our rows are missing, peers only.');
    return null;
  }
  const mod = await import(pathToFileURL(entry).href);
  const names = ['nystromAttention', 'softmaxAttention', 'matmul', 'matmulTransposed', 'createAttention', 'activeBuild', 'selectBuild'];
  const missing = names.filter((n) => typeof mod[n] !== 'function');
  if (missing.length) notes.push(`missing from our API: ${missing.join(', ')}`);
  const builds = [];
  const initial = typeof mod.activeBuild === 'function' ? mod.activeBuild() : null;
  if (typeof mod.selectBuild === 'function') {
    for (const b of ['simd', 'relaxed']) {
      try { mod.selectBuild(b); builds.push(b); } catch (e) { notes.push(`build ${b} unavailable: ${e.message}`); }
    }
    if (initial) mod.selectBuild(initial);
  } else if (initial) builds.push(initial);
  return { mod, builds, defaultBuild: initial, missing };
}

// ---------------------------------------------------------------- data and checks


/** ‖x − ref‖_F / ‖ref‖_F in double precision. */
function relErr(x, ref) {
  if (x.length !== ref.length) return Infinity;
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = x[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  const e = Math.sqrt(num / den);
  return Number.isNaN(e) ? Infinity : e;
}

function check(label, x, ref, tol) {
  const e = relErr(x, ref);
  if (!(e <= tol)) fail(`${label}: relative Frobenius error ${e.toExponential(2)} > ${tol}`);
  return e;
}

// ---------------------------------------------------------------- timing

/**
 * Times tasks with tinybench, alternating: in each round every task gets a share of its budget,
 * the order rotates between rounds, and warm-up runs in the first round only. Returns per task the
 * median of all samples over the rounds (ms).
 * task: { name, fn, beforeAll?, time?, iterations?, warmup?, rounds? }
 */


// ---------------------------------------------------------------- printing

const fmtErr = (e) => (e == null ? '—' : e === 0 ? '0' : e.toExponential(1));
const fmtBytes = (b) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);


// ---------------------------------------------------------------- FLOP counts

/**
 * FLOPs of one Nyström head (n tokens, head dim d, m landmarks, `iters` pinv iterations), counted
 * from the algorithm: Q·K~ᵀ, Q~·Kᵀ and k3·V (2nmd each), k1·Z (2nm²), W·(k3V) (2nmd), Q~·K~ᵀ (2m²d)
 * and per pinv iteration four m×m×m products (2m³ each). Softmaxes, means and copies not counted.
 */
function nystromFlops(n, d, m, iters) {
  return 3 * 2 * n * m * d + 2 * n * m * m + 2 * n * m * d + 2 * m * m * d + iters * 4 * 2 * m * m * m;
}
const NYSTROM_FLOPS_FORMULA = '8·n·m·d + 2·n·m² + 2·m²·d + iters·8·m³';
const exactFlops = (n, d) => 4 * n * n * d; // Q·Kᵀ and P·V

// ---------------------------------------------------------------- main

const results = { meta: {}, sections: {}, failures, notes };

const peers = await import('./peers.mjs');
const peerInfo = await peers.initPeers();
const ours = await loadOurs();
const { tf } = peers;
const tfLeakStart = tf.memory().numTensors;

const builds = ours?.builds ?? [];
const cpus = os.cpus();
results.meta = {
  date: new Date().toISOString(),
  machine: cpus[0]?.model ?? 'unknown',
  cores: cpus.length,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  node: process.version,
  relaxedFlag: relaxedFlagOnCli ? 'command line' : 'v8.setFlagsFromString',
  versions: {
    'nystrom-wasm': ourPkg.version,
    '@tensorflow/tfjs-core': pkgVersion('@tensorflow/tfjs-core'),
    '@tensorflow/tfjs-backend-wasm': pkgVersion('@tensorflow/tfjs-backend-wasm'),
    'onnxruntime-web': pkgVersion('onnxruntime-web'),
    tinybench: pkgVersion('tinybench'),
  },
  builds,
  defaultBuild: ours?.defaultBuild ?? null,
  peers: peerInfo,
  mode: args.quick ? 'quick' : 'full',
  timing: CFG,
  sections: args.only ?? SECTIONS,
};
const m0 = results.meta;
console.log(`nystrom-wasm bench (${m0.mode}) — ${m0.machine}, ${m0.cores} cores, ${m0.platform}, Node ${m0.node}`);
console.log(`versions: nystrom-wasm ${m0.versions['nystrom-wasm']}, tfjs-core ${m0.versions['@tensorflow/tfjs-core']}, ` +
  `tfjs-backend-wasm ${m0.versions['@tensorflow/tfjs-backend-wasm']} (simd ${peerInfo.tfjsSimd}, threads ${peerInfo.tfjsThreads}), ` +
  `onnxruntime-web ${m0.versions['onnxruntime-web']} (numThreads ${peerInfo.ortThreads}), tinybench ${m0.versions.tinybench}`);
console.log(`our builds: ${builds.length ? builds.join(', ') : 'none'}${ours?.defaultBuild ? ` (default ${ours.defaultBuild})` : ''}; ` +
  `relaxed-simd flag via ${m0.relaxedFlag}; medians over ${CFG.rounds} alternating rounds, warm-up first`);
for (const n of notes) console.log(`note: ${n}`);

const O = ours?.mod;
const has = (name) => !!O && typeof O[name] === 'function';
const useBuild = (b) => () => { O.selectBuild(b); };

// ================================================================ 1. matmul

const MATMUL_SHAPES = [[512, 512, 512], [1024, 1024, 1024], [4096, 64, 4096], [4096, 64, 64], [64, 4096, 64]];

async function sectionMatmul() {
  const rows = [];
  const ratioRows = [];
  const out = [];
  for (const transB of [false, true]) {
    for (const [m, k, n] of MATMUL_SHAPES) {
      const label = `${m}×${k}×${n} ${transB ? 'A·Bᵀ' : 'A·B'}`;
      const flops = 2 * m * k * n;
      const a = randomArray(m * k, 1 + m + k);
      const b = randomArray(k * n, 2 + k + n);
      const c = new Float32Array(m * n);
      const big = flops > 5e8;
      const slowJs = flops > 1e8;
      const ourFn = transB ? 'matmulTransposed' : 'matmul';

      // set-up outside the timed loops
      const bT = tf.tidy(() => (transB ? tf.transpose(tf.tensor2d(b, [n, k])) : tf.tensor2d(b, [k, n])));
      const ortFresh = await peers.ortMatmulSession(m, k, n, { transB });
      const ortConst = args.quick ? null : await peers.ortMatmulSession(m, k, n, { transB, constantB: b });

      // correctness first
      const outputs = {};
      if (has(ourFn)) {
        for (const bd of builds) {
          O.selectBuild(bd);
          outputs[`ours ${bd}`] = O[ourFn](a, b, m, k, n, new Float32Array(m * n)).slice();
        }
      }
      // Zero-copy plans: operands written into wasm memory once, the product read in place.
      const zplans = {};
      if (has('createMatmul')) {
        for (const bd of builds) {
          const p = O.createMatmul({ m, k, n, transB, build: bd });
          p.a.set(a);
          p.b.set(b);
          zplans[bd] = p;
          outputs[`ours ${bd} zero-copy`] = p.runInPlace().slice();
        }
      }
      // Weight-stationary plans (constantB): B packed once, A copied in and C out every call — the
      // counterpart of tfjs with its B reused.
      const cplans = {};
      if (has('createMatmul')) {
        for (const bd of builds) {
          const p = O.createMatmul({ m, k, n, transB, constantB: true, build: bd });
          cplans[bd] = p;
          outputs[`ours ${bd} constant B`] = p.run(a, b, new Float32Array(m * n)).slice();
        }
      }
      outputs['tfjs fresh B'] = transB ? peers.tfMatmulTFresh(a, b, m, k, n) : peers.tfMatmulFresh(a, b, m, k, n);
      outputs['tfjs reused B'] = peers.tfMatmulReused(a, bT, m, k);
      outputs['ort'] = (await ortFresh.run(a, b)).slice();
      if (ortConst) outputs['ort const B'] = (await ortConst.run(a, b)).slice();
      const naiveCheap = transB && (!big || !args.quick);
      if (naiveCheap) outputs['tfjs matMul(a,b,false,true)'] = peers.tfMatmulTNaive(a, b, m, k, n);
      const jsRuns = !slowJs || !args.quick || flops <= 3e8;
      if (jsRuns) outputs['plain JS'] = (transB ? peers.jsMatmulTransposed : peers.jsMatmul)(a, b, m, k, n, new Float32Array(m * n)).slice();
      const refName = outputs['ours simd'] ? 'ours simd' : outputs[`ours ${builds[0]}`] ? `ours ${builds[0]}` : 'tfjs reused B';
      const ref = outputs[refName];
      const errs = {};
      for (const [name, o] of Object.entries(outputs)) errs[name] = name === refName ? 0 : check(`matmul ${label} ${name} vs ${refName}`, o, ref, 1e-4);

      // timing
      const tasks = [];
      if (has(ourFn)) {
        for (const bd of builds) tasks.push({ name: `ours ${bd}`, beforeAll: useBuild(bd), fn: () => { O[ourFn](a, b, m, k, n, c); } });
      }
      for (const [bd, p] of Object.entries(zplans)) tasks.push({ name: `ours ${bd} zero-copy`, fn: () => { p.runInPlace(); } });
      for (const [bd, p] of Object.entries(cplans)) tasks.push({ name: `ours ${bd} constant B`, fn: () => { p.run(a, b, c); } });
      tasks.push({ name: 'tfjs fresh B', fn: transB ? () => { peers.tfMatmulTFresh(a, b, m, k, n); } : () => { peers.tfMatmulFresh(a, b, m, k, n); } });
      tasks.push({ name: 'tfjs reused B', fn: () => { peers.tfMatmulReused(a, bT, m, k); } });
      tasks.push({ name: 'ort', fn: async () => { await ortFresh.run(a, b); } });
      if (ortConst) tasks.push({ name: 'ort const B', fn: async () => { await ortConst.run(a, b); } });
      if (naiveCheap) {
        tasks.push({ name: 'tfjs matMul(a,b,false,true)', fn: () => { peers.tfMatmulTNaive(a, b, m, k, n); },
          ...(big || flops > 1e8 ? { time: 0, iterations: 1, rounds: 1, warmup: false } : { time: CFG.time / 3 }) });
      }
      if (jsRuns) {
        const js = transB ? peers.jsMatmulTransposed : peers.jsMatmul;
        tasks.push({ name: 'plain JS', fn: () => { js(a, b, m, k, n, c); },
          ...(slowJs ? { time: 0, iterations: 1, rounds: 1, warmup: false } : { time: CFG.time / 3 }) });
      }
      const t = await measure(tasks);

      tf.dispose(bT);
      await ortFresh.release();
      await ortConst?.release();

      const entry = { shape: [m, k, n], transB, flops, reference: refName, results: {} };
      for (const [name, r] of Object.entries(t)) entry.results[name] = { ...r, gflops: gflops(flops, r.median), relErr: errs[name] };
      const rate = (name) => entry.results[name]?.gflops;
      for (const bd of builds) {
        const g = rate(`ours ${bd}`);
        if (g == null) continue;
        entry.results[`ours ${bd}`].ratio = {
          tfjsReused: g / rate('tfjs reused B'), tfjsFresh: g / rate('tfjs fresh B'), ort: g / rate('ort'), ortConstB: g / rate('ort const B'),
        };
      }
      out.push(entry);
      const sel = (name) => rate(name);
      rows.push([
        label,
        ...builds.map((bd) => fmt(sel(`ours ${bd}`), 1)),
        ...builds.map((bd) => fmt(sel(`ours ${bd} zero-copy`), 1)),
        fmt(sel('tfjs fresh B'), 1), fmt(sel('tfjs reused B'), 1), fmt(sel('ort'), 1), fmt(sel('ort const B'), 1),
        fmt(sel('tfjs matMul(a,b,false,true)'), 2), fmt(sel('plain JS'), 2),
        fmtErr(Math.max(...Object.values(errs))),
      ]);
      ratioRows.push([
        label,
        ...builds.flatMap((bd) => [sel('tfjs reused B'), sel('tfjs fresh B'), sel('ort'), sel('plain JS')].map((p) => fmtRatio(sel(`ours ${bd}`) / p))),
      ]);
      process.stdout.write('.');
    }
  }
  table('1. matmul — GFLOP/s (median; inputs copied in and result copied out in every call; ours with `out` passed)',
    ['shape', ...builds.map((b) => `ours ${b}`), ...builds.map((b) => `${b} 0-copy`), 'tfjs fresh B', 'tfjs reused B', 'ort', 'ort const B', 'tfjs transB', 'plain JS', 'max err'],
    rows);
  console.log('A·Bᵀ: peers transpose first (tfjs reused B: Bᵀ materialised once); tfjs transB = tf.matMul(a, b, false, true), "what people write" ' +
    '(one call at large shapes); ort const B = B baked into the model (pre-packed); err = max relative Frobenius error vs ' + (builds.includes('simd') ? 'ours simd' : 'the reference'));
  table('1b. matmul — ours ÷ peer (GFLOP/s ratio, same process, alternating rounds)',
    ['shape', ...builds.flatMap((b) => [`${b}/tfjs reused`, `${b}/tfjs fresh`, `${b}/ort`, `${b}/JS`])], ratioRows);
  results.sections.matmul = out;
}

// ================================================================ 2. attention

async function sectionAttention() {
  results.sections.attention = [];
  for (const point of benchShapes('attention')) results.sections.attention.push(await attentionPoint(point));
}

async function attentionPoint({ n, d, m, iters, shape }) {
  const q = randomArray(n * d, 11), k = randomArray(n * d, 12), v = randomArray(n * d, 13);
  const o = new Float32Array(n * d);
  const ortSession = await peers.ortAttentionSession(n, d);
  const fl = nystromFlops(n, d, m, iters);
  console.log(`\nNyström FLOPs = ${NYSTROM_FLOPS_FORMULA} = ${(fl / 1e6).toFixed(1)} MFLOP at n=${n}, d=${d}, m=${m}, iters=${iters}; ` +
    `exact attention 4·n²·d = ${(exactFlops(n, d) / 1e9).toFixed(2)} GFLOP`);

  // correctness
  const outs = {};
  const errs = {};
  const plans = {};
  if (has('nystromAttention')) for (const bd of builds) { O.selectBuild(bd); outs[`ours nystrom ${bd}`] = O.nystromAttention(q, k, v, { shape, landmarks: m, pinvIterations: iters, out: new Float32Array(n * d) }).slice(); }
  if (has('softmaxAttention')) for (const bd of builds) { O.selectBuild(bd); outs[`ours softmax ${bd}`] = O.softmaxAttention(q, k, v, { shape, out: new Float32Array(n * d) }).slice(); }
  if (has('createAttention')) {
    for (const bd of builds) {
      plans[bd] = O.createAttention({ shape, landmarks: m, pinvIterations: iters, kind: 'nystrom', build: bd });
      outs[`ours nystrom plan ${bd}`] = plans[bd].run(q, k, v, new Float32Array(n * d)).slice();
    }
  }
  outs['tfjs exact'] = peers.tfAttention(q, k, v, n, d);
  outs['ort exact'] = (await ortSession.run(q, k, v)).slice();
  outs['tfjs nystrom'] = peers.tfNystrom(q, k, v, n, d, m, iters);
  if (!args.quick) outs['tfjs exact matMul(q,k,false,true)'] = peers.tfAttention(q, k, v, n, d, { naive: true });
  const exactRef = outs['ours softmax simd'] ? 'ours softmax simd' : builds.length && outs[`ours softmax ${builds[0]}`] ? `ours softmax ${builds[0]}` : 'tfjs exact';
  const nysRef = outs['ours nystrom simd'] ? 'ours nystrom simd' : builds.length && outs[`ours nystrom ${builds[0]}`] ? `ours nystrom ${builds[0]}` : 'tfjs nystrom';
  for (const [name, x] of Object.entries(outs)) {
    const ref = name.includes('nystrom') ? nysRef : exactRef;
    errs[name] = name === ref ? 0 : check(`attention n=${n} ${name} vs ${ref}`, x, outs[ref], 1e-3);
  }
  const approx = relErr(outs[nysRef], outs[exactRef]);
  console.log(`Nyström approximation vs exact attention on these random inputs (not a check): ${approx.toExponential(2)}`);

  // timing: our matmul at 4096×64×64 runs in the same rounds, for the effective-rate comparison
  const ma = randomArray(4096 * 64, 21), mb = randomArray(64 * 64, 22), mc = new Float32Array(4096 * 64);
  const tasks = [];
  const slow = { time: 0, iterations: args.quick ? 1 : 3, rounds: 1 };
  for (const bd of builds) {
    if (has('nystromAttention')) tasks.push({ name: `ours nystrom ${bd}`, beforeAll: useBuild(bd), fn: () => { O.nystromAttention(q, k, v, { shape, landmarks: m, pinvIterations: iters, out: o }); } });
    if (plans[bd]) tasks.push({ name: `ours nystrom plan ${bd}`, fn: () => { plans[bd].run(q, k, v, o); } });
    if (has('matmul')) tasks.push({ name: `ours matmul 4096×64×64 ${bd}`, beforeAll: useBuild(bd), fn: () => { O.matmul(ma, mb, 4096, 64, 64, mc); } });
    if (has('softmaxAttention')) tasks.push({ name: `ours softmax ${bd}`, beforeAll: useBuild(bd), fn: () => { O.softmaxAttention(q, k, v, { shape, out: o }); }, time: CFG.time / 2 });
  }
  tasks.push({ name: 'tfjs exact', fn: () => { peers.tfAttention(q, k, v, n, d); }, time: CFG.time / 2 });
  tasks.push({ name: 'ort exact', fn: async () => { await ortSession.run(q, k, v); }, time: CFG.time / 2 });
  tasks.push({ name: 'tfjs nystrom', fn: () => { peers.tfNystrom(q, k, v, n, d, m, iters); } });
  if (!args.quick) tasks.push({ name: 'tfjs exact matMul(q,k,false,true)', fn: () => { peers.tfAttention(q, k, v, n, d, { naive: true }); }, ...slow, warmup: false });
  const t = await measure(tasks);
  await ortSession.release();
  for (const p of Object.values(plans)) p.dispose?.();

  const ms = (name) => t[name]?.median;
  const rows = [];
  const flopsOf = (name) => (name.includes('nystrom') ? fl : name.includes('matmul 4096') ? 2 * 4096 * 64 * 64 : exactFlops(n, d));
  const entry = { n, d, m, iters, nystromFlops: fl, nystromFlopsFormula: NYSTROM_FLOPS_FORMULA, exactFlops: exactFlops(n, d), approxErrVsExact: approx, results: {} };
  for (const [name, r] of Object.entries(t)) {
    entry.results[name] = { ...r, gflops: gflops(flopsOf(name), r.median), relErr: errs[name] };
  }
  const peerNames = ['tfjs exact', 'ort exact', 'tfjs nystrom', 'tfjs exact matMul(q,k,false,true)'];
  for (const name of Object.keys(t)) {
    const isMatmul = name.includes('matmul 4096');
    const ratios = {};
    if (!isMatmul) for (const p of peerNames) if (ms(p) != null) ratios[p] = ms(p) / ms(name);
    if (!isMatmul && entry.results[name]) entry.results[name].speedup = ratios;
    rows.push([name, isMatmul ? '—' : fmt(ms(name), 2), fmt(entry.results[name].gflops, 1),
      ...peerNames.map((p) => (isMatmul || ms(p) == null ? '—' : fmtRatio(ms(p) / ms(name)))), fmtErr(errs[name])]);
  }
  table(`2. attention, 1 head, n=${n}, d=${d}, m=${m} — ms per call (median; one-shot calls include copies in/out)`,
    ['', 'ms', 'GFLOP/s', '× vs tfjs exact', '× vs ort exact', '× vs tfjs nys', '× vs tfjs naive', 'err'], rows);
  console.log('GFLOP/s: Nyström rows use the Nyström FLOP count (= effective rate), exact rows 4·n²·d, the matmul row 2·M·K·N');

  const eff = [];
  entry.effectiveRate = {};
  for (const bd of builds) {
    const mm = entry.results[`ours matmul 4096×64×64 ${bd}`]?.gflops;
    for (const kind of ['nystrom', 'nystrom plan']) {
      const g = entry.results[`ours ${kind} ${bd}`]?.gflops;
      if (g == null || mm == null) continue;
      entry.effectiveRate[`${kind} ${bd}`] = { gflops: g, matmulGflops: mm, fraction: g / mm };
      eff.push([`ours ${kind} ${bd}`, fmt(g, 1), fmt(mm, 1), `${((100 * g) / mm).toFixed(0)} %`]);
    }
  }
  if (eff.length) table('2b. effective rate: Nyström FLOPs / time vs our matmul 4096×64×64 (same rounds)', ['', 'effective GFLOP/s', 'matmul GFLOP/s', 'fraction'], eff);
  for (const bd of builds) {
    const mm = entry.results[`ours matmul 4096×64×64 ${bd}`]?.gflops;
    const g = entry.results[`ours softmax ${bd}`]?.gflops;
    if (g != null && mm != null) entry.effectiveRate[`softmax ${bd}`] = { gflops: g, matmulGflops: mm, fraction: g / mm };
  }

  // Where the time goes: the same calls on the profile builds (bench/breakdown.mjs).
  entry.breakdown = {};
  const bdRows = [];
  for (const bd of builds) {
    for (const kind of ['nystrom', 'softmax']) {
      const r = breakdown({ kind, n, d, m, build: bd, reps: kind === 'softmax' && n > 2048 ? 3 : args.quick ? 3 : 9 });
      entry.breakdown[`${kind} ${bd}`] = r;
      bdRows.push([`ours ${kind} ${bd}`, fmt(r.ms, 2), fmt(r.shippedMs, 2), ...PARTS.map((p) => `${((100 * r.parts[p]) / r.ms).toFixed(1)} %`)]);
    }
  }
  table(`2c. where the time goes, n=${n} (profile builds: each kernel timed exclusive of those it calls; copies timed by the host)`,
    ['', 'ms timed', 'ms shipped', ...PARTS], bdRows);
  return entry;
}

// ================================================================ 3. Nyström peer

async function sectionNystromPeer() {
  const rows = [];
  const out = [];
  for (const { n, d, m, iters, shape } of benchShapes('nystrom-peer')) {
    const q = randomArray(n * d, 31 + n), k = randomArray(n * d, 32 + n), v = randomArray(n * d, 33 + n);
    const o = new Float32Array(n * d);
    const ref = peers.tfNystrom(q, k, v, n, d, m, iters);
    const errs = {};
    const tasks = [{ name: 'tfjs nystrom', fn: () => { peers.tfNystrom(q, k, v, n, d, m, iters); } }];
    if (has('nystromAttention')) {
      for (const bd of builds) {
        O.selectBuild(bd);
        const x = O.nystromAttention(q, k, v, { shape, landmarks: m, pinvIterations: iters, out: new Float32Array(n * d) });
        errs[`ours ${bd}`] = check(`nystrom-peer n=${n} ours ${bd} vs tfjs nystrom`, x, ref, 1e-3);
        tasks.push({ name: `ours ${bd}`, beforeAll: useBuild(bd), fn: () => { O.nystromAttention(q, k, v, { shape, landmarks: m, pinvIterations: iters, out: o }); } });
      }
    }
    const t = await measure(tasks);
    const fl = nystromFlops(n, d, m, iters);
    const entry = { n, d, m, iters, flops: fl, results: {} };
    for (const [name, r] of Object.entries(t)) entry.results[name] = { ...r, gflops: gflops(fl, r.median), relErr: errs[name] ?? 0, speedupVsTfjs: t['tfjs nystrom'].median / r.median };
    out.push(entry);
    rows.push([`n=${n}`, fmt(t['tfjs nystrom'].median, 2), ...builds.flatMap((bd) => [fmt(t[`ours ${bd}`]?.median, 2), fmtRatio(t['tfjs nystrom'].median / t[`ours ${bd}`]?.median)]),
      fmtErr(Math.max(0, ...Object.values(errs)))]);
  }
  table('3. Nyström composed from tfjs ops vs ours (one-shot calls, copies in/out included) — ms per call',
    ['', 'tfjs-composed', ...builds.flatMap((b) => [`ours ${b}`, `× ${b}`]), 'err'], rows);
  results.sections['nystrom-peer'] = out;
}

// ================================================================ 4. scaling

async function sectionScaling() {
  const points = benchShapes('scaling');
  const { d, m, iters } = points[0];
  const ns = points.map((p) => p.n);
  const exactMax = args.quick ? 4096 : 16384;
  const rows = [];
  const out = { d, m, iters, points: [] };
  if (!has('createAttention')) { console.log('\n4. scaling: skipped (createAttention missing)'); results.sections.scaling = null; return; }
  // every n in the same alternating rounds, so load changes on a shared machine hit all sizes alike
  const tasks = [];
  const made = [];
  for (const { n, shape } of points) {
    const q = randomArray(n * d, 41), k = randomArray(n * d, 42), v = randomArray(n * d, 43);
    const o = new Float32Array(n * d);
    for (const bd of builds) {
      const p = O.createAttention({ shape, landmarks: m, pinvIterations: iters, kind: 'nystrom', build: bd });
      made.push(p);
      tasks.push({ name: `nystrom ${bd} n=${n}`, fn: () => { p.run(q, k, v, o); } });
      if (n <= exactMax) {
        const s = O.createAttention({ shape, kind: 'softmax', build: bd });
        made.push(s);
        const heavy = exactFlops(n, d) > 5e9;
        tasks.push({ name: `softmax ${bd} n=${n}`, fn: () => { s.run(q, k, v, o); },
          ...(heavy ? { time: 0, iterations: args.quick ? 1 : 2, rounds: 1, warmup: false } : { time: CFG.time / 2 }) });
      }
    }
  }
  const t = await measure(tasks);
  for (const p of made) p.dispose?.();
  for (const n of ns) {
    const pt = { n, results: {} };
    for (const bd of builds) {
      for (const kind of ['nystrom', 'softmax']) {
        const r = t[`${kind} ${bd} n=${n}`];
        if (r) pt.results[`${kind} ${bd}`] = { ...r, gflops: gflops(kind === 'nystrom' ? nystromFlops(n, d, m, iters) : exactFlops(n, d), r.median) };
      }
    }
    out.points.push(pt);
  }
  const first = out.points[0];
  for (const pt of out.points) {
    rows.push([`n=${pt.n}`, ...builds.flatMap((bd) => {
      const t = pt.results[`nystrom ${bd}`]?.median;
      const s = pt.results[`softmax ${bd}`]?.median;
      return [fmt(t, 2), fmtRatio(t / first.results[`nystrom ${bd}`]?.median), fmt(s, 1), s == null ? '—' : fmtRatio(s / t)];
    })]);
  }
  out.growth = {};
  for (const bd of builds) {
    const last = out.points[out.points.length - 1];
    out.growth[bd] = last.results[`nystrom ${bd}`].median / first.results[`nystrom ${bd}`].median;
  }
  table(`4. scaling, plan.run (copies in/out included), d=${d}, m=${m} — ms per call; growth relative to n=${ns[0]} (linear = 16× at 65536)`,
    ['', ...builds.flatMap((b) => [`nystrom ${b}`, 'growth', `exact ${b}`, 'exact/nys'])], rows);
  console.log(`growth t(65536)/t(4096): ${builds.map((b) => `${b} ${out.growth[b].toFixed(1)}×`).join(', ')}`);
  results.sections.scaling = out;
}

// ================================================================ 5. memory

async function sectionMemory() {
  const points = benchShapes('memory');
  const { d, m } = points[0];
  if (!has('createAttention')) { console.log('\n5. memory: skipped (createAttention missing)'); results.sections.memory = null; return; }
  const bd = ours.defaultBuild ?? builds[0];
  const rows = [];
  const out = { d, m, build: bd, points: [] };
  for (const { n, shape } of points) {
    const io = 4 * 4 * n * d; // q, k, v, out as f32
    const pt = { n, ioBytes: io };
    for (const kind of ['nystrom', 'softmax']) {
      const p = O.createAttention({ shape, landmarks: m, kind, build: bd });
      const mem = p.memoryBytes;
      p.dispose?.();
      pt[kind] = { memoryBytes: mem, overheadBytes: mem - io, overheadPerToken: (mem - io) / n, overheadFloatsPerToken: (mem - io) / n / 4 };
    }
    out.points.push(pt);
    rows.push([`n=${n}`, fmtBytes(io), fmtBytes(pt.nystrom.memoryBytes), fmt(pt.nystrom.overheadFloatsPerToken, 1), fmt(pt.nystrom.overheadFloatsPerToken / (d + m), 2),
      fmtBytes(pt.softmax.memoryBytes), fmt(pt.softmax.overheadFloatsPerToken, 1)]);
  }
  table(`5. memory: plan.memoryBytes vs 4·(q+k+v+out) bytes, 1 head, d=${d}, m=${m} (build ${bd})`,
    ['', 'q+k+v+out', 'nystrom plan', 'floats/token over io', '÷ (d+m)', 'softmax plan', 'floats/token over io'], rows);
  console.log('a constant "floats/token" column means the overhead is O(n·(d+m)), not O(n²)');
  results.sections.memory = out;
}

// ================================================================ 6. copies

async function sectionCopies() {
  const points = benchShapes('copies');
  if (!has('createAttention')) { console.log('\n6. copies: skipped (createAttention missing)'); results.sections.copies = null; return; }
  const rows = [];
  const out = [];
  for (const { n, d, m, iters, shape } of points) {
    const q = randomArray(n * d, 51), k = randomArray(n * d, 52), v = randomArray(n * d, 53);
    const o = new Float32Array(n * d);
    const tasks = [];
    const plans = [];
    for (const bd of builds) {
      const p = O.createAttention({ shape, landmarks: m, pinvIterations: iters, kind: 'nystrom', build: bd });
      plans.push(p);
      const viaRun = p.run(q, k, v, new Float32Array(n * d)).slice();
      p.inputs.q.set(q); p.inputs.k.set(k); p.inputs.v.set(v);
      const inPlace = p.runInPlace().slice();
      check(`copies n=${n} ${bd} runInPlace vs run`, inPlace, viaRun, 1e-6);
      tasks.push({ name: `run ${bd}`, fn: () => { p.run(q, k, v, o); } });
      tasks.push({ name: `runInPlace ${bd}`, fn: () => { p.runInPlace(); } });
    }
    const t = await measure(tasks);
    for (const p of plans) p.dispose?.();
    const entry = { n, results: t, difference: {} };
    for (const bd of builds) {
      const a = t[`run ${bd}`].median, b = t[`runInPlace ${bd}`].median;
      entry.difference[bd] = { ms: a - b, fraction: (a - b) / a };
      rows.push([`n=${n} ${bd}`, fmt(a, 3), fmt(b, 3), fmt(a - b, 3), `${((100 * (a - b)) / a).toFixed(1)} %`]);
    }
    out.push(entry);
  }
  table('6. copies: plan.run(q,k,v,out) (copy in + out) vs inputs filled once + runInPlace() (zero copy) — ms',
    ['', 'run', 'runInPlace', 'difference', 'of run'], rows);
  results.sections.copies = out;
}

// ================================================================ 7. threads

/** onnxruntime-web exact attention with numThreads t, in a child process (ORT fixes its threads at start). */
function ortThreadsChild(t, n, d, reps) {
  const r = spawnSync(process.execPath, [path.join(here, 'ort-threads.mjs'), '--threads', String(t), '--n', String(n), '--d', String(d), '--reps', String(reps)],
    { encoding: 'utf8', timeout: 300000 });
  if (r.status !== 0) { notes.push(`ort numThreads ${t}: child failed (${(r.stderr || '').trim().split('\n').at(-1)})`); return null; }
  return JSON.parse(r.stdout.trim().split('\n').at(-1)).medianMs;
}

async function sectionThreads() {
  if (!has('createPool')) { console.log('\n7. threads: skipped (createPool missing)'); results.sections.threads = null; return; }
  const d = 64;
  const reps = args.quick ? 2 : 5;
  // ORT exact attention n = 4096, 1 and 2 threads (children), before and after our rounds.
  const ortRuns = { 1: [], 2: [] };
  const runOrt = () => { for (const t of [1, 2]) { const ms = ortThreadsChild(t, 4096, d, reps); if (ms != null) ortRuns[t].push(ms); } };
  runOrt();
  // Ours in a process of its own (bench/threads.mjs), as onnxruntime-web's thread counts run in theirs:
  // the pool's workers then share the process with nothing but this package.
  const json = path.join(os.tmpdir(), `nystrom-threads-${process.pid}.json`);
  const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', path.join(here, 'threads.mjs'), ...(args.quick ? ['--quick'] : []), '--json', json],
    { stdio: 'inherit', timeout: 900000 });
  if (r.status !== 0 || !fs.existsSync(json)) { fail(`threads: bench/threads.mjs exited ${r.status}`); results.sections.threads = null; return; }
  const out = JSON.parse(fs.readFileSync(json, 'utf8'));
  fs.rmSync(json, { force: true });
  for (const f of out.failures ?? []) fail(f);
  notes.push(...(out.notes ?? []));
  delete out.failures;
  delete out.notes;
  runOrt();
  const med = (a) => (a.length ? [...a].sort((x, y) => x - y)[a.length >> 1] : null);
  out.ort = { exact4096: { 1: med(ortRuns[1]), 2: med(ortRuns[2]) }, runs: ortRuns };
  const rows = [];
  for (const bd of builds) {
    const ny2 = out.builds[bd]?.['nystrom n=4096']?.[2]?.ms;
    const ny1 = out.builds[bd]?.['nystrom n=4096']?.[1]?.ms;
    if (ny1 != null && out.ort.exact4096[1] != null) rows.push([`ours Nyström 1 thr ${bd} vs ort exact 1 thr`, fmt(ny1, 2), fmt(out.ort.exact4096[1], 1), fmtRatio(out.ort.exact4096[1] / ny1)]);
    if (ny2 != null && out.ort.exact4096[2] != null) rows.push([`ours Nyström 2 thr ${bd} vs ort exact 2 thr`, fmt(ny2, 2), fmt(out.ort.exact4096[2], 1), fmtRatio(out.ort.exact4096[2] / ny2)]);
  }
  table('7b. n = 4096, d = 64: our Nyström against onnxruntime-web exact attention at the same thread count (ort in child processes, before and after)', ['', 'ours ms', 'ort ms', '×'], rows);
  results.sections.threads = out;
}

// ---------------------------------------------------------------- run

const started = performance.now();
const runners = { matmul: sectionMatmul, attention: sectionAttention, 'nystrom-peer': sectionNystromPeer, scaling: sectionScaling, memory: sectionMemory, copies: sectionCopies, threads: sectionThreads };
for (const s of SECTIONS) {
  if (!want(s)) continue;
  const t0 = performance.now();
  try {
    await runners[s]();
  } catch (e) {
    fail(`section ${s} threw: ${e.stack ?? e}`);
  }
  console.log(`(${s}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
results.meta.tfjsTensorsLeaked = tf.memory().numTensors - tfLeakStart - peers.keptTensors();
results.meta.totalSeconds = (performance.now() - started) / 1000;

fs.mkdirSync(path.dirname(args.json), { recursive: true });
fs.writeFileSync(args.json, JSON.stringify(results, null, 2));
console.log(`\ntotal ${results.meta.totalSeconds.toFixed(1)} s; tfjs tensors leaked: ${results.meta.tfjsTensorsLeaked}; JSON: ${path.relative(process.cwd(), args.json)}`);
if (failures.length) {
  console.error(`\n${failures.length} FAILURE(S):\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
