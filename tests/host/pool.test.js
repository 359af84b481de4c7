// The worker pool: the conformance cases through createPool, bit-identical to the synchronous call
// of the same build whatever the thread count; bad input rejected as the synchronous call throws;
// abort; a terminated worker; close; the calling-thread fallback where SharedArrayBuffer is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { makeQKV, randn } from '../reference.js';
import { lib, tag, BUILD, assertBitsEqual, makeMask, withPool } from './helpers.js';

const TERMINATE = Symbol.for('nystrom-wasm:terminate-worker');

/** Cases: shapes with fewer and more heads than threads, tails, masks, conv, both layouts, the exact path. */
function cases() {
  const out = [];
  let seed = 1;
  // ([1, 1, 1100, 12]: kernel-3 logits in several key blocks, claimed by the threads of a split head.)
  for (const [shape, m] of [[[1, 1, 300, 16], 8], [[2, 3, 50, 7], 8], [[1, 1, 20, 4], 32], [[1, 2, 129, 5], 16], [[3, 1, 64, 64], 64], [[1, 1, 1, 3], 1],
    [[1, 1, 1100, 12], 20]]) {
    for (const style of ['authors', 'hf', 'lucidrains']) {
      const [B, H, n] = shape;
      const mask = makeMask(n > 8 ? 'inner' : 'none', B, n, Math.max(1, Math.ceil(n / m)));
      const conv = seed % 2 ? randn(H * 3, 0.5, seed) : undefined;
      const layout = seed % 3 === 0 ? 'bnhd' : 'bhnd';
      const remainder = seed % 4 === 1 && m <= n ? 'uneven' : 'pad';
      out.push({ shape, opts: { shape, style, landmarks: m, mask, convWeight: conv, layout, remainder }, seed: seed++ });
    }
  }
  return out;
}

for (const threads of [1, 2, 3]) {
  test(tag(`pool (${threads} threads): attention and matmul bit-identical to the synchronous calls`), { timeout: 60_000 }, async () => {
    await withPool({ threads, inlineBelow: 0 }, async (pool) => {
      assert.equal(pool.threads, threads);
      assert.equal(pool.build, BUILD);
      assert.equal(pool.reason, undefined);
      for (const { shape, opts, seed } of cases()) {
        const { q, k, v } = makeQKV(shape, seed);
        for (const kind of ['nystromAttention', 'softmaxAttention']) {
          const want = lib[kind](q, k, v, opts);
          const got = await pool[kind](q, k, v, opts);
          assertBitsEqual(got, want, `${kind} ${JSON.stringify({ shape, style: opts.style, layout: opts.layout })} threads=${threads}`);
        }
      }
      for (const [m, k, n] of [[1, 1, 1], [5, 7, 3], [64, 64, 64], [13, 70, 200], [200, 33, 9], [64, 300, 64]]) {
        const a = randn(m * k, 1, m + k), b = randn(k * n, 1, k + n);
        assertBitsEqual(await pool.matmul(a, b, m, k, n), lib.matmul(a, b, m, k, n), `matmul ${m}×${k}×${n}`);
        assertBitsEqual(await pool.matmulTransposed(a, b, m, k, n), lib.matmulTransposed(a, b, m, k, n), `matmulTransposed ${m}×${k}×${n}`);
        const out = new Float32Array(m * n);
        assert.equal(await pool.matmul(a, b, m, k, n, out), out, 'out is returned');
      }
      // Calls issued together run one after another, each with its own result.
      const { q, k, v } = makeQKV([1, 2, 40, 8], 9);
      const o = { shape: [1, 2, 40, 8], landmarks: 5 };
      const all = await Promise.all([pool.nystromAttention(q, k, v, o), pool.softmaxAttention(q, k, v, o), pool.nystromAttention(q, k, v, o)]);
      assertBitsEqual(all[0], lib.nystromAttention(q, k, v, o), 'concurrent 0');
      assertBitsEqual(all[1], lib.softmaxAttention(q, k, v, o), 'concurrent 1');
      assertBitsEqual(all[2], all[0], 'concurrent 2');
    });
  });
}

