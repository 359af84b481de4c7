// Soak: many calls of mixed shapes, thousands of plans created, run and disposed, a few huge one-shot
// calls and release() calls, with the resident set size sampled after garbage collection. A library
// (`runSoak`) and a CLI:
//
//   node --expose-gc [--experimental-wasm-relaxed-simd] tests/fuzz/soak.mjs --calls 10000 --plans 3000
//        [--big K] [--seed S] [--samples N] [--slack-mb MB] [--plan-factor F] [--trend-mb MB] [--json]
//
// (without --expose-gc the CLI re-runs itself with it). Workload, in one seeded order:
//   - `calls` one-shot calls: nystromAttention / softmaxAttention (both layouts, masks, conv, every
//     style), nystromAttentionMatrix / softmaxAttentionMatrix, nystromAttentionFactors, matmul /
//     matmulTransposed; batch 1–2, heads 1–4, seqLen 1…2048 (exact attention and matrices smaller),
//     headDim 1–64; every output checked finite;
//   - `plans` plans, spread over the calls: attention plans (nystrom or softmax: run, runInPlace,
//     sometimes setMask and a second run) and matmul plans (run, runInPlace), each disposed, a few
//     alive at once;
//   - `big` huge one-shot calls (default 3): nystromAttention [1, 8, 32768, 64] and
//     nystromAttentionMatrix [1, 1, 8192, 32], ~300 MB of wasm memory each — past the 256 MiB
//     retention threshold, so the one-shot engine must be released by the call itself: RSS after
//     collection must come back within BIG_RELEASE_SLACK (100 MB) of before;
//   - release() every ~5 % of the run;
//   - reference calls (one-shot Nyström, softmax, matmul; an attention plan and a matmul plan alive
//     for the whole run) bit-identical to their first results every 5 % of the run.
// RSS is sampled `samples` times (after gc(), settled) plus around each big call. Checks:
//   - final RSS ≤ initial + plan-factor (2) × the largest plan's memoryBytes + slack (150 MB);
//   - no upward trend over the second half: the least-squares slope of the second half's samples,
//     projected over the second half, ≤ trend-mb (48 MB); and the median of its last quarter is at
//     most trend-mb above the median of its first quarter;
//   - the big calls gave their memory back; every output finite; the references unchanged.
// Prints the figures (initial, peak, final, final after release(), largest plan, bound, trend) or
// one JSON line with --json; exit code 1 when a check fails. tests/host/soak.test.js runs a short one.
import { argsOrExit, isMain } from './cli.mjs';

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mulberry32, makeQKV, randn, bitsEqual as sameBits } from '../reference.js';

const MB = 2 ** 20;
export const BIG_RELEASE_SLACK = 100 * MB;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Collects garbage until RSS settles (wasm memories are freed when their buffers are collected). */
export async function settle() {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await sleep(5);
  }
}

const mem = () => {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
};

function rng(seed) {
  const f = mulberry32(seed >>> 0);
  return {
    f,
    int: (lo, hi) => lo + Math.floor(f() * (hi - lo + 1)),
    pick: (a) => a[Math.floor(f() * a.length)],
    chance: (p) => f() < p,
  };
}

function isFinite32(a) {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}


/** Least-squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : 0;
}

const median = (a) => {
  if (!a.length) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const STYLES = ['authors', 'hf', 'lucidrains'];
const INITS = ['original', 'exact', 'abs_rowcol', 'paper'];

/**
 * Runs the soak. Returns { build, counts, rss: { initial, peak, final, afterRelease, samples }, largestPlan,
 * bound, trend, big: [...], checks: [{ name, ok, detail }], ok, seconds }.
 */
