// Real dispose: plan.dispose() on attention and matmul plans, and release() of the shared one-shot
// engines. After dispose every use of the plan throws an Error with code 'ERR_DISPOSED' (message
// naming 'disposed'); dispose twice is fine; other plans and one-shot calls are untouched; release()
// changes no result. And the memory really goes back: child processes (tests/host/dispose.child.mjs,
// node --expose-gc) hold 100 attention plans of ~8 MB (50 matmul plans of ~10 MB), dispose them while
// the plan objects stay referenced, and the resident set size must fall by most (≥ 60 %) of what the
// plans added; the same for one huge one-shot call and release(). A control child drops bare
// WebAssembly.Memory objects, to show the measurement sees freed wasm memory at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makeQKV, randn, bhndToBnhd } from '../reference.js';
import { lib, tag, BUILD, assertBitsEqual, makeMask } from './helpers.js';

/** Asserts fn throws the disposed-plan error. */
function throwsDisposed(fn, what) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Error, `${what}: threw a non-Error ${e}`);
    assert.match(e.message, /disposed/, `${what}: message ${JSON.stringify(e.message)} does not say 'disposed'`);
    assert.equal(e.code, 'ERR_DISPOSED', `${what}: error code`);
    return true;
  }, `${what}: expected the disposed-plan error`);
}

test(tag('attention plans: after dispose, run / runInPlace / setMask / inputs / output throw ERR_DISPOSED; dispose twice is fine'), () => {
  const shape = [2, 2, 40, 6];
  const { q, k, v } = makeQKV(shape, 3100);
  const mask = makeMask('trailing', 2, 40);
  for (const kind of ['nystrom', 'softmax']) {
    for (const layout of [undefined, 'bnhd']) {
      const plan = lib.createAttention({ shape, kind, landmarks: 8, mask, ...(layout ? { layout } : {}) });
      const before = plan.run(q, k, v);
      assert.ok(before instanceof Float32Array);
      plan.dispose();
      const w = `${kind}${layout ? ' ' + layout : ''}`;
      throwsDisposed(() => plan.run(q, k, v), `${w}: run`);
      throwsDisposed(() => plan.run(q, k, v, new Float32Array(q.length)), `${w}: run(out)`);
      throwsDisposed(() => plan.runInPlace(), `${w}: runInPlace`);
      throwsDisposed(() => plan.setMask(mask), `${w}: setMask(mask)`);
      throwsDisposed(() => plan.setMask(undefined), `${w}: setMask(undefined)`);
      throwsDisposed(() => plan.inputs, `${w}: reading plan.inputs`);
      throwsDisposed(() => plan.output, `${w}: reading plan.output`);
      assert.doesNotThrow(() => plan.dispose(), `${w}: second dispose`);
      assert.doesNotThrow(() => plan.dispose(), `${w}: third dispose`);
      throwsDisposed(() => plan.runInPlace(), `${w}: runInPlace after the second dispose`);
    }
  }
});

test(tag('matmul plans: dispose exists; after dispose, run / runInPlace / a / b / c throw ERR_DISPOSED; dispose twice is fine'), () => {
  for (const transB of [false, true]) {
    const [m, k, n] = [9, 17, 5];
    const plan = lib.createMatmul({ m, k, n, transB });
    assert.equal(typeof plan.dispose, 'function', 'createMatmul plans have dispose()');
    const a = randn(m * k, 1, 3200), b = randn(k * n, 1, 3201);
    const good = plan.run(a, b).slice();
    assertBitsEqual(good, (transB ? lib.matmulTransposed : lib.matmul)(a, b, m, k, n), 'plan before dispose');
    plan.dispose();
    throwsDisposed(() => plan.run(a, b), `transB=${transB}: run`);
    throwsDisposed(() => plan.run(a, b, new Float32Array(m * n)), `transB=${transB}: run(out)`);
    throwsDisposed(() => plan.runInPlace(), `transB=${transB}: runInPlace`);
    throwsDisposed(() => plan.a, `transB=${transB}: reading plan.a`);
    throwsDisposed(() => plan.b, `transB=${transB}: reading plan.b`);
    throwsDisposed(() => plan.c, `transB=${transB}: reading plan.c`);
    assert.doesNotThrow(() => plan.dispose(), 'second dispose');
    throwsDisposed(() => plan.run(a, b), `transB=${transB}: run after the second dispose`);
  }
});