test(tag('pool: bad input rejects with the synchronous call\'s error class and code, and the pool keeps working'), { timeout: 30_000 }, async () => {
  await withPool({ threads: 2, inlineBelow: 0 }, async (pool) => {
    const shape = [1, 2, 24, 5];
    const { q, k, v } = makeQKV(shape, 4);
    const bads = [
      [() => pool.nystromAttention(q.subarray(1), k, v, { shape }), RangeError, 'ERR_TENSOR'],
      [() => pool.nystromAttention(q, k, v, { shape, num_landmarks: 3 }), TypeError, 'ERR_OPTION'],
      [() => pool.softmaxAttention(q, k, v, { shape, style: 'x' }), TypeError, 'ERR_OPTION'],
      [() => pool.nystromAttention(q, k, v, { shape, signal: 'no' }), TypeError, 'ERR_OPTION'],
      [() => pool.matmul(q, k, 0, 1, 1), RangeError, 'ERR_SHAPE'],
      [() => pool.matmul([1], [1], 1, 1, 1), TypeError, 'ERR_TENSOR'],
    ];
    for (const [fn, Class, code] of bads) {
      await assert.rejects(fn(), (e) => e instanceof Class && e.code === code, `${Class.name} ${code}`);
    }
    // A NaN or ±Infinity in q, k or v: the synchronous call's message (tensor and first index), with
    // one head split across the threads and with whole heads per thread, in both kinds.
    for (const sh of [[1, 1, 40, 5], shape]) {
      const t = makeQKV(sh, 6);
      for (const [name, at, x] of [['q', 3, NaN], ['k', 77, Infinity], ['v', 120, -Infinity]]) {
        const bad = { ...t, [name]: t[name].slice() };
        bad[name][at] = x;
        for (const kind of ['nystromAttention', 'softmaxAttention']) {
          const o = { shape: sh, landmarks: 4 };
          let want;
          try { lib[kind](bad.q, bad.k, bad.v, o); } catch (e) { want = e; }
          assert.equal(want?.code, 'ERR_NOT_FINITE', `${kind} ${name}: the synchronous call throws`);
          await assert.rejects(pool[kind](bad.q, bad.k, bad.v, o), (e) => e instanceof RangeError && e.message === want.message, `${kind} ${name} ${sh}`);
        }
      }
    }
    // A NaN in a matmul operand (scanned by the workers): the synchronous call's message.
    for (const [which, at] of [['a', 17], ['b', 301]]) {
      const x = { a: randn(40 * 30, 1, 3), b: randn(30 * 20, 1, 4) };
      x[which][at] = NaN;
      let want;
      try { lib.matmul(x.a, x.b, 40, 30, 20); } catch (e) { want = e; }
      await assert.rejects(pool.matmul(x.a, x.b, 40, 30, 20), (e) => e instanceof RangeError && e.message === want.message, `matmul ${which}`);
    }
    // An input detached while its call waits in the queue: the call rejects (nothing stale is read).
    const long = makeQKV([1, 1, 2048, 32], 7);
    const first = pool.softmaxAttention(long.q, long.k, long.v, { shape: [1, 1, 2048, 32] });
    const q2 = q.slice();
    const queued = pool.nystromAttention(q2, k, v, { shape, landmarks: 4 });
    structuredClone(q2.buffer, { transfer: [q2.buffer] });
    await first;
    await assert.rejects(queued, (e) => e instanceof RangeError && e.code === 'ERR_TENSOR' && /detached/.test(e.message), 'detached while queued');
    assertBitsEqual(await pool.nystromAttention(q, k, v, { shape, landmarks: 4 }), lib.nystromAttention(q, k, v, { shape, landmarks: 4 }), 'after the errors');
  });
});

