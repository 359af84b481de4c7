// The public API against the float64 reference of ALGORITHM.md (tests/reference.js).
// Bar: relative Frobenius error ≤ 1e-5 over unmasked output rows (ALGORITHM.md §4).
// Inputs: Q, K ~ N(0, 9), V ~ N(0, 1). Every test name carries the build that ran.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  nystromRef, softmaxRef, matmulRef, matmulTransposedRef, relFrobenius, makeQKV, randn,
  STYLES, PINV_INITS,
} from '../reference.js';
import { select, groups, materialize } from '../cases.js';
import { lib, BUILD, TOL, tag, compare, assertAll, assertBitsEqual, bitsEqual, makeMask, worstTable, atFloat32Limit, EMULATION_FACTOR } from './helpers.js';

const { nystromAttention, softmaxAttention, matmul, matmulTransposed, createAttention } = lib;

// The grids are the 'host' cases of tests/cases.js (shapes, options, masks, seeds), one test per group.
const HOST = groups(select('host'));
const ran = new Set();
const casesOf = (title) => {
  const cs = HOST.get(title);
  if (!cs) throw new Error(`tests/cases.js has no host group '${title}'`);
  ran.add(title);
  return cs;
};

/** Runs one Nyström case against the reference; returns a comparison outcome. */
function nyCase(c) {
  const { q, k, v, mask, options: o } = materialize(c);
  const name = c.name;
  if (c.expect) {
    try {
      nystromAttention(q, k, v, o);
    } catch (e) {
      if (e instanceof RangeError) return { err: 0 };
      return { err: NaN, fail: `${name}: threw ${e?.constructor?.name}, expected RangeError` };
    }
    return { err: NaN, fail: `${name}: did not throw` };
  }
  let got;
  try {
    got = nystromAttention(q, k, v, o);
  } catch (e) {
    return { err: NaN, fail: `${name}: threw ${e?.constructor?.name}: ${e?.message}` };
  }
  const want = nystromRef(q, k, v, o);
  return compare(name, got, want, { mask, shape: c.shape, group: o.style, emulate: () => nystromRef(q, k, v, { ...o, emulateF32: true }) });
}

/** Runs one exact softmax attention case against the reference. */
function softmaxCase(c) {
  const { q, k, v, mask, options: o } = materialize(c);
  let got;
  try {
    got = softmaxAttention(q, k, v, o);
  } catch (e) {
    return { err: NaN, fail: `${c.name}: threw ${e?.constructor?.name}: ${e?.message}` };
  }
  return compare(c.name, got, softmaxRef(q, k, v, o), { mask, shape: c.shape, group: 'softmax' });
}

// ---------------------------------------------------------------------------------------------
// The Nyström grids: style × pinvInit × remainder × shapes × masks; iterations; conv; headDim;
// landmark edge cases; long sequences (tests/cases.js, 'host' groups starting with "nystrom").

for (const [title, cases] of HOST) {
  if (!cases.every((c) => c.kind === 'nystrom')) continue;
  test(tag(title), (t) => {
    assertAll(t, casesOf(title).map(nyCase));
  });
}

test(tag("nystrom: 'original' / 'abs_rowcol' couple batch and heads; 'exact' / 'paper' do not"), (t) => {
  // Batch 1 gets much flatter logits than batch 0, so the per-call maximum differs from the per-head one.
  const shape = [2, 3, 48, 6];
  const { q, k, v } = makeQKV(shape, 901);
  const half = q.length / 2;
  for (let i = half; i < q.length; i++) { q[i] *= 0.05; k[i] *= 0.05; }
  const per = 48 * 6;
  const outcomes = [];
  for (const style of STYLES) {
    for (const pinvInit of PINV_INITS) {
      const o = { shape, style, landmarks: 8, pinvInit };
      const got = nystromAttention(q, k, v, o);
      const want = nystromRef(q, k, v, o);
      outcomes.push(compare(`${style} ${pinvInit} joint`, got, want, { shape, group: style }));
      // The same heads run one by one.
      const solo = new Float64Array(q.length);
      for (let i = 0; i < 6; i++) {
        const s = (x) => x.slice(i * per, (i + 1) * per);
        solo.set(nystromRef(s(q), s(k), s(v), { ...o, shape: [1, 1, 48, 6] }), i * per);
      }
      const coupled = pinvInit === 'original' || pinvInit === 'abs_rowcol';
      const diff = relFrobenius(solo, want);
      if (coupled) assert.ok(diff > 1e-3, `${style} ${pinvInit}: the test must discriminate (${diff})`);
      else assert.ok(diff < 1e-12, `${style} ${pinvInit}: per-head init must not couple (${diff})`);
    }
  }
  assertAll(t, outcomes);
});

