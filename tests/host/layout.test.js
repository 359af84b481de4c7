// The 'bnhd' layout: q, k, v and the attention output stored [B, n, H, d] (element (b, h, i, c) at
// ((b·n + i)·H + h)·d + c), shape still [B, H, n, d], mask still [B, n]; matrix and factor outputs
// always [B, H, …]. Contract: a 'bnhd' call returns exactly (bit for bit, on every row, masked rows
// included) the transpose of the 'bhnd' call on the transposed inputs. Checked over the 'layout'
// cases of tests/cases.js: every style × pinvInit × remainder × mask × conv, B and H > 1, d = 5, 7
// and 64; exact softmax attention, both matrix calls, createAttention plans and the factors.
// Also: an explicit 'bhnd' equals the default, and an unknown layout is a TypeError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { select, groups, materialize, makeMask, maskLabel, expectedError } from '../cases.js';
import { bhndToBnhd, bnhdToBhnd, nystromRef, makeQKV, randn } from '../reference.js';
import { lib, tag, bitsEqual, assertAll, compare } from './helpers.js';

const LAYOUT = groups(select('layout'));

/** Runs fn; { value } or { error }. */
function attempt(fn) {
  try {
    return { value: fn() };
  } catch (error) {
    return { error };
  }
}

/** First differing index of two Float32Arrays (bitwise), for a failure message. */
function firstDiff(a, b) {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  let i = 0;
  while (i < a.length && Object.is(a[i], b[i])) i++;
  return `first difference at [${i}]: ${a[i]} vs ${b[i]}`;
}

/** The RangeError a Nyström case must throw (remainder 'error' / 'uneven' rules), or undefined. */
function expectedFor(c) {
  if (c.kind === 'softmax' || c.kind === 'softmax-matrix') return undefined;
  const m = c.options.landmarks ?? 64;
  return expectedError(c.options.remainder ?? 'pad', c.shape[2], m);
}

/**
 * Compares the outcomes of the 'bhnd' and the 'bnhd' call of case c: where the case must throw, both
 * throw a RangeError; otherwise neither throws and `same(base, got)` holds. Returns an outcome for assertAll.
 */
function sameOutcome(c, base, got, same) {
  const say = (x) => (x.error ? `threw ${x.error.constructor.name}: ${x.error.message}` : 'returned a result');
  if (expectedFor(c)) {
    if (base.error instanceof RangeError && got.error instanceof RangeError) return { err: 0 };
    return { err: NaN, fail: `${c.name}: expected a RangeError in both layouts; 'bhnd' ${say(base)}, 'bnhd' ${say(got)}` };
  }
  if (base.error || got.error) return { err: NaN, fail: `${c.name}: 'bhnd' ${say(base)}, 'bnhd' ${say(got)}` };
  const why = same(base.value, got.value);
  return why ? { err: NaN, fail: `${c.name}: ${why}` } : { err: 0 };
}

const bitsOrWhy = (a, b, what) => {
  if (!(b instanceof Float32Array)) return `${what}: not a Float32Array (${b?.constructor?.name})`;
  return bitsEqual(a, b) ? null : `${what}: not bit-identical, ${firstDiff(a, b)}`;
};

/** nystromAttention / softmaxAttention: bnhd(T(q), T(k), T(v)) = T(bhnd(q, k, v)), with and without out. */
function attentionCase(c) {
  const { q, k, v, options } = materialize(c);
  const fn = c.kind === 'softmax' ? lib.softmaxAttention : lib.nystromAttention;
  const T = (x) => bhndToBnhd(x, c.shape);
  const [qT, kT, vT] = [T(q), T(k), T(v)];
  const [qT0, kT0, vT0] = [qT.slice(), kT.slice(), vT.slice()];
  const base = attempt(() => fn(q, k, v, options));
  const got = attempt(() => fn(qT, kT, vT, { ...options, layout: 'bnhd' }));
  return sameOutcome(c, base, got, (b, g) => {
    const why = bitsOrWhy(T(b), g, "'bnhd' vs transposed 'bhnd'");
    if (why) return why;
    // Explicit 'bhnd' is the default.
    const explicit = fn(q, k, v, { ...options, layout: 'bhnd' });
    const w2 = bitsOrWhy(b, explicit, "explicit 'bhnd' vs default");
    if (w2) return w2;
    // out is written in the 'bnhd' layout and returned.
    const out = new Float32Array(g.length).fill(NaN);
    const r = fn(qT, kT, vT, { ...options, layout: 'bnhd', out });
    if (r !== out) return "'bnhd' with out: out is not returned";
    const w3 = bitsOrWhy(g, out, "'bnhd' out vs fresh");
    if (w3) return w3;
    if (!bitsEqual(qT, qT0) || !bitsEqual(kT, kT0) || !bitsEqual(vT, vT0)) return "'bnhd' call modified its inputs";
    return null;
  });
}

