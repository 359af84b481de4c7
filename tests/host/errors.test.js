// Invalid input: each case asserts the error class and a message that names the parameter, what
// was expected and what came. Convention (the library implements to it):
//   TypeError  — a wrong type (not a Float32Array, not an object/array, not a number) or an unknown
//                option string (style, pinvInit, remainder, build, kind);
//   RangeError — a value out of range: lengths, dims, landmarks, iterations, mask values,
//                conv kernel size, remainder constraints, NaN / ±Infinity in the inputs.
// After every error the next valid call must return exactly (bitwise) what it returned before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeQKV, randn } from '../reference.js';
import { lib, BUILD, tag, assertBitsEqual } from './helpers.js';

const { nystromAttention, softmaxAttention, matmul, matmulTransposed, createAttention } = lib;

const SHAPE = [2, 3, 50, 7];
const COUNT = 2 * 3 * 50 * 7; // 2100
const { q, k, v } = makeQKV(SHAPE, 7);
const MASK = new Float32Array(100).fill(1);
MASK.fill(0, 45, 50);
const OPTS = { shape: SHAPE, landmarks: 8, mask: MASK, convWeight: randn(3 * 3, 0.5, 8) };
const BASE = nystromAttention(q, k, v, OPTS);
const BASE_SM = softmaxAttention(q, k, v, OPTS);
const MA = randn(5 * 7, 1, 9);
const MB = randn(7 * 3, 1, 10);
const BASE_MM = matmul(MA, MB, 5, 7, 3);
const BASE_MMT = matmulTransposed(MA, MB.subarray(0, 3 * 7), 5, 7, 3);

/** Asserts fn throws Class with a message matching every regex; then the valid calls are unchanged. */
function expectError(what, fn, Class, patterns) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err !== undefined, `${what}: did not throw [${BUILD}]`);
  assert.ok(err instanceof Class, `${what}: threw ${err?.constructor?.name} (${err?.message}), expected ${Class.name} [${BUILD}]`);
  for (const p of patterns) assert.match(err.message, p, `${what}: message "${err.message}" should match ${p}`);
  assertBitsEqual(nystromAttention(q, k, v, OPTS), BASE, `${what}: nystromAttention after the error`);
  assertBitsEqual(softmaxAttention(q, k, v, OPTS), BASE_SM, `${what}: softmaxAttention after the error`);
  assertBitsEqual(matmul(MA, MB, 5, 7, 3), BASE_MM, `${what}: matmul after the error`);
  return err;
}

const ny = (over, qq = q, kk = k, vv = v) => () => nystromAttention(qq, kk, vv, { ...OPTS, ...over });
const sm = (over, qq = q, kk = k, vv = v) => () => softmaxAttention(qq, kk, vv, { ...OPTS, ...over });

test(tag('errors: q, k, v of the wrong length name the tensor, the expected and the actual length'), () => {
  for (const [name, args] of [
    ['q', [q.subarray(1), k, v]],
    ['k', [q, new Float32Array(COUNT + 7), v]],
    ['v', [q, k, new Float32Array(COUNT - 7)]],
  ]) {
    const actual = String(args[['q', 'k', 'v'].indexOf(name)].length);
    expectError(`nystrom ${name} length`, ny({}, ...args), RangeError, [new RegExp(`\\b${name}\\b`), /2100/, new RegExp(actual)]);
    expectError(`softmax ${name} length`, sm({}, ...args), RangeError, [new RegExp(`\\b${name}\\b`), /2100/, new RegExp(actual)]);
  }
});

test(tag('errors: inputs that are not Float32Array'), () => {
  const f64 = Float64Array.from(q);
  expectError('q Float64Array', ny({}, f64), TypeError, [/\bq\b/, /Float32Array/, /Float64Array/]);
  expectError('k plain array', ny({}, q, Array.from(k)), TypeError, [/\bk\b/, /Float32Array/, /Array/]);
  expectError('v null', ny({}, q, k, null), TypeError, [/\bv\b/, /Float32Array/, /null/]);
  expectError('softmax v null', () => softmaxAttention(q, k, null, OPTS), TypeError, [/\bv\b/, /Float32Array/, /null/]);
  expectError('v undefined', () => softmaxAttention(q, k, undefined, OPTS), TypeError, [/\bv\b/, /Float32Array/, /undefined/]);
  expectError('q string', sm({}, 'abc'), TypeError, [/\bq\b/, /Float32Array/, /string/]);
});