test(tag('nystrom: masks of every MaskLike type give the same result'), (t) => {
  const shape = [2, 2, 30, 5];
  const { q, k, v } = makeQKV(shape, 950);
  const mask = makeMask('inner', 2, 30, 4);
  const base = nystromAttention(q, k, v, { shape, mask, landmarks: 8, style: 'lucidrains' });
  for (const M of [Float64Array, Uint8Array, Int8Array, Int32Array, Uint32Array, Uint16Array, Int16Array, Array]) {
    const mk = M === Array ? Array.from(mask) : M.from(mask);
    const got = nystromAttention(q, k, v, { shape, mask: mk, landmarks: 8, style: 'lucidrains' });
    assertBitsEqual(got, base, `mask as ${M.name}`);
  }
  const all1 = nystromAttention(q, k, v, { shape, mask: new Float32Array(60).fill(1), landmarks: 8, style: 'lucidrains' });
  const ref = nystromRef(q, k, v, { shape, mask: new Float32Array(60).fill(1), landmarks: 8, style: 'lucidrains' });
  assertAll(t, [compare('all-ones mask', all1, ref, { group: 'lucidrains' })]);
});

test(tag('nystrom: defaults equal the explicit defaults bitwise'), () => {
  const shape = [2, 2, 70, 8];
  const { q, k, v } = makeQKV(shape, 960);
  const d0 = nystromAttention(q, k, v, { shape });
  const d1 = nystromAttention(q, k, v, { shape, style: 'authors', landmarks: 64, pinvIterations: 6, pinvInit: 'original', remainder: 'pad' });
  assertBitsEqual(d0, d1, 'authors defaults');
  const l0 = nystromAttention(q, k, v, { shape, style: 'lucidrains' });
  const l1 = nystromAttention(q, k, v, { shape, style: 'lucidrains', landmarks: 64, pinvIterations: 6, pinvInit: 'abs_rowcol', remainder: 'pad' });
  assertBitsEqual(l0, l1, 'lucidrains defaults');
  const h0 = nystromAttention(q, k, v, { shape, style: 'hf' });
  const h1 = nystromAttention(q, k, v, { shape, style: 'hf', pinvInit: 'original' });
  assertBitsEqual(h0, h1, 'hf defaults');
});

// ---------------------------------------------------------------------------------------------
// Exact softmax attention

for (const title of ['softmaxAttention per style × mask × conv', 'softmaxAttention n = 1024 per style']) {
  test(tag(title), (t) => {
    assertAll(t, casesOf(title).map(softmaxCase));
  });
}

test(tag('softmaxAttention default style is authors'), () => {
  const shape = [2, 2, 19, 5];
  const { q, k, v } = makeQKV(shape, 1150);
  const mask = makeMask('trailing', 2, 19);
  assertBitsEqual(softmaxAttention(q, k, v, { shape, mask }), softmaxAttention(q, k, v, { shape, mask, style: 'authors' }), 'default style');
});

// ---------------------------------------------------------------------------------------------
// matmul / matmulTransposed

function mmCheck(name, got, a, b, m, k, n, trans) {
  const want = trans ? matmulTransposedRef(a, b, m, k, n) : matmulRef(a, b, m, k, n);
  // Element bound valid for any summation order, with or without fma: 2·k·u·Σ|a||b|.
  const bound = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += Math.abs(a[i * k + p] * (trans ? b[j * k + p] : b[p * n + j]));
      bound[i * n + j] = 2 * (k + 1) * 2 ** -24 * s + 1e-30;
    }
  }
  for (let i = 0; i < m * n; i++) {
    if (!(Math.abs(got[i] - want[i]) <= bound[i])) {
      return { err: NaN, fail: `${name}: C[${i}] = ${got[i]}, expected ${want[i]} ± ${bound[i]}` };
    }
  }
  return compare(name, got, want, { group: 'matmul' });
}

test(tag('matmul and matmulTransposed vs a float64 triple loop on awkward sizes'), (t) => {
  const out = [];
  for (const { shape: [m, k, n], seed } of casesOf('matmul and matmulTransposed vs a float64 triple loop on awkward sizes')) {
    const a = randn(m * k, 1, seed);
    const b = randn(k * n, 1, seed + 1);
    out.push(mmCheck(`matmul ${m}x${k}x${n}`, matmul(a, b, m, k, n), a, b, m, k, n, false));
    out.push(mmCheck(`matmulTransposed ${m}x${k}x${n}`, matmulTransposed(a, b, m, k, n), a, b, m, k, n, true));
  }
  assertAll(t, out);
});