/** Matrix calls: [B, H, n, n] in both layouts, bit-identical. */
function matrixCase(c) {
  const { q, k, options } = materialize(c);
  const fn = c.kind === 'softmax-matrix' ? lib.softmaxAttentionMatrix : lib.nystromAttentionMatrix;
  const base = attempt(() => fn(q, k, options));
  const got = attempt(() => fn(bhndToBnhd(q, c.shape), bhndToBnhd(k, c.shape), { ...options, layout: 'bnhd' }));
  return sameOutcome(c, base, got, (b, g) => {
    const [B, H, n] = c.shape;
    if (g.length !== B * H * n * n) return `'bnhd' matrix has ${g.length} entries, expected [B, H, n, n] = ${B * H * n * n}`;
    return bitsOrWhy(b, g, "'bnhd' matrix vs 'bhnd' matrix");
  });
}

/** Factors: every field identical (kernels bitwise), [B, H, …] in both layouts. */
function factorsCase(c) {
  const { q, k, options } = materialize(c);
  const base = attempt(() => lib.nystromAttentionFactors(q, k, options));
  const got = attempt(() => lib.nystromAttentionFactors(bhndToBnhd(q, c.shape), bhndToBnhd(k, c.shape), { ...options, layout: 'bnhd' }));
  return sameOutcome(c, base, got, (b, g) => {
    for (const key of ['kernel1', 'pinv', 'kernel3']) {
      const why = bitsOrWhy(b[key], g[key], `factors.${key}`);
      if (why) return why;
    }
    for (const key of ['rows', 'pad', 'landmarks']) if (b[key] !== g[key]) return `factors.${key}: ${b[key]} vs ${g[key]}`;
    if (String([...g.shape]) !== String(c.shape)) return `factors.shape [${[...g.shape]}], expected [${c.shape}]`;
    return null;
  });
}

for (const [title, cases] of LAYOUT) {
  const kinds = new Set(cases.map((c) => c.kind));
  if (kinds.has('plan')) continue;
  test(tag(title), (t) => {
    const outcomes = cases.map((c) => {
      try {
        if (c.kind === 'nystrom' || c.kind === 'softmax') return attentionCase(c);
        if (c.kind === 'nystrom-matrix' || c.kind === 'softmax-matrix') return matrixCase(c);
        if (c.kind === 'factors') return factorsCase(c);
        return { err: NaN, fail: `${c.name}: unknown kind ${c.kind}` };
      } catch (e) {
        return { err: NaN, fail: `${c.name}: threw ${e?.constructor?.name}: ${e?.message}` };
      }
    });
    assertAll(t, outcomes);
  });
}

test(tag('layout: createAttention plans (run, run(out), runInPlace, setMask) in bnhd'), (t) => {
  const cases = LAYOUT.get('layout: createAttention plans (run, run(out), runInPlace, setMask) in bnhd');
  assert.ok(cases?.length, 'plan cases in tests/cases.js');
  const outcomes = [];
  for (const c of cases) {
    const { q, k, v, options } = materialize(c);
    const [B, , n] = c.shape;
    const T = (x) => bhndToBnhd(x, c.shape);
    const [qT, kT, vT] = [T(q), T(k), T(v)];
    const oneShot = c.planKind === 'softmax' ? lib.softmaxAttention : lib.nystromAttention;
    const fails = [];
    const expect = (got, want, what) => {
      const why = bitsOrWhy(want, got, what);
      if (why) fails.push(why);
    };
    const want = T(oneShot(q, k, v, options));
    const plan = lib.createAttention({ ...options, kind: c.planKind, layout: 'bnhd' });
    try {
      assert.deepEqual([...plan.shape], c.shape, `${c.name}: plan.shape stays [B, H, n, d]`);
      expect(plan.run(qT, kT, vT), want, 'run');
      const out = new Float32Array(q.length).fill(NaN);
      if (plan.run(qT, kT, vT, out) !== out) fails.push('run(out) does not return out');
      expect(out, want, 'run(out)');
      // The one-shot 'bnhd' call on the same data.
      expect(oneShot(qT, kT, vT, { ...options, layout: 'bnhd' }), want, "one-shot 'bnhd'");
      // Zero copy: the inputs are 'bnhd' too.
      plan.inputs.q.set(qT); plan.inputs.k.set(kT); plan.inputs.v.set(vT);
      expect(plan.runInPlace(), want, 'runInPlace');
      expect(plan.output, want, 'plan.output');
      expect(plan.run(plan.inputs.q, plan.inputs.k, plan.inputs.v), want, 'run on the plan views');
      // setMask: another mask, then none, then the original again.
      const other = makeMask(maskLabel(c) === 'inner' ? 'trailing' : 'inner', B, n, Math.max(1, Math.ceil(n / (options.landmarks ?? 64))));
      plan.setMask(other);
      expect(plan.run(qT, kT, vT), T(oneShot(q, k, v, { ...options, mask: other })), 'after setMask(other)');
      plan.setMask(undefined);
      const noMask = { ...options };
      delete noMask.mask;
      expect(plan.run(qT, kT, vT), T(oneShot(q, k, v, noMask)), 'after setMask(undefined)');
      plan.setMask(options.mask);
      expect(plan.run(qT, kT, vT), want, 'after setMask(original)');
      // And the same plan options in 'bhnd' (explicit) give the untransposed result.
      const p2 = lib.createAttention({ ...options, kind: c.planKind, layout: 'bhnd' });
      try {
        expect(p2.run(q, k, v), oneShot(q, k, v, options), "explicit 'bhnd' plan");
      } finally {
        p2.dispose();
      }
    } catch (e) {
      fails.push(`threw ${e?.constructor?.name}: ${e?.message}`);
    } finally {
      plan.dispose();
    }
    outcomes.push(fails.length ? { err: NaN, fail: `${c.name}: ${fails.join('; ')}` } : { err: 0 });
  }
  assertAll(t, outcomes);
});