test(tag('disposing a plan leaves other plans, new plans and one-shot calls bit-identical'), () => {
  const shape = [2, 3, 50, 7];
  const { q, k, v } = makeQKV(shape, 3300);
  const opts = { shape, landmarks: 8, style: 'hf', mask: makeMask('inner', 2, 50, 7) };
  const oneShot = lib.nystromAttention(q, k, v, opts);
  const a = lib.createAttention(opts);
  const b = lib.createAttention(opts);
  const mm = lib.createMatmul({ m: 8, k: 8, n: 8 });
  assert.equal(typeof mm.dispose, 'function', 'createMatmul plans have dispose()');
  try {
    assertBitsEqual(a.run(q, k, v), oneShot, 'plan a');
    assertBitsEqual(b.run(q, k, v), oneShot, 'plan b');
    a.dispose();
    mm.dispose();
    assertBitsEqual(b.run(q, k, v), oneShot, 'plan b after a was disposed');
    b.inputs.q.set(q); b.inputs.k.set(k); b.inputs.v.set(v);
    assertBitsEqual(b.runInPlace(), oneShot, 'plan b runInPlace after a was disposed');
    assertBitsEqual(lib.nystromAttention(q, k, v, opts), oneShot, 'one-shot after a dispose');
    const c = lib.createAttention(opts);
    try {
      assertBitsEqual(c.run(q, k, v), oneShot, 'a new plan after a dispose');
    } finally {
      c.dispose();
    }
    const x = randn(64, 1, 3301), y = randn(64, 1, 3302);
    const mm2 = lib.createMatmul({ m: 8, k: 8, n: 8 });
    try {
      assertBitsEqual(mm2.run(x, y), lib.matmul(x, y, 8, 8, 8), 'a new matmul plan after a dispose');
    } finally {
      mm2.dispose();
    }
  } finally {
    a.dispose();
    b.dispose();
  }
});

test(tag('release(): exported; one-shot results before and after are bit-identical; live plans keep working; twice is fine'), () => {
  assert.equal(typeof lib.release, 'function', 'release is exported');
  const shape = [2, 2, 45, 5];
  const { q, k, v } = makeQKV(shape, 3400);
  const mask = makeMask('inner', 2, 45, 6);
  const convWeight = randn(2 * 3, 0.5, 3401);
  const opts = { shape, landmarks: 8, mask, convWeight, style: 'lucidrains' };
  const a = randn(13 * 11, 1, 3402), b = randn(11 * 9, 1, 3403);
  const calls = {
    nystromAttention: () => lib.nystromAttention(q, k, v, opts),
    'nystromAttention bnhd': () => lib.nystromAttention(bhndToBnhd(q, shape), bhndToBnhd(k, shape), bhndToBnhd(v, shape), { ...opts, layout: 'bnhd' }),
    softmaxAttention: () => lib.softmaxAttention(q, k, v, opts),
    nystromAttentionMatrix: () => lib.nystromAttentionMatrix(q, k, opts),
    softmaxAttentionMatrix: () => lib.softmaxAttentionMatrix(q, k, opts),
    'nystromAttentionFactors kernel1': () => lib.nystromAttentionFactors(q, k, opts).kernel1,
    'nystromAttentionFactors pinv': () => lib.nystromAttentionFactors(q, k, opts).pinv,
    matmul: () => lib.matmul(a, b, 13, 11, 9),
    matmulTransposed: () => lib.matmulTransposed(a, randn(9 * 11, 1, 3404), 13, 11, 9),
  };
  const before = Object.fromEntries(Object.entries(calls).map(([name, f]) => [name, f()]));
  const plan = lib.createAttention(opts);
  try {
    const planBefore = plan.run(q, k, v);
    lib.release();
    for (const [name, f] of Object.entries(calls)) assertBitsEqual(f(), before[name], `${name} after release()`);
    assertBitsEqual(plan.run(q, k, v), planBefore, 'a live plan after release()');
    lib.release();
    lib.release();
    assertBitsEqual(calls.nystromAttention(), before.nystromAttention, 'after release() twice');
    // A bigger call after release (the engine grows again), then a small one.
    const big = [1, 2, 700, 16];
    const x = makeQKV(big, 3405);
    const bigBefore = lib.nystromAttention(x.q, x.k, x.v, { shape: big, landmarks: 32 });
    lib.release();
    assertBitsEqual(lib.nystromAttention(x.q, x.k, x.v, { shape: big, landmarks: 32 }), bigBefore, 'big call after release()');
    assertBitsEqual(calls.softmaxAttention(), before.softmaxAttention, 'small call after the big one');
    // The other build's engine too (release frees every shared engine).
    if (BUILD === 'relaxed') {
      lib.selectBuild('simd');
      try {
        const s1 = calls.nystromAttention();
        lib.release();
        assertBitsEqual(calls.nystromAttention(), s1, 'simd one-shot after release()');
      } finally {
        lib.selectBuild('relaxed');
      }
      assertBitsEqual(calls.nystromAttention(), before.nystromAttention, 'relaxed again');
    }
  } finally {
    plan.dispose();
  }
});

// ---------------------------------------------------------------------------------------------
// Memory really goes back (child processes with --expose-gc)