test(tag('matmul: out is written and returned (same object); no write past C'), () => {
  const [m, k, n] = [13, 11, 9];
  const a = randn(m * k, 1, 1300);
  const b = randn(k * n, 1, 1301);
  for (const f of [matmul, matmulTransposed]) {
    const fresh = f(a, b, m, k, n);
    const out = new Float32Array(m * n).fill(123);
    const r = f(a, b, m, k, n, out);
    assert.equal(r, out, `${f.name} returns out`);
    assertBitsEqual(r, fresh, `${f.name} out equals fresh`);
    // A subarray view into a bigger buffer: the neighbours stay untouched.
    const big = new Float32Array(m * n + 8).fill(-7);
    const view = big.subarray(4, 4 + m * n);
    assert.equal(f(a, b, m, k, n, view), view);
    assertBitsEqual(view, fresh, `${f.name} into a view`);
    for (const i of [0, 1, 2, 3, m * n + 4, m * n + 5, m * n + 6, m * n + 7]) assert.equal(big[i], -7, `${f.name} sentinel ${i}`);
  }
});

// ---------------------------------------------------------------------------------------------
// out, inputs, results

test(tag('nystromAttention / softmaxAttention: out is written and returned (same object)'), () => {
  const shape = [2, 2, 33, 7];
  const { q, k, v } = makeQKV(shape, 1400);
  const mask = makeMask('inner', 2, 33, 4);
  for (const style of STYLES) {
    const o = { shape, style, mask, landmarks: 8 };
    const fresh = nystromAttention(q, k, v, o);
    const out = new Float32Array(q.length).fill(NaN);
    const r = nystromAttention(q, k, v, { ...o, out });
    assert.equal(r, out, `${style}: nystromAttention returns out`);
    assertBitsEqual(r, fresh, `${style}: nystrom out equals fresh`);
    const sf = softmaxAttention(q, k, v, o);
    const out2 = new Float32Array(q.length).fill(NaN);
    assert.equal(softmaxAttention(q, k, v, { ...o, out: out2 }), out2, `${style}: softmaxAttention returns out`);
    assertBitsEqual(out2, sf, `${style}: softmax out equals fresh`);
  }
});

test(tag('inputs are not modified and results are not views a later call overwrites'), () => {
  const shape = [1, 2, 40, 8];
  const { q, k, v } = makeQKV(shape, 1500);
  const [q0, k0, v0] = [q.slice(), k.slice(), v.slice()];
  const mask = makeMask('trailing', 1, 40);
  const mask0 = mask.slice();
  const r1 = nystromAttention(q, k, v, { shape, mask, landmarks: 8, convWeight: randn(6, 1, 3) });
  const r1c = r1.slice();
  const s1 = softmaxAttention(q, k, v, { shape, mask });
  const s1c = s1.slice();
  const other = makeQKV(shape, 1501);
  nystromAttention(other.q, other.k, other.v, { shape, landmarks: 8 });
  softmaxAttention(other.q, other.k, other.v, { shape });
  assertBitsEqual(q, q0, 'q'); assertBitsEqual(k, k0, 'k'); assertBitsEqual(v, v0, 'v');
  assertBitsEqual(mask, mask0, 'mask');
  assertBitsEqual(r1, r1c, 'nystrom result survives the next call');
  assertBitsEqual(s1, s1c, 'softmax result survives the next call');
});