export async function runSoak({
  lib, calls = 10000, plans = 3000, big = 3, seed = 1, samples = 100, slackMB = 150, planFactor = 2, trendMB = 48, log = () => {},
} = {}) {
  if (!lib) lib = await import('../../dist/index.js');
  if (typeof lib.init === 'function') await lib.init();
  const build = lib.activeBuild();
  const r = rng(seed);
  const t0 = performance.now();

  // One pool of N(0, 1) floats (scaled per use): inputs are views into it (allocated before the baseline).
  const POOL = randn(1 << 22, 1, seed + 1);
  const V_POOL = randn(1 << 22, 1, seed + 2);
  const view = (pool, count) => {
    const off = r.int(0, pool.length - count);
    return pool.subarray(off, off + count);
  };

  // References, alive the whole run.
  const refShape = [2, 2, 40, 8];
  const ref = makeQKV(refShape, seed + 3);
  const refOpts = { shape: refShape, landmarks: 8, style: 'hf', mask: [...Array(80)].map((_, i) => (i % 40 < 35 ? 1 : 0)) };
  const ma = randn(33 * 17, 1, seed + 4), mb = randn(17 * 9, 1, seed + 5);
  const refPlan = lib.createAttention({ shape: [1, 3, 70, 16], landmarks: 7, layout: 'bnhd' });
  const rp = makeQKV([1, 3, 70, 16], seed + 6);
  const refMm = lib.createMatmul({ m: 20, k: 30, n: 10, transB: true });
  const rma = randn(600, 1, seed + 7), rmb = randn(300, 1, seed + 8);
  const refCalls = {
    nystromAttention: () => lib.nystromAttention(ref.q, ref.k, ref.v, refOpts),
    softmaxAttention: () => lib.softmaxAttention(ref.q, ref.k, ref.v, refOpts),
    matmul: () => lib.matmul(ma, mb, 33, 17, 9),
    'attention plan': () => refPlan.run(rp.q, rp.k, rp.v),
    'matmul plan': () => refMm.run(rma, rmb),
  };
  const refBase = Object.fromEntries(Object.entries(refCalls).map(([k, f]) => [k, f().slice()]));
  const problems = [];
  const note = (what) => {
    if (problems.length < 50) problems.push(what);
  };
  const checkRefs = (at) => {
    for (const [k, f] of Object.entries(refCalls)) if (!sameBits(f(), refBase[k])) note(`reference ${k} changed by step ${at}`);
  };

  const counts = { oneShot: {}, plans: { attention: 0, matmul: 0 }, releases: 0, errors: 0, big: 0 };
  const bump = (name) => {
    counts.oneShot[name] = (counts.oneShot[name] ?? 0) + 1;
  };
  let largestPlan = { bytes: 0, what: '' };

  function oneShot() {
    const which = r.pick(['nystrom', 'nystrom', 'nystrom', 'softmax', 'softmax', 'nmatrix', 'smatrix', 'factors', 'matmul', 'matmul', 'matmulT']);
    if (which === 'matmul' || which === 'matmulT') {
      const M = r.pick([r.int(1, 64), r.int(65, 256), r.int(257, 512)]), K = r.pick([r.int(1, 64), r.int(65, 512)]), N = r.pick([r.int(1, 64), r.int(65, 256), r.int(257, 512)]);
      const fn = which === 'matmul' ? 'matmul' : 'matmulTransposed';
      const out = lib[fn](view(POOL, M * K), view(V_POOL, K * N), M, K, N, r.chance(0.3) ? new Float32Array(M * N) : undefined);
      if (!isFinite32(out)) note(`${fn} ${M}×${K}×${N}: non-finite output`);
      bump(fn);
      return;
    }
    const B = r.int(1, 2), H = r.int(1, 4), d = r.pick([r.int(1, 16), r.int(17, 64), 32, 64]);
    const nMax = which === 'nystrom' || which === 'factors' ? 2048 : which === 'softmax' ? 512 : 256;
    let n = r.pick([r.int(1, 64), r.int(65, 256), r.int(1, nMax), nMax]);
    n = Math.min(n, nMax);
    const count = B * H * n * d;
    const o = { shape: [B, H, n, d] };
    if (r.chance(0.5)) o.style = r.pick(STYLES);
    if (r.chance(0.3) && which !== 'factors') o.layout = 'bnhd';
    if (r.chance(0.3)) {
      const m = new Uint8Array(B * n).fill(1);
      for (let b = 0; b < B; b++) m.fill(0, b * n + Math.max(1, n - r.int(0, n >> 1)), (b + 1) * n);
      o.mask = m;
    }
    if (r.chance(0.2) && (which === 'nystrom' || which === 'softmax')) o.convWeight = view(POOL, H * r.pick([1, 3, 5, 33])).map((x) => x * 0.1);
    if (which !== 'softmax' && which !== 'smatrix') {
      o.landmarks = r.pick([r.int(1, 16), 32, 64, r.int(1, Math.min(128, n + 8))]);
      if (r.chance(0.2)) o.pinvIterations = r.int(0, 12);
      if (r.chance(0.2)) o.pinvInit = r.pick(INITS);
      if (r.chance(0.2) && o.landmarks <= n) o.remainder = 'uneven';
    }
    const q = view(POOL, count), k = view(POOL, count);
    let out;
    if (which === 'nystrom' || which === 'softmax') {
      out = (which === 'nystrom' ? lib.nystromAttention : lib.softmaxAttention)(q, k, view(V_POOL, count), o);
    } else if (which === 'nmatrix' || which === 'smatrix') {
      out = (which === 'nmatrix' ? lib.nystromAttentionMatrix : lib.softmaxAttentionMatrix)(q, k, o);
    } else {
      const f = lib.nystromAttentionFactors(q, k, o);
      out = f.kernel1;
      if (!isFinite32(f.pinv) || !isFinite32(f.kernel3)) note(`factors ${JSON.stringify(o.shape)}: non-finite pinv/kernel3`);
      if (r.chance(0.3)) {
        const row = lib.nystromAttentionRow(f, 0, 0, r.int(0, n - 1));
        if (!isFinite32(row)) note('nystromAttentionRow: non-finite');
      }
    }
    if (!isFinite32(out)) note(`${which} ${JSON.stringify(o.shape)} ${o.style ?? ''} m=${o.landmarks}: non-finite output`);
    bump(which);
  }

  const live = [];
  function plan() {
    if (r.chance(0.65)) {
      const B = r.int(1, 2), H = r.int(1, 4), d = r.pick([r.int(1, 16), r.int(17, 64), 64]);
      const kind = r.chance(0.7) ? 'nystrom' : 'softmax';
      const n = r.pick([r.int(1, 64), r.int(65, 512), r.int(1, kind === 'nystrom' ? 4096 : 1024)]);
      const o = { shape: [B, H, n, d], kind };
      if (r.chance(0.5)) o.style = r.pick(STYLES);
      if (r.chance(0.3)) o.layout = 'bnhd';
      if (kind === 'nystrom') o.landmarks = r.pick([r.int(1, 16), 32, 64, r.int(1, Math.min(128, n + 8))]);
      const p = lib.createAttention(o);
      counts.plans.attention++;
      if (p.memoryBytes > largestPlan.bytes) largestPlan = { bytes: p.memoryBytes, what: `createAttention ${JSON.stringify(o)}` };
      const count = B * H * n * d;
      const q = view(POOL, count), k = view(POOL, count), v = view(V_POOL, count);
      const a = p.run(q, k, v);
      p.inputs.q.set(q);
      p.inputs.k.set(k);
      p.inputs.v.set(v);
      const b = p.runInPlace();
      if (!sameBits(a, b)) note(`plan ${JSON.stringify(o)}: runInPlace differs from run`);
      if (!isFinite32(a)) note(`plan ${JSON.stringify(o)}: non-finite output`);
      if (r.chance(0.3)) {
        const m = new Float32Array(B * n).fill(1);
        m.fill(0, n - Math.min(n - 1, r.int(0, n >> 1)), n);
        p.setMask(m);
        if (!isFinite32(p.run(q, k, v))) note(`plan ${JSON.stringify(o)} with a mask: non-finite output`);
      }
      return p;
    }
    const M = r.pick([r.int(1, 64), r.int(65, 512)]), K = r.pick([r.int(1, 64), r.int(65, 512)]), N = r.pick([r.int(1, 64), r.int(65, 512)]);
    const p = lib.createMatmul({ m: M, k: K, n: N, transB: r.chance(0.5) });
    counts.plans.matmul++;
    if (p.memoryBytes > largestPlan.bytes) largestPlan = { bytes: p.memoryBytes, what: `createMatmul ${M}×${K}×${N}` };
    const a = p.run(view(POOL, M * K), view(V_POOL, K * N)).slice();
    p.a.set(view(POOL, M * K));
    p.b.set(view(V_POOL, K * N));
    const c = p.runInPlace();
    if (!isFinite32(a) || !isFinite32(c)) note(`matmul plan ${M}×${K}×${N}: non-finite output`);
    return p;
  }

  function fill(count) {
    const a = new Float32Array(count);
    for (let off = 0; off < count; off += POOL.length) a.set(POOL.subarray(0, Math.min(POOL.length, count - off)), off);
    return a;
  }

  const bigResults = [];
  /** One huge call in a plain function, so no reference to its inputs or result survives it. */
  function bigCallSync(j) {
    if (j % 2 === 0) {
      const shape = [1, 8, 32768, 64];
      const count = shape.reduce((a, b) => a * b, 1);
      const q = fill(count), k = fill(count).reverse(), v = fill(count);
      const out = lib.nystromAttention(q, k, v, { shape, landmarks: 64 });
      if (!isFinite32(out)) note('big nystromAttention: non-finite output');
      return { what: `nystromAttention ${JSON.stringify(shape)}, m = 64`, peak: mem().rss };
    }
    const shape = [1, 1, 8192, 32];
    const count = shape.reduce((a, b) => a * b, 1);
    const out = lib.nystromAttentionMatrix(fill(count), fill(count).reverse(), { shape, landmarks: 32 });
    if (!isFinite32(out)) note('big nystromAttentionMatrix: non-finite output');
    return { what: `nystromAttentionMatrix ${JSON.stringify(shape)}, m = 32`, peak: mem().rss };
  }
  async function bigCall(j) {
    await settle();
    const before = mem().rss;
    const t = performance.now();
    const { what, peak } = bigCallSync(j);
    const ms = performance.now() - t;
    await settle();
    const after = mem().rss;
    counts.big++;
    bigResults.push({ what, before, peak, after, ms });
    if (after - before > BIG_RELEASE_SLACK) note(`big call ${what}: RSS after collection ${((after - before) / MB).toFixed(0)} MB above before (the one-shot engine was not released)`);
  }

  // ---- the run ----
  lib.nystromAttention(ref.q, ref.k, ref.v, refOpts); // warm
  await settle();
  const initial = mem();
  let peak = initial.rss;
  const total = calls + plans;
  // Interleave: plan steps spread evenly among the call steps.
  const planAt = new Set(Array.from({ length: plans }, (_, i) => Math.floor(((i + 0.5) * total) / Math.max(1, plans))));
  const bigAt = new Map(Array.from({ length: big }, (_, j) => [Math.floor(((j + 0.5) * total) / Math.max(1, big)), j]));
  const sampleEvery = Math.max(1, Math.floor(total / Math.max(1, samples)));
  const releaseEvery = Math.max(1, Math.floor(total / 20));
  const refEvery = Math.max(1, Math.floor(total / 20));
  const series = [{ step: 0, ...initial }];
  for (let step = 1; step <= total; step++) {
    try {
      if (planAt.has(step - 1)) {
        live.push(plan());
        while (live.length > r.int(0, 4)) live.shift().dispose();
      } else oneShot();
    } catch (e) {
      counts.errors++;
      note(`step ${step}: threw ${e?.constructor?.name} ${e?.code}: ${e?.message}`);
    }
    if (bigAt.has(step)) {
      await bigCall(bigAt.get(step));
      peak = Math.max(peak, ...bigResults.map((b) => b.peak));
    }
    if (step % releaseEvery === 0) {
      lib.release();
      counts.releases++;
    }
    if (step % refEvery === 0) checkRefs(step);
    if (step % sampleEvery === 0 || step === total) {
      peak = Math.max(peak, mem().rss);
      await settle();
      const m = mem();
      series.push({ step, ...m });
      peak = Math.max(peak, m.rss);
      if (series.length % 10 === 0) log(`  step ${step}/${total}: RSS ${(m.rss / MB).toFixed(0)} MB (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  for (const p of live.splice(0)) p.dispose();
  checkRefs(total);
  await settle();
  const final = mem();
  lib.release();
  await settle();
  const afterRelease = mem();
  refPlan.dispose();
  refMm.dispose();

  // ---- checks ----
  const bound = initial.rss + planFactor * largestPlan.bytes + slackMB * MB;
  const half = series.filter((s) => s.step >= total / 2);
  const xs = half.map((s) => s.step), ys = half.map((s) => s.rss);
  const projected = slope(xs, ys) * (total - Math.ceil(total / 2));
  const q = Math.max(1, Math.floor(half.length / 4));
  const quarterRise = median(ys.slice(-q)) - median(ys.slice(0, q));
  const trend = { projectedMB: projected / MB, quarterRiseMB: quarterRise / MB, limitMB: trendMB, samples: half.length };
  const checks = [
    { name: 'final RSS within initial + planFactor × largest plan + slack', ok: final.rss <= bound,
      detail: `final ${(final.rss / MB).toFixed(1)} MB, bound ${(bound / MB).toFixed(1)} MB = initial ${(initial.rss / MB).toFixed(1)} + ${planFactor} × ${(largestPlan.bytes / MB).toFixed(1)} + ${slackMB}` },
    { name: 'no upward RSS trend over the second half', ok: projected <= trendMB * MB && quarterRise <= trendMB * MB,
      detail: `slope projected over the second half ${(projected / MB).toFixed(1)} MB, last-quarter vs first-quarter median ${(quarterRise / MB).toFixed(1)} MB (limit ${trendMB} MB each, ${half.length} samples)` },
    { name: 'big one-shot calls released their memory', ok: bigResults.every((b) => b.after - b.before <= BIG_RELEASE_SLACK),
      detail: bigResults.map((b) => `${b.what}: ${(b.before / MB).toFixed(0)} → peak ${(b.peak / MB).toFixed(0)} → ${(b.after / MB).toFixed(0)} MB in ${b.ms.toFixed(0)} ms`).join('; ') || 'none run' },
    { name: 'outputs finite, references bit-identical, no errors', ok: problems.length === 0, detail: problems.slice(0, 20).join('; ') || 'ok' },
  ];
  return {
    build, seed, calls, plansRequested: plans, counts, seconds: (performance.now() - t0) / 1000,
    rss: { initial: initial.rss, peak, final: final.rss, afterRelease: afterRelease.rss },
    memory: { initial, final, afterRelease },
    largestPlan, bound, trend, big: bigResults, series: series.map((s) => [s.step, s.rss]), checks, ok: checks.every((c) => c.ok),
  };
}

// ---------------------------------------------------------------------------------------------
// CLI

function parseArgs(argv) {
  const a = { calls: 10000, plans: 3000, big: 3, seed: 1, samples: 100, slackMB: 150, planFactor: 2, trendMB: 48, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return +argv[++i];
    };
    if (k === '--calls') a.calls = next();
    else if (k === '--plans') a.plans = next();
    else if (k === '--big') a.big = next();
    else if (k === '--seed') a.seed = next();
    else if (k === '--samples') a.samples = next();
    else if (k === '--slack-mb') a.slackMB = next();
    else if (k === '--plan-factor') a.planFactor = next();
    else if (k === '--trend-mb') a.trendMB = next();
    else if (k === '--json') a.json = true;
    else throw new Error(`unknown argument ${k} (see the header of tests/fuzz/soak.mjs)`);
  }
  return a;
}

async function main() {
  if (typeof globalThis.gc !== 'function') {
    // re-run with --expose-gc (and this process's other flags)
    const res = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exit(res.status ?? 1);
  }
  const args = argsOrExit(parseArgs);
  const s = await runSoak({ ...args, log: args.json ? () => {} : (t) => console.log(t) });
  if (args.json) {
    console.log(JSON.stringify(s));
  } else {
    const f = (b) => `${(b / MB).toFixed(1)} MB`;
    console.log(`\nsoak: build ${s.build}, seed ${s.seed}, ${s.calls} one-shot calls, ${s.counts.plans.attention + s.counts.plans.matmul} plans (${s.counts.plans.attention} attention, ${s.counts.plans.matmul} matmul), ${s.counts.big} big calls, ${s.counts.releases} release() in ${s.seconds.toFixed(1)} s`);
    console.log(`  one-shot: ${Object.entries(s.counts.oneShot).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    console.log(`  RSS initial ${f(s.rss.initial)}, peak ${f(s.rss.peak)}, final ${f(s.rss.final)}, after release() ${f(s.rss.afterRelease)}`);
    console.log(`  largest plan ${f(s.largestPlan.bytes)} (${s.largestPlan.what}); bound ${f(s.bound)}`);
    console.log(`  second-half trend: slope projected ${s.trend.projectedMB.toFixed(1)} MB, quarter medians ${s.trend.quarterRiseMB.toFixed(1)} MB (limit ${s.trend.limitMB} MB)`);
    for (const b of s.big) console.log(`  big: ${b.what}: RSS ${f(b.before)} → peak ${f(b.peak)} → ${f(b.after)} after collection, ${b.ms.toFixed(0)} ms`);
    for (const c of s.checks) console.log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  }
  process.exitCode = s.ok ? 0 : 1;
}


if (isMain(import.meta.url)) {
  main().catch((e) => {
    console.error(`soak crashed: ${e?.stack ?? e}`);
    process.exit(3);
  });
}
