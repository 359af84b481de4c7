// Attention plans on a pool (pool.createAttention): memory kept in the pool's shared memory, runs
// bit-identical to the synchronous plan of the same options, zero-copy views, masks, queued beside
// other pool calls, dispose, bad input and abort; the calling-thread pool gives the same plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { makeQKV, randn } from '../reference.js';
import { lib, tag, BUILD, assertBitsEqual, makeMask, withPool } from './helpers.js';

const CASES = [
  // one head split across the threads (kernel 3 in shared regions), several heads, the exact path, softmax
  { shape: [1, 1, 700, 16], landmarks: 20, style: 'hf' },
  { shape: [2, 3, 65, 8], landmarks: 8, style: 'lucidrains', layout: 'bnhd' },
  { shape: [1, 1, 32, 4], landmarks: 32, style: 'authors' },
  { shape: [1, 2, 90, 12], kind: 'softmax' },
];

for (const threads of [1, 2, 3]) {
  test(tag(`pool plan (${threads} threads): run, run on its own views and runInPlace give the synchronous plan's bits`), { timeout: 60_000 }, async () => {
    await withPool({ threads, inlineBelow: 0 }, async (pool) => {
      for (const [i, opts] of CASES.entries()) {
        const { q, k, v } = makeQKV(opts.shape, 40 + i);
        const sync = lib.createAttention({ ...opts, build: BUILD });
        const plan = await pool.createAttention(opts);
        const what = `${JSON.stringify(opts)} threads=${threads}`;
        assert.deepEqual(plan.shape, opts.shape);
        assert.equal(plan.build, BUILD);
        assert.equal(plan.layout, opts.layout ?? 'bhnd');
        assert.ok(plan.memoryBytes > 3 * q.byteLength, `memoryBytes ${plan.memoryBytes}`);
        const want = sync.run(q, k, v).slice();
        const out = new Float32Array(q.length);
        assert.equal(await plan.run(q, k, v, out), out, 'out is returned');
        assertBitsEqual(out, want, `run ${what}`);
        plan.inputs.q.set(q);
        plan.inputs.k.set(k);
        plan.inputs.v.set(v);
        const inPlace = await plan.runInPlace();
        assert.equal(inPlace, plan.output, 'runInPlace resolves to the output view');
        assertBitsEqual(inPlace, want, `runInPlace ${what}`);
        // Its own views in their roles (not copied) and in other roles (read before anything is written).
        assertBitsEqual(await plan.run(plan.inputs.q, plan.inputs.k, plan.inputs.v), want, `run on its views ${what}`);
        const swapped = sync.run(k, q, v).slice();
        assertBitsEqual(await plan.run(plan.inputs.k, plan.inputs.q, plan.inputs.v), swapped, `views in swapped roles ${what}`);
        // A mask set on the plan applies to the next runs, as on the synchronous plan.
        const [B, , n] = opts.shape;
        const mask = makeMask('inner', B, n, 4);
        sync.setMask(mask);
        plan.setMask(mask);
        assertBitsEqual(await plan.run(q, k, v), sync.run(q, k, v), `masked ${what}`);
        sync.dispose();
        plan.dispose();
      }
    });
  });
}

test(tag('pool plan: kept beside one-shot pool calls and other plans (memory grows past it), disposed plans reject'), { timeout: 60_000 }, async () => {
  await withPool({ threads: 2, inlineBelow: 0 }, async (pool) => {
    const a = await pool.createAttention({ shape: [1, 1, 300, 16], landmarks: 10 });
    const x = makeQKV([1, 1, 300, 16], 50);
    a.inputs.q.set(x.q);
    a.inputs.k.set(x.k);
    a.inputs.v.set(x.v);
    const want = lib.nystromAttention(x.q, x.k, x.v, { shape: [1, 1, 300, 16], landmarks: 10 });
    // A large one-shot call and a second plan, queued together with runs of the first: every call
    // lays out above the plan's memory, so the plan's inputs survive them.
    const big = makeQKV([1, 1, 3000, 32], 51);
    const b = pool.createAttention({ shape: [1, 1, 3000, 32], kind: 'softmax' });
    const [r1, rBig, r2] = await Promise.all([
      a.runInPlace().then((o) => o.slice()),
      pool.nystromAttention(big.q, big.k, big.v, { shape: [1, 1, 3000, 32], landmarks: 30 }),
      a.run(a.inputs.q, a.inputs.k, a.inputs.v),
    ]);
    assertBitsEqual(r1, want, 'the plan before');
    assertBitsEqual(r2, want, 'the plan after a larger call');
    assertBitsEqual(rBig, lib.nystromAttention(big.q, big.k, big.v, { shape: [1, 1, 3000, 32], landmarks: 30 }), 'the large call');
    const planB = await b;
    assertBitsEqual(await planB.run(big.q, big.k, big.v), lib.softmaxAttention(big.q, big.k, big.v, { shape: [1, 1, 3000, 32] }), 'the second plan');
    assertBitsEqual(await a.runInPlace(), want, 'the first plan after the second was laid out');
    planB.dispose();
    a.dispose();
    a.dispose(); // twice is fine
    assert.throws(() => a.inputs, (e) => e.code === 'ERR_DISPOSED');
    await assert.rejects(a.runInPlace(), (e) => e.code === 'ERR_DISPOSED');
    await assert.rejects(a.run(x.q, x.k, x.v), (e) => e.code === 'ERR_DISPOSED');
    // A run queued behind a long call, then the plan disposed: the run rejects when its turn comes.
    const c = await pool.createAttention({ shape: [1, 1, 300, 16], landmarks: 10 });
    const long = pool.nystromAttention(big.q, big.k, big.v, { shape: [1, 1, 3000, 32], landmarks: 30 });
    const queued = c.run(x.q, x.k, x.v);
    c.dispose();
    await long;
    await assert.rejects(queued, (e) => e.code === 'ERR_DISPOSED');
    assertBitsEqual(await pool.nystromAttention(x.q, x.k, x.v, { shape: [1, 1, 300, 16], landmarks: 10 }), want, 'the pool after');
  });
});