test(tag("layout: 'bnhd' results match the float64 reference (spot check through the transpose)"), (t) => {
  const outcomes = [];
  for (const style of ['authors', 'hf', 'lucidrains']) {
    const shape = [2, 3, 45, 7];
    const { q, k, v } = makeQKV(shape, 5900);
    const mask = makeMask('inner', 2, 45, 6);
    const o = { shape, style, landmarks: 8, mask, convWeight: randn(3 * 3, 0.5, 5901) };
    const T = (x) => bhndToBnhd(x, shape);
    const got = lib.nystromAttention(T(q), T(k), T(v), { ...o, layout: 'bnhd' });
    outcomes.push(compare(`${style} bnhd`, bnhdToBhnd(got, shape), nystromRef(q, k, v, o), { mask, shape, group: `${style} bnhd` }));
  }
  assertAll(t, outcomes);
});

test(tag('layout: an unknown layout is a TypeError in every function'), () => {
  const shape = [1, 2, 16, 4];
  const { q, k, v } = makeQKV(shape, 5950);
  const calls = {
    nystromAttention: (o) => lib.nystromAttention(q, k, v, { shape, landmarks: 4, ...o }),
    softmaxAttention: (o) => lib.softmaxAttention(q, k, v, { shape, ...o }),
    nystromAttentionMatrix: (o) => lib.nystromAttentionMatrix(q, k, { shape, landmarks: 4, ...o }),
    softmaxAttentionMatrix: (o) => lib.softmaxAttentionMatrix(q, k, { shape, ...o }),
    nystromAttentionFactors: (o) => lib.nystromAttentionFactors(q, k, { shape, landmarks: 4, ...o }),
    'createAttention nystrom': (o) => lib.createAttention({ shape, landmarks: 4, ...o }),
    'createAttention softmax': (o) => lib.createAttention({ shape, kind: 'softmax', ...o }),
  };
  for (const [name, call] of Object.entries(calls)) {
    for (const layout of ['nbhd', 'BNHD', 'bhdn', '', 'bnhd ', 1, null, {}, ['bnhd']]) {
      assert.throws(() => call({ layout }), TypeError, `${name} with layout ${JSON.stringify(layout)}`);
    }
    // Valid values (and undefined = the default) do not throw.
    for (const layout of [undefined, 'bhnd', 'bnhd']) {
      const r = call({ layout });
      if (r && typeof r.dispose === 'function') r.dispose();
    }
  }
  // The message names the option and the allowed values.
  assert.throws(() => calls.nystromAttention({ layout: 'nbhd' }), (e) => e instanceof TypeError && /layout/.test(e.message) && /bnhd/.test(e.message));
});

test(tag("layout: the mask stays [B, n] and input lengths are checked the same way in 'bnhd'"), () => {
  const shape = [2, 3, 20, 5];
  const { q, k, v } = makeQKV(shape, 5960);
  const o = { shape, landmarks: 4, layout: 'bnhd' };
  assert.throws(() => lib.nystromAttention(q, k, v, { ...o, mask: new Float32Array(2 * 3 * 20).fill(1) }), RangeError, 'a [B, H, n] mask is refused');
  assert.throws(() => lib.nystromAttention(q.subarray(1), k, v, o), RangeError, 'short q');
  assert.throws(() => lib.softmaxAttention(q, k, v.subarray(5), { ...o }), RangeError, 'short v');
  assert.throws(() => lib.nystromAttention(q, k, v, { ...o, out: new Float32Array(q.length - 1) }), RangeError, 'short out');
  // H = 1: the two layouts are the same memory order (bit-identical without transposing).
  const s1 = [2, 1, 20, 5];
  const x = makeQKV(s1, 5961);
  const mask = makeMask('trailing', 2, 20);
  assert.ok(bitsEqual(
    lib.nystromAttention(x.q, x.k, x.v, { shape: s1, landmarks: 4, mask, layout: 'bnhd' }),
    lib.nystromAttention(x.q, x.k, x.v, { shape: s1, landmarks: 4, mask }),
  ), "H = 1: 'bnhd' equals 'bhnd' on the same arrays");
});