test(tag('errors: options missing or not an object, shape missing or of the wrong type'), () => {
  expectError('no options', () => nystromAttention(q, k, v), TypeError, [/options|shape/]);
  expectError('options a number', () => nystromAttention(q, k, v, 5), TypeError, [/options|shape/]);
  expectError('no shape', ny({ shape: undefined }), TypeError, [/shape/]);
  expectError('shape a string', ny({ shape: '2,3,50,7' }), TypeError, [/shape/]);
  expectError('softmax no shape', sm({ shape: undefined }), TypeError, [/shape/]);
});

test(tag('errors: bad shape (rank, zero / negative / fractional dims, product ≠ lengths)'), () => {
  expectError('rank 3', ny({ shape: [6, 50, 7] }), RangeError, [/shape/, /4/, /3/]);
  expectError('rank 5', ny({ shape: [1, 2, 3, 50, 7] }), RangeError, [/shape/, /4/, /5/]);
  expectError('zero batch', ny({ shape: [0, 3, 50, 7] }), RangeError, [/shape|batch/, /0/]);
  expectError('negative heads', ny({ shape: [2, -3, 50, 7] }), RangeError, [/shape|heads/, /-3/]);
  expectError('fractional seqLen', ny({ shape: [2, 3, 50.5, 7] }), RangeError, [/shape|seqLen/, /50\.5/]);
  expectError('NaN headDim', ny({ shape: [2, 3, 50, NaN] }), RangeError, [/shape|headDim/, /NaN/]);
  expectError('dims that do not match the lengths', ny({ shape: [2, 3, 49, 7] }), RangeError, [/\bq\b|length/, /2058/, /2100/]);
  expectError('softmax fractional', sm({ shape: [2, 3, 50, 3.5] }), RangeError, [/shape|headDim/, /3\.5/]);
});

test(tag('errors: landmarks < 1 or not an integer'), () => {
  expectError('landmarks 0', ny({ landmarks: 0 }), RangeError, [/landmarks/, /\b0\b/]);
  expectError('landmarks -4', ny({ landmarks: -4 }), RangeError, [/landmarks/, /-4/]);
  expectError('landmarks 2.5', ny({ landmarks: 2.5 }), RangeError, [/landmarks/, /2\.5/]);
  expectError('landmarks NaN', ny({ landmarks: NaN }), RangeError, [/landmarks/, /NaN/]);
  expectError('landmarks Infinity', ny({ landmarks: Infinity }), RangeError, [/landmarks/, /Infinity/]);
  expectError('landmarks "8"', ny({ landmarks: '8' }), TypeError, [/landmarks/, /number|integer/, /string|"8"/]);
});

test(tag('errors: pinvIterations negative or fractional'), () => {
  expectError('pinvIterations -1', ny({ pinvIterations: -1 }), RangeError, [/pinvIterations/, /-1/]);
  expectError('pinvIterations 1.5', ny({ pinvIterations: 1.5 }), RangeError, [/pinvIterations/, /1\.5/]);
  expectError('pinvIterations NaN', ny({ pinvIterations: NaN }), RangeError, [/pinvIterations/, /NaN/]);
  expectError('pinvIterations "6"', ny({ pinvIterations: '6' }), TypeError, [/pinvIterations/, /string|"6"/]);
});

test(tag('errors: unknown style / pinvInit / remainder name the value and the allowed ones'), () => {
  expectError('style', ny({ style: 'pytorch' }), TypeError, [/style/, /pytorch/, /authors/, /lucidrains/]);
  expectError('softmax style', sm({ style: 'HF' }), TypeError, [/style/, /HF/, /hf/]);
  expectError('pinvInit', ny({ pinvInit: 'identity' }), TypeError, [/pinvInit/, /identity/, /original/, /abs_rowcol/]);
  expectError('remainder', ny({ remainder: 'truncate' }), TypeError, [/remainder/, /truncate/, /pad/, /uneven/]);
  expectError('style a number', ny({ style: 1 }), TypeError, [/style/]);
});