const CHILD = fileURLToPath(new URL('./dispose.child.mjs', import.meta.url));
const MiB = (x) => `${(x / 1048576).toFixed(1)} MiB`;

/** Starts the child in `mode` with this process's wasm flags; resolves to { report } or { failure }. */
function startChild(mode) {
  const flags = process.execArgv.filter((a) => a.startsWith('--experimental-wasm'));
  return new Promise((resolve) => {
    execFile(process.execPath, ['--expose-gc', ...flags, CHILD, mode], { encoding: 'utf8', timeout: 120000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const line = (stdout || '').trim().split('\n').pop();
      let report;
      try {
        report = JSON.parse(line);
      } catch {
        resolve({ failure: `child ${mode} printed no report (${error ? error.message : 'exit 0'}):\n${stdout}\n${stderr}` });
        return;
      }
      resolve(report.ok ? { report } : { failure: `child ${mode} failed: ${report.error}` });
    });
  });
}

// The children start when this file loads, two at a time (each measures its own RSS; two chains keep
// the peak near 1.3 GB): plans then control, matmul then oneshot.
const CHILDREN = {};
CHILDREN.plans = startChild('plans');
CHILDREN.control = CHILDREN.plans.then(() => startChild('control'));
CHILDREN.matmul = startChild('matmul');
CHILDREN.oneshot = CHILDREN.matmul.then(() => startChild('oneshot'));

/** The report of the child in `mode` (fails the test when the child did not report). */
async function child(mode) {
  const { report, failure } = await CHILDREN[mode];
  if (failure) assert.fail(failure);
  return report;
}

function describeReport(r) {
  return `${r.mode} [${r.build}]: ${r.count}× ${r.totalBytes ? `total ${MiB(r.totalBytes)}, ` : ''}RSS before ${MiB(r.rss.before)}, ` +
    `peak ${MiB(r.rss.peak)} (+${MiB(r.grown)}), after ${MiB(r.rss.after)} (dropped ${MiB(r.dropped)}, ${((100 * r.dropped) / r.grown).toFixed(0)} % of the growth)` +
    (r.notes?.length ? `; ${r.notes.join('; ')}` : '');
}

/** The fraction of what was added that must be given back. */
const RECLAIM = 0.6;

test(tag('memory: the measurement sees freed wasm memory (control: 20 dropped WebAssembly.Memory of 8 MiB)'), async (t) => {
  const r = await child('control');
  t.diagnostic(describeReport(r));
  assert.ok(r.grown >= 0.8 * r.totalBytes, `the memories were not resident: grew ${MiB(r.grown)} for ${MiB(r.totalBytes)}`);
  assert.ok(r.dropped >= RECLAIM * r.grown, `RSS did not fall when bare wasm memories were dropped: ${describeReport(r)}`);
});

test(tag('memory: 100 attention plans (~8 MiB each, still referenced) give their memory back on dispose()'), async (t) => {
  const r = await child('plans');
  t.diagnostic(describeReport(r));
  assert.equal(r.count, 100);
  assert.ok(r.grown >= 0.5 * r.totalBytes, `the plans were not resident: grew ${MiB(r.grown)} for memoryBytes ${MiB(r.totalBytes)}`);
  assert.ok(r.dropped >= RECLAIM * r.grown,
    `dispose() did not give the memory back: RSS fell by ${MiB(r.dropped)} of ${MiB(r.grown)} (needs ≥ ${RECLAIM * 100} %): ${describeReport(r)}`);
});

test(tag('memory: 50 matmul plans (~10 MiB each, still referenced) give their memory back on dispose()'), async (t) => {
  const r = await child('matmul');
  t.diagnostic(describeReport(r));
  assert.equal(r.count, 50);
  assert.ok(r.grown >= 0.5 * r.totalBytes, `the plans were not resident: grew ${MiB(r.grown)} for memoryBytes ${MiB(r.totalBytes)}`);
  assert.ok(r.dropped >= RECLAIM * r.grown,
    `dispose() did not give the memory back: RSS fell by ${MiB(r.dropped)} of ${MiB(r.grown)} (needs ≥ ${RECLAIM * 100} %): ${describeReport(r)}`);
});

test(tag('memory: a big one-shot call grows the shared engine (~170 MB, kept); release() gives it back'), async (t) => {
  const r = await child('oneshot');
  t.diagnostic(describeReport(r));
  assert.ok(r.grown >= 64 * 1048576,
    `the big call did not grow RSS (grew ${MiB(r.grown)}; was the engine released right after the call?): the test does not measure anything`);
  assert.ok(r.dropped >= RECLAIM * r.grown,
    `release() did not give the memory back: RSS fell by ${MiB(r.dropped)} of ${MiB(r.grown)} (needs ≥ ${RECLAIM * 100} %): ${describeReport(r)}`);
});