test(tag('pool: an abort rejects with AbortError, the workers stop, the pool stays usable'), { timeout: 60_000 }, async () => {
  await withPool({ threads: 2, inlineBelow: 0 }, async (pool) => {
    const shape = [1, 1, 4096, 32];
    const { q, k, v } = makeQKV(shape, 5);
    // Already aborted: rejected before any work.
    await assert.rejects(pool.softmaxAttention(q, k, v, { shape, signal: AbortSignal.abort() }), (e) => e.name === 'AbortError');
    // Aborted mid-call: exact attention over 4096 rows takes far longer than the 5 ms before the abort.
    const ac = new AbortController();
    const t0 = performance.now();
    const p = pool.softmaxAttention(q, k, v, { shape, signal: ac.signal });
    setTimeout(() => ac.abort(), 5);
    await assert.rejects(p, (e) => e.name === 'AbortError');
    const stopped = performance.now() - t0;
    const full = performance.now();
    const want = lib.softmaxAttention(q, k, v, { shape });
    const fullMs = performance.now() - full;
    assertBitsEqual(await pool.softmaxAttention(q, k, v, { shape }), want, 'the next call after the abort');
    assertBitsEqual(await pool.nystromAttention(q, k, v, { shape }), lib.nystromAttention(q, k, v, { shape }), 'and Nyström');
    // Diagnostic only (machines are noisy): the aborted call ended early.
    console.log(`# aborted call settled after ${stopped.toFixed(1)} ms; a whole call takes ${fullMs.toFixed(1)} ms on one thread`);
  });
});

test(tag('pool: a terminated worker rejects the pending call and closes the pool; close() rejects later calls'), { timeout: 30_000 }, async () => {
  const pool = await lib.createPool({ threads: 2 });
  const shape = [1, 1, 4096, 32];
  const { q, k, v } = makeQKV(shape, 6);
  const p = pool.softmaxAttention(q, k, v, { shape });
  setTimeout(() => pool[TERMINATE](1), 5);
  await assert.rejects(p, (e) => e instanceof Error && /worker 1 was terminated/.test(e.message));
  await assert.rejects(pool.nystromAttention(q, k, v, { shape }), (e) => /the pool is closed/.test(e.message));
  await pool.close();

  const pool2 = await lib.createPool({ threads: 2 });
  const pending = pool2.softmaxAttention(q, k, v, { shape });
  await pool2.close();
  await assert.rejects(pending, (e) => /closed/.test(e.message));
  await assert.rejects(pool2.matmul(new Float32Array(1), new Float32Array(1), 1, 1, 1), (e) => /closed/.test(e.message));
  await pool2.close(); // twice is fine
});