test(tag("errors: remainder 'error' with n % m ≠ 0 (also n < m); 'uneven' with m > n"), () => {
  expectError('error 50 % 8', ny({ remainder: 'error' }), RangeError, [/50/, /\b8\b/, /landmarks|remainder|divide/]);
  expectError('error n < m', ny({ remainder: 'error', landmarks: 64 }), RangeError, [/50/, /64/]);
  expectError('uneven m > n', ny({ remainder: 'uneven', landmarks: 51 }), RangeError, [/50/, /51/, /landmarks|uneven/]);
  // The boundary cases are valid.
  const ok1 = nystromAttention(q, k, v, { ...OPTS, remainder: 'uneven', landmarks: 50 });
  assert.equal(ok1.length, COUNT);
  const ok2 = nystromAttention(q, k, v, { ...OPTS, remainder: 'error', landmarks: 10 });
  assert.equal(ok2.length, COUNT);
});

test(tag('errors: mask of the wrong length or with values other than 0/1'), () => {
  expectError('mask short', ny({ mask: new Float32Array(99).fill(1) }), RangeError, [/mask/, /100/, /99/]);
  expectError('mask long', sm({ mask: new Uint8Array(150).fill(1) }), RangeError, [/mask/, /100/, /150/]);
  for (const bad of [0.5, 2, -1, NaN]) {
    const mk = MASK.slice();
    mk[17] = bad;
    expectError(`mask value ${bad}`, ny({ mask: mk }), RangeError, [/mask/, new RegExp(String(bad).replace('.', '\\.').replace('-', '\\-'))]);
    expectError(`softmax mask value ${bad}`, sm({ mask: mk }), RangeError, [/mask/]);
  }
  expectError('mask a string', ny({ mask: 'ones' }), TypeError, [/mask/]);
});

test(tag('errors: convWeight length not heads·odd (even kernel), wrong type'), () => {
  expectError('conv even kernel', ny({ convWeight: new Float32Array(6) }), RangeError, [/convWeight|conv/, /even|odd/, /\b2\b/]);
  expectError('conv not a multiple of heads', ny({ convWeight: new Float32Array(7) }), RangeError, [/convWeight|conv/, /\b3\b/, /\b7\b/]);
  expectError('conv empty', ny({ convWeight: new Float32Array(0) }), RangeError, [/convWeight|conv/]);
  expectError('softmax conv even', sm({ convWeight: new Float32Array(12) }), RangeError, [/convWeight|conv/, /even|odd/]);
  expectError('conv Float64Array', ny({ convWeight: new Float64Array(9) }), TypeError, [/convWeight/, /Float32Array/]);
  const w = new Float32Array(9); w[4] = NaN;
  expectError('conv NaN', ny({ convWeight: w }), RangeError, [/convWeight/, /NaN|finite/]);
});

test(tag('errors: NaN / ±Infinity in q, k or v name the tensor'), () => {
  for (const [name, bad] of [['q', NaN], ['k', Infinity], ['v', -Infinity], ['q', Infinity], ['v', NaN]]) {
    const arrs = { q: q.slice(), k: k.slice(), v: v.slice() };
    arrs[name][1234] = bad;
    const word = Number.isNaN(bad) ? /NaN|finite/ : /Infinity|finite/;
    expectError(`nystrom ${name} ${bad}`, ny({}, arrs.q, arrs.k, arrs.v), RangeError, [new RegExp(`\\b${name}\\b`), word]);
    expectError(`softmax ${name} ${bad}`, sm({}, arrs.q, arrs.k, arrs.v), RangeError, [new RegExp(`\\b${name}\\b`), word]);
  }
  // A non-finite value in a masked row is still an error (the data is invalid, not unread).
  const qq = q.slice();
  qq[(0 * 3 + 0) * 50 * 7 + 47 * 7] = NaN; // batch 0 row 47 is masked
  expectError('NaN in a masked row', ny({}, qq), RangeError, [/\bq\b/]);
});

