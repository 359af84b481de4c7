// Options and arguments: unknown names refused with the closest valid one, values named with their
// type and range, every error with a stable code; plan inputs that are views of the plan's own
// memory (in any role, or overlapping) give the mathematically right answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeQKV, randn, matmulRef, relFrobenius } from '../reference.js';
import { lib, tag, assertBitsEqual } from './helpers.js';

const SHAPE = [1, 2, 24, 5];
const { q, k, v } = makeQKV(SHAPE, 3);
const LEN = q.length;

function throwsCoded(fn, Class, code, pattern, what) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Class, `${what}: ${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.code, code, `${what}: code of "${e.message}"`);
    if (pattern) assert.match(e.message, pattern, what);
    return true;
  }, what);
}

test(tag('options: unknown names are a TypeError ERR_OPTION naming the key and the closest valid option'), async () => {
  await assert.rejects(lib.init({ biuld: 'simd' }), (e) => e instanceof TypeError && e.code === 'ERR_OPTION' && /did you mean 'build'/.test(e.message));
  const cases = [
    [() => lib.nystromAttention(q, k, v, { shape: SHAPE, num_landmarks: 8 }), /unknown option 'num_landmarks'.*did you mean 'landmarks'/],
    [() => lib.nystromAttention(q, k, v, { shape: SHAPE, landmark: 8 }), /unknown option 'landmark'.*did you mean 'landmarks'/],
    [() => lib.nystromAttention(q, k, v, { shape: SHAPE, pinv_iterations: 8 }), /did you mean 'pinvIterations'/],
    [() => lib.nystromAttention(q, k, v, { shape: SHAPE, attention_mask: [] }), /did you mean 'mask'/],
    [() => lib.softmaxAttention(q, k, v, { shape: SHAPE, stlye: 'hf' }), /unknown option 'stlye'.*did you mean 'style'/],
    [() => lib.softmaxAttention(q, k, v, { shape: SHAPE, zzz: 1 }), /unknown option 'zzz' in softmaxAttention options \(valid: /],
    [() => lib.nystromAttentionMatrix(q, k, { shape: SHAPE, Layout: 'bnhd' }), /did you mean 'layout'/],
    [() => lib.nystromAttentionFactors(q, k, { shape: SHAPE, out: new Float32Array(1) }), /unknown option 'out'/],
    [() => lib.createAttention({ shape: SHAPE, knd: 'softmax' }), /did you mean 'kind'/],
    [() => lib.createMatmul({ m: 2, k: 2, n: 2, transposeB: true }), /did you mean 'transB'/],
  ];
  for (const [fn, pattern] of cases) throwsCoded(fn, TypeError, 'ERR_OPTION', pattern, String(pattern));
  // The Nyström options are accepted by the exact calls (one options object serves both).
  const o = { shape: SHAPE, landmarks: 8, pinvIterations: 3, remainder: 'uneven' };
  assertBitsEqual(lib.softmaxAttention(q, k, v, o), lib.softmaxAttention(q, k, v, { shape: SHAPE }), 'softmax ignores Nyström options');
});

test(tag('options: values are named as what they are — BigInt, out of range with the range, NaN, ±0'), () => {
  const o = (x) => ({ shape: SHAPE, ...x });
  throwsCoded(() => lib.nystromAttention(q, k, v, o({ landmarks: 8n })), TypeError, 'ERR_OPTION', /landmarks must be an integer in \[1, 2147483647\] as a number, got the BigInt 8n/, 'BigInt');
  throwsCoded(() => lib.nystromAttention(q, k, v, o({ landmarks: 2 ** 31 })), RangeError, 'ERR_OPTION', /landmarks must be an integer in \[1, 2147483647\], got 2147483648/, '2^31');
  throwsCoded(() => lib.nystromAttention(q, k, v, o({ landmarks: NaN })), RangeError, 'ERR_OPTION', /got NaN/, 'NaN');
  throwsCoded(() => lib.nystromAttention(q, k, v, o({ landmarks: -0 })), RangeError, 'ERR_OPTION', /got -0/, '-0');
  throwsCoded(() => lib.nystromAttention(q, k, v, o({ pinvIterations: 1e6 })), RangeError, 'ERR_OPTION', /pinvIterations must be an integer in \[0, 10000\]/, 'iterations');
  throwsCoded(() => lib.nystromAttention(q, k, v, { shape: [1, 2, 24n, 5] }), TypeError, 'ERR_SHAPE', /seqLen.*BigInt 24n/, 'shape BigInt');
  throwsCoded(() => lib.nystromAttention(q, k, v, { shape: [1, 2, 24, 5.5] }), RangeError, 'ERR_SHAPE', /headDim/, 'shape fraction');
  throwsCoded(() => lib.nystromAttention(q, k, v, o({ layout: 'nhd' })), TypeError, 'ERR_OPTION', /layout must be one of 'bhnd', 'bnhd'/, 'layout');
  throwsCoded(() => lib.nystromAttention(q.subarray(1), k, v, o({})), RangeError, 'ERR_TENSOR', /q has 239 elements/, 'length');
  throwsCoded(() => lib.nystromAttention([...q], k, v, o({})), TypeError, 'ERR_TENSOR', /q must be a Float32Array, got an Array/, 'type');
  const bad = q.slice();
  bad[5] = Infinity;
  throwsCoded(() => lib.nystromAttention(bad, k, v, o({})), RangeError, 'ERR_NOT_FINITE', /q must be finite, got Infinity at index 5/, 'finite');
  throwsCoded(() => lib.selectBuild('avx'), TypeError, 'ERR_OPTION', /build must be 'simd' or 'relaxed'/, 'build');
  throwsCoded(() => lib.nystromAttention(q, k, v, null), TypeError, 'ERR_OPTION', /must be an object/, 'null options');
});

test(tag('options: getters run once, throwing getters and Proxy traps become TypeError ERR_OPTION'), () => {
  let reads = 0;
  const counted = { shape: SHAPE, get landmarks() { reads++; return 8; } };
  const want = lib.nystromAttention(q, k, v, { shape: SHAPE, landmarks: 8 });
  assertBitsEqual(lib.nystromAttention(q, k, v, counted), want, 'getter options');
  assert.equal(reads, 1, 'the getter ran once');
  throwsCoded(() => lib.nystromAttention(q, k, v, { shape: SHAPE, get landmarks() { throw new Error('boom'); } }), TypeError, 'ERR_OPTION', /reading 'landmarks' threw \(boom\)/, 'throwing getter');
  const trap = new Proxy({ shape: SHAPE }, { ownKeys() { throw new Error('no keys'); } });
  throwsCoded(() => lib.nystromAttention(q, k, v, trap), TypeError, 'ERR_OPTION', /listing its keys threw/, 'ownKeys trap');
  assertBitsEqual(lib.nystromAttention(q, k, v, { shape: SHAPE, landmarks: 8 }), want, 'after the errors');
});

test(tag('plans: inputs that are the plan\'s own views, in any role, give the right answer'), () => {
  for (const kind of ['nystrom', 'softmax']) {
    const plan = lib.createAttention({ shape: SHAPE, landmarks: 6, kind });
    const call = kind === 'nystrom' ? lib.nystromAttention : lib.softmaxAttention;
    const opts = { shape: SHAPE, landmarks: 6 };
    const views = () => ({ q: plan.inputs.q, k: plan.inputs.k, v: plan.inputs.v, out: plan.output });
    const roles = ['q', 'k', 'v', 'out'];
    for (const a of roles) for (const b of roles) for (const c of roles) {
      // Fill the plan's buffers with distinct contents, then pass its views in roles (a, b, c).
      plan.inputs.q.set(q); plan.inputs.k.set(k); plan.inputs.v.set(v); plan.output.set(randn(LEN, 1, 9));
      const V = views();
      const [x, y, z] = [V[a].slice(), V[b].slice(), V[c].slice()];
      const want = call(x, y, z, opts);
      assertBitsEqual(plan.run(V[a], V[b], V[c]), want, `${kind} run(${a}, ${b}, ${c})`);
    }
    // Overlapping views: a window shifted by one float across two regions.
    plan.inputs.q.set(q); plan.inputs.k.set(k); plan.inputs.v.set(v);
    const mem = plan.inputs.q.buffer;
    const shifted = new Float32Array(mem, plan.inputs.q.byteOffset + 4 * 7, LEN);
    const want = call(shifted.slice(), plan.inputs.q.slice(), plan.inputs.k.slice(), opts);
    assertBitsEqual(plan.run(shifted, plan.inputs.q, plan.inputs.k), want, `${kind} overlapping window`);
    plan.dispose();
  }
});

test(tag('matmul plans: operands that are the plan\'s own views, in any role, give the right answer'), () => {
  const n = 6;
  const plan = lib.createMatmul({ m: n, k: n, n });
  const A = randn(n * n, 1, 1), B = randn(n * n, 1, 2), C = randn(n * n, 1, 3);
  const roles = ['a', 'b', 'c'];
  for (const x of roles) for (const y of roles) {
    plan.a.set(A); plan.b.set(B); plan.c.set(C);
    const P = { a: plan.a, b: plan.b, c: plan.c };
    const [xa, yb] = [P[x].slice(), P[y].slice()];
    const got = plan.run(P[x], P[y]);
    assert.ok(relFrobenius(got, matmulRef(xa, yb, n, n, n)) < 1e-6, `run(${x}, ${y})`);
    assertBitsEqual(got, lib.matmul(xa, yb, n, n, n), `run(${x}, ${y}) = one-shot`);
  }
  plan.dispose();
});