test(tag('pool: without SharedArrayBuffer it runs on the calling thread and says why'), { timeout: 30_000 }, () => {
  const script = `
    const lib = await import(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)});
    const pool = await lib.createPool({ threads: 4 });
    const q = new Float32Array(2 * 16 * 4).map((_, i) => Math.sin(i));
    const o = { shape: [1, 2, 16, 4], landmarks: 4 };
    const a = await pool.nystromAttention(q, q, q, o), b = lib.nystromAttention(q, q, q, o);
    console.log(JSON.stringify({ threads: pool.threads, reason: pool.reason, same: a.every((x, i) => Object.is(x, b[i])) }));
    await pool.close();`;
  const flags = BUILD === 'relaxed' ? ['--experimental-wasm-relaxed-simd'] : [];
  const r = spawnSync(process.execPath, [...flags, '--no-harmony-sharedarraybuffer', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 25_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
  assert.equal(out.threads, 1);
  assert.match(out.reason, /SharedArrayBuffer/);
  assert.equal(out.same, true);
});

test(tag('pool: the parts of q a one-head call writes in turn hold whole landmark segments'), async () => {
  const { qParts, Q_PARTS } = await import('../../dist/schedule.js');
  const { planCall } = await import('../../dist/plan.js');
  const { checkCall } = await import('../../dist/validate.js');
  let checked = 0;
  for (const n of [4, 7, 20, 63, 64, 65, 300, 1100, 4097]) {
    for (const m of [4, 5, 8, 20, 64]) {
      for (const remainder of ['pad', 'uneven']) {
        if (remainder === 'uneven' && m > n) continue;
        const c = checkCall('nystromAttention', 'nystrom', [], { shape: [1, 1, n, 8], landmarks: m, remainder, style: 'lucidrains' }, () => 0);
        const plan = planCall('nystrom', c, 'attention', 2);
        const rows = qParts(c, plan);
        assert.ok(rows, `parts for n=${n} m=${m} ${remainder}`);
        // Segment lengths from the definition (ALGORITHM.md): equal, or ⌊np/m⌋ and one more.
        const { pad, np } = plan.geo;
        const s = Math.floor(np / m), short = (s + 1) * m - np;
        const lens = Array.from({ length: m }, (_, j) => (remainder === 'uneven' ? (j < short ? s : s + 1) : np / m));
        const start = [0];
        for (const l of lens) start.push(start.at(-1) + l);
        assert.equal(start[m], np);
        assert.equal(rows.length, Q_PARTS + 1);
        assert.equal(rows[0], 0);
        assert.equal(rows[Q_PARTS], n);
        for (let g = 0; g < Q_PARTS; g++) {
          for (let j = Math.floor((g * m) / Q_PARTS); j < Math.floor(((g + 1) * m) / Q_PARTS); j++) {
            const r0 = Math.max(0, start[j] - pad), r1 = start[j + 1] - pad;
            assert.ok(r1 <= r0 || (rows[g] <= r0 && r1 <= rows[g + 1]), `n=${n} m=${m} ${remainder}: segment ${j} rows [${r0}, ${r1}) outside part ${g} [${rows[g]}, ${rows[g + 1]})`);
            checked++;
          }
        }
      }
    }
  }
  assert.ok(checked > 500, `${checked} segments checked`);
});

test(tag('pool: calls below inlineBelow run on the calling thread with the same bits; bad inlineBelow is refused'), { timeout: 30_000 }, async () => {
  await withPool({ threads: 2 }, async (pool) => {
    // A call big enough for the workers, then small ones: lastTimes (the workers' report of the last
    // call they ran) stays that of the big call.
    const big = makeQKV([1, 1, 4096, 64], 11);
    const bigOpts = { shape: [1, 1, 4096, 64], landmarks: 64 };
    assertBitsEqual(await pool.nystromAttention(big.q, big.k, big.v, bigOpts), lib.nystromAttention(big.q, big.k, big.v, bigOpts), 'big');
    const ran = pool.lastTimes;
    assert.equal(ran.length, 2, 'the big call ran on both workers');
    const { q, k, v } = makeQKV([2, 2, 100, 16], 12);
    const o = { shape: [2, 2, 100, 16], landmarks: 10, convWeight: randn(6, 0.5, 3) };
    assertBitsEqual(await pool.nystromAttention(q, k, v, o), lib.nystromAttention(q, k, v, o), 'small Nyström');
    assertBitsEqual(await pool.softmaxAttention(q, k, v, { shape: o.shape }), lib.softmaxAttention(q, k, v, { shape: o.shape }), 'small exact');
    const a = randn(64 * 4096, 1, 1), b = randn(4096 * 64, 1, 2);
    assertBitsEqual(await pool.matmul(a, b, 64, 4096, 64), lib.matmul(a, b, 64, 4096, 64), 'small matmul');
    const plan = await pool.createAttention({ shape: o.shape, landmarks: 10 });
    assertBitsEqual(await plan.run(q, k, v), lib.nystromAttention(q, k, v, { shape: o.shape, landmarks: 10 }), 'small plan');
    plan.dispose();
    const bad = q.slice();
    bad[5] = NaN;
    await assert.rejects(pool.nystromAttention(bad, k, v, o), (e) => e instanceof RangeError && e.code === 'ERR_NOT_FINITE');
    assert.equal(pool.lastTimes, ran, 'no small call reached the workers');
  });
  for (const [x, Class] of [['1', TypeError], [-1, RangeError], [NaN, RangeError]]) {
    await assert.rejects(lib.createPool({ threads: 2, inlineBelow: x }), (e) => e instanceof Class && e.code === 'ERR_OPTION', String(x));
  }
});