test(tag('inputs, mask and out as unaligned subarray views; aliased q = k = v and out = v'), () => {
  const shape = [2, 2, 41, 5];
  const count = 2 * 2 * 41 * 5;
  const { q, k, v } = makeQKV(shape, 1520);
  const mask = makeMask('inner', 2, 41, 5);
  for (const style of STYLES) {
    const o = { shape, style, landmarks: 6, mask, convWeight: randn(2 * 3, 0.5, 1521) };
    const base = nystromAttention(q, k, v, o);
    const baseSm = softmaxAttention(q, k, v, o);
    // Views at odd float offsets into larger buffers (byteOffset not a multiple of 16).
    const view = (x, off) => {
      const big = new Float32Array(x.length + off + 3).fill(99);
      big.set(x, off);
      return big.subarray(off, off + x.length);
    };
    const mv = new Float32Array(mask.length + 5).fill(1);
    mv.set(mask, 3);
    const ov = view(new Float32Array(count), 1);
    const r = nystromAttention(view(q, 1), view(k, 2), view(v, 3), { ...o, mask: mv.subarray(3, 3 + mask.length), out: ov });
    assert.equal(r, ov);
    assertBitsEqual(r, base, `${style}: views`);
    const ovBuf = new Float32Array(ov.buffer);
    assert.equal(ovBuf[0], 99, `${style}: no write before the out view`);
    assert.equal(ovBuf[count + 1], 99, `${style}: no write after the out view`);
    assertBitsEqual(softmaxAttention(view(q, 5), view(k, 6), view(v, 7), o), baseSm, `${style}: softmax views`);
    // The same array for q, k and v.
    const x = q.slice();
    assertBitsEqual(nystromAttention(x, x, x, o), nystromAttention(q, q.slice(), q.slice(), o), `${style}: q = k = v`);
    // out aliasing an input: inputs are read before out is written.
    const vv = v.slice();
    assertBitsEqual(nystromAttention(q, k, vv, { ...o, out: vv }), base, `${style}: out = v`);
    const qq = q.slice();
    assertBitsEqual(softmaxAttention(qq, k, v, { ...o, out: qq }), baseSm, `${style}: softmax out = q`);
  }
  const a = randn(64, 1, 1522);
  const b = randn(64, 1, 1523);
  const fresh = matmul(a, b, 8, 8, 8);
  const a2 = a.slice();
  assertBitsEqual(matmul(a2, b, 8, 8, 8, a2), fresh, 'matmul out = a');
  const b2 = b.slice();
  assertBitsEqual(matmulTransposed(a, b2, 8, 8, 8, b2), matmulTransposed(a, b, 8, 8, 8), 'matmulTransposed out = b');
});

test(tag('the same call twice is bitwise deterministic'), () => {
  const shape = [2, 3, 77, 9];
  const { q, k, v } = makeQKV(shape, 1550);
  for (const style of STYLES) {
    const o = { shape, style, landmarks: 16, mask: makeMask('inner', 2, 77, 5) };
    assertBitsEqual(nystromAttention(q, k, v, o), nystromAttention(q, k, v, o), style);
  }
});

// ---------------------------------------------------------------------------------------------
// Plans

test(tag('plan.run equals the one-shot call; run(out) returns out; runInPlace equals run'), (t) => {
  const out = [];
  for (const pc of casesOf('plan.run equals the one-shot call; run(out) returns out; runInPlace equals run')) {
    const { q, k, v, mask, options: oneShotOpts } = materialize(pc);
    const c = { kind: pc.planKind, shape: pc.shape, style: pc.options.style };
    const opts = { ...oneShotOpts, kind: c.kind };
    const oneShot = c.kind === 'softmax' ? softmaxAttention(q, k, v, oneShotOpts) : nystromAttention(q, k, v, oneShotOpts);
    const plan = createAttention(opts);
    try {
      assert.equal(plan.build, BUILD, 'plan.build is the active build');
      assert.deepEqual([...plan.shape], c.shape);
      const r = plan.run(q, k, v);
      assertBitsEqual(r, oneShot, `${c.kind} ${c.style} run vs one-shot`);
      const o = new Float32Array(q.length);
      assert.equal(plan.run(q, k, v, o), o, 'run returns out');
      assertBitsEqual(o, oneShot, 'run(out)');
      plan.inputs.q.set(q); plan.inputs.k.set(k); plan.inputs.v.set(v);
      const rp = plan.runInPlace();
      assertBitsEqual(rp, oneShot, `${c.kind} ${c.style} runInPlace`);
      assertBitsEqual(plan.output, oneShot, 'plan.output holds the result');
      // The plan's own views passed to run (zero copy).
      const rz = plan.run(plan.inputs.q, plan.inputs.k, plan.inputs.v);
      assertBitsEqual(rz, oneShot, 'run on the plan views');
      // A copied-out result of run survives the next runInPlace.
      const keep = r.slice();
      plan.inputs.q.fill(0.25);
      plan.runInPlace();
      assertBitsEqual(r, keep, 'run result is a copy');
      assert.ok(typeof plan.memoryBytes === 'number' && plan.memoryBytes > 0, 'memoryBytes');
      const ref = c.kind === 'softmax' ? softmaxRef(q, k, v, opts) : nystromRef(q, k, v, opts);
      out.push(compare(`plan ${c.kind} ${c.style} [${c.shape}]`, oneShot, ref, { mask, shape: c.shape, group: c.kind === 'softmax' ? 'softmax' : c.style }));
    } finally {
      plan.dispose();
    }
  }
  assertAll(t, out);
});