test(tag('errors: out of the wrong length or type'), () => {
  expectError('out short', ny({ out: new Float32Array(COUNT - 1) }), RangeError, [/\bout\b/, /2100/, /2099/]);
  expectError('softmax out long', sm({ out: new Float32Array(COUNT + 1) }), RangeError, [/\bout\b/, /2100/, /2101/]);
  expectError('out Float64Array', ny({ out: new Float64Array(COUNT) }), TypeError, [/\bout\b/, /Float32Array/]);
});

test(tag('errors: matmul / matmulTransposed with wrong lengths or non-integer dims'), () => {
  expectError('matmul a length', () => matmul(MA.subarray(1), MB, 5, 7, 3), RangeError, [/\ba\b/, /35/, /34/]);
  expectError('matmul b length', () => matmul(MA, MB.subarray(2), 5, 7, 3), RangeError, [/\bb\b/, /21/, /19/]);
  expectError('matmul fractional m', () => matmul(MA, MB, 2.5, 14, 3), RangeError, [/2\.5/]);
  expectError('matmul negative n', () => matmul(MA, MB, 5, 7, -3), RangeError, [/-3/]);
  expectError('matmul NaN k', () => matmul(MA, MB, 5, NaN, 3), RangeError, [/NaN/]);
  expectError('matmul out length', () => matmul(MA, MB, 5, 7, 3, new Float32Array(14)), RangeError, [/\bout\b/, /15/, /14/]);
  expectError('matmul a Float64Array', () => matmul(Float64Array.from(MA), MB, 5, 7, 3), TypeError, [/\ba\b/, /Float32Array/]);
  expectError('matmulTransposed b length', () => matmulTransposed(MA, MB.subarray(0, 20), 5, 7, 3), RangeError, [/\bb\b/, /21/, /20/]);
  expectError('matmulTransposed a length', () => matmulTransposed(MA.subarray(0, 30), MB.subarray(0, 21), 5, 7, 3), RangeError, [/\ba\b/, /35/, /30/]);
  assertBitsEqual(matmulTransposed(MA, MB.subarray(0, 21), 5, 7, 3), BASE_MMT, 'matmulTransposed after the errors');
});

test(tag('errors: plans validate at creation and per run; a disposed plan throws'), () => {
  expectError('plan bad shape', () => createAttention({ ...OPTS, shape: [2, 3, 0, 7] }), RangeError, [/shape|seqLen/, /\b0\b/]);
  expectError('plan unknown kind', () => createAttention({ ...OPTS, kind: 'linear' }), TypeError, [/kind/, /linear/, /nystrom/]);
  expectError('plan unknown build', () => createAttention({ ...OPTS, build: 'sse' }), TypeError, [/build/, /sse/, /simd/]);
  expectError('plan remainder error', () => createAttention({ ...OPTS, remainder: 'error' }), RangeError, [/50/, /\b8\b/]);
  const plan = createAttention(OPTS);
  const first = plan.run(q, k, v);
  assertBitsEqual(first, BASE, 'plan vs one-shot');
  expectError('plan run q short', () => plan.run(q.subarray(7), k, v), RangeError, [/\bq\b/, /2100/, /2093/]);
  assertBitsEqual(plan.run(q, k, v), first, 'plan after a bad run');
  expectError('plan run out short', () => plan.run(q, k, v, new Float32Array(3)), RangeError, [/\bout\b/, /2100/, /\b3\b/]);
  const vv = v.slice(); vv[0] = NaN;
  expectError('plan run NaN', () => plan.run(q, k, vv), RangeError, [/\bv\b/]);
  assertBitsEqual(plan.run(q, k, v), first, 'plan after the errors');
  plan.dispose();
  expectError('run after dispose', () => plan.run(q, k, v), Error, [/dispose/i]);
  expectError('runInPlace after dispose', () => plan.runInPlace(), Error, [/dispose/i]);
});