test(tag('pool plan: bad options and inputs reject with the synchronous plan\'s errors; abort; NaN input'), { timeout: 60_000 }, async () => {
  await withPool({ threads: 2, inlineBelow: 0 }, async (pool) => {
    const shape = [1, 1, 64, 8];
    const bads = [
      [() => pool.createAttention({ shape, landmark: 4 }), TypeError, 'ERR_OPTION'],
      [() => pool.createAttention({ shape, kind: 'fast' }), TypeError, 'ERR_OPTION'],
      [() => pool.createAttention({ shape: [1, 1, 0, 8] }), RangeError, 'ERR_SHAPE'],
      [() => pool.createAttention(null), TypeError, 'ERR_OPTION'],
    ];
    for (const [fn, Class, code] of bads) await assert.rejects(fn(), (e) => e instanceof Class && e.code === code, `${Class.name} ${code}`);
    // Another build than the pool's: refused (under the plain build, relaxed is not even available here).
    await assert.rejects(pool.createAttention({ shape, build: BUILD === 'simd' ? 'relaxed' : 'simd' }),
      (e) => e.code === (BUILD === 'simd' ? 'ERR_UNSUPPORTED' : 'ERR_OPTION'), 'another build');
    const plan = await pool.createAttention({ shape, landmarks: 4, build: BUILD });
    const { q, k, v } = makeQKV(shape, 60);
    await assert.rejects(plan.run(q.subarray(1), k, v), (e) => e instanceof RangeError && e.code === 'ERR_TENSOR');
    await assert.rejects(plan.run(q, k, [1, 2]), (e) => e instanceof TypeError && e.code === 'ERR_TENSOR');
    await assert.rejects(plan.run(q, k, v, new Float32Array(3)), (e) => e instanceof RangeError && e.code === 'ERR_TENSOR');
    await assert.rejects(plan.runInPlace({ signal: 'no' }), (e) => e instanceof TypeError && e.code === 'ERR_OPTION');
    await assert.rejects(plan.runInPlace({ signal: AbortSignal.abort() }), (e) => e.name === 'AbortError');
    assert.throws(() => plan.setMask(new Float32Array(5)), (e) => e instanceof RangeError);
    const bad = q.slice();
    bad[9] = NaN;
    let want;
    try { lib.nystromAttention(bad, k, v, { shape, landmarks: 4 }); } catch (e) { want = e; }
    await assert.rejects(plan.run(bad, k, v), (e) => e instanceof RangeError && e.message === want.message);
    plan.inputs.q.set(bad);
    plan.inputs.k.set(k);
    plan.inputs.v.set(v);
    await assert.rejects(plan.runInPlace(), (e) => e instanceof RangeError && e.message === want.message);
    assertBitsEqual(await plan.run(q, k, v), lib.nystromAttention(q, k, v, { shape, landmarks: 4 }), 'after the errors');
    plan.dispose();
  });
});

test(tag('pool plan: without SharedArrayBuffer the calling-thread pool gives the synchronous plan'), { timeout: 30_000 }, () => {
  const script = `
    delete globalThis.SharedArrayBuffer;
    const lib = await import(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)});
    const pool = await lib.createPool({ threads: 2 });
    const shape = [1, 1, 50, 8];
    const q = new Float32Array(400).map((_, i) => Math.sin(i)), k = q.map((x) => x / 2), v = q.map((x) => x * x);
    const plan = await pool.createAttention({ shape, landmarks: 5 });
    const got = await plan.run(q, k, v);
    const want = lib.nystromAttention(q, k, v, { shape, landmarks: 5 });
    plan.inputs.q.set(q); plan.inputs.k.set(k); plan.inputs.v.set(v);
    const inPlace = await plan.runInPlace();
    let aborted = '';
    try { await plan.runInPlace({ signal: AbortSignal.abort() }); } catch (e) { aborted = e.name; }
    plan.dispose();
    let disposed = '';
    try { await plan.runInPlace(); } catch (e) { disposed = e.code; }
    console.log(JSON.stringify({ threads: pool.threads, same: got.every((x, i) => Object.is(x, want[i])) && inPlace.every((x, i) => Object.is(x, want[i])), aborted, disposed }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
  assert.deepEqual(out, { threads: 1, same: true, aborted: 'AbortError', disposed: 'ERR_DISPOSED' });
});