test(tag('two interleaved plans with different shapes do not disturb each other'), () => {
  const sa = [2, 2, 50, 7];
  const sb = [1, 3, 130, 16];
  const a = makeQKV(sa, 1700);
  const b = makeQKV(sb, 1701);
  const pa = createAttention({ shape: sa, landmarks: 8, style: 'authors' });
  const pb = createAttention({ shape: sb, landmarks: 32, style: 'lucidrains', mask: makeMask('trailing', 1, 130) });
  const ps = createAttention({ kind: 'softmax', shape: sa, style: 'hf' });
  try {
    const ra = pa.run(a.q, a.k, a.v);
    const rb = pb.run(b.q, b.k, b.v);
    const rs = ps.run(a.q, a.k, a.v);
    for (let round = 0; round < 3; round++) {
      pb.inputs.q.set(b.q); pb.inputs.k.set(b.k); pb.inputs.v.set(b.v);
      pa.inputs.q.set(a.q); pa.inputs.k.set(a.k); pa.inputs.v.set(a.v);
      assertBitsEqual(pb.runInPlace(), rb, `round ${round} b in place`);
      assertBitsEqual(pa.runInPlace(), ra, `round ${round} a in place`);
      assertBitsEqual(ps.run(a.q, a.k, a.v), rs, `round ${round} softmax`);
      assertBitsEqual(pa.run(a.q, a.k, a.v), ra, `round ${round} a`);
      assertBitsEqual(pb.run(b.q, b.k, b.v), rb, `round ${round} b`);
      // A one-shot call in between touches neither plan.
      nystromAttention(b.q, b.k, b.v, { shape: sb, landmarks: 13 });
    }
    assertBitsEqual(ra, nystromAttention(a.q, a.k, a.v, { shape: sa, landmarks: 8, style: 'authors' }), 'a vs one-shot');
  } finally {
    pa.dispose(); pb.dispose(); ps.dispose();
  }
});

test(tag('plan with build forced to simd matches the reference'), (t) => {
  const shape = [2, 2, 60, 8];
  const { q, k, v } = makeQKV(shape, 1800);
  const opts = { shape, landmarks: 16, style: 'authors', build: 'simd' };
  const plan = createAttention(opts);
  try {
    assert.equal(plan.build, 'simd');
    assertAll(t, [compare('forced simd plan', plan.run(q, k, v), nystromRef(q, k, v, opts), { shape, group: 'authors' })]);
  } finally {
    plan.dispose();
  }
});

test(tag('selectBuild: switch to simd and back; relaxed is refused where the engine cannot validate it'), (t) => {
  const shape = [1, 2, 40, 6];
  const { q, k, v } = makeQKV(shape, 1900);
  const opts = { shape, landmarks: 8 };
  const before = nystromAttention(q, k, v, opts);
  const ref = nystromRef(q, k, v, opts);
  const outcomes = [];
  if (BUILD === 'relaxed') {
    lib.selectBuild('simd');
    try {
      assert.equal(lib.activeBuild(), 'simd');
      outcomes.push(compare('after selectBuild(simd)', nystromAttention(q, k, v, opts), ref, { shape, group: 'authors' }));
    } finally {
      lib.selectBuild('relaxed');
    }
    assert.equal(lib.activeBuild(), 'relaxed');
  } else {
    assert.throws(() => lib.selectBuild('relaxed'), /relaxed/i);
    assert.throws(() => createAttention({ shape, build: 'relaxed' }), /relaxed/i);
    assert.equal(lib.activeBuild(), 'simd', 'a refused switch keeps the build');
    lib.selectBuild('simd');
    assert.equal(lib.activeBuild(), 'simd');
  }
  assert.throws(() => lib.selectBuild('avx512'), TypeError);
  assertBitsEqual(nystromAttention(q, k, v, opts), before, 'default instance result unchanged');
  outcomes.push(compare('default build', before, ref, { shape, group: 'authors' }));
  assertAll(t, outcomes);
});

test(tag("every 'host' group of tests/cases.js ran"), () => {
  const missed = [...HOST.keys()].filter((title) => !ran.has(title));
  assert.deepEqual(missed, [], `host groups no test ran: ${missed.join('; ')}`);
});

test(tag('summary of the worst errors per group'), (t) => {
  const table = worstTable();
  for (const line of table.split('\n')) t.diagnostic(`build=${BUILD} ${line}`);
  for (const line of atFloat32Limit) t.diagnostic(`build=${BUILD} past ${TOL} but within ${EMULATION_FACTOR}× plain float32: ${line}`);
  console.log(`conformance [${BUILD}] (tolerance ${TOL}):\n${table}`);
  assert.ok(table.length > 0);
  assert.ok(bitsEqual(new Float32Array([1]), new Float32Array([1])));
});
