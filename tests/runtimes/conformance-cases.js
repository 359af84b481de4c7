// Runtime conformance cases: the same small set of calls, run in every runtime the package
// claims (Node with and without relaxed SIMD, Deno, Bun, Chromium, a Web Worker, the installed
// tarball), each checked against the float64 reference in ../reference.js (the one the host
// tests use).
//
// Plain ESM with no imports but the reference and the case catalogue ../cases.js (which imports only
// the reference): no node: modules, no globals beyond the language, so a page, a worker and every
// CLI runtime load this very file.
//
// runCases(api) takes the package's namespace (the embedded build, or the /url subpath after
// `await init()`), and returns { passed, failed, build, details: [{ name, ok, error?, message }] }.
// Bar: relative Frobenius error <= 1e-5 over the unmasked rows (docs: ALGORITHM, section 4).

import {
  nystromRef,
  softmaxRef,
  nystromMatrixRef,
  softmaxMatrixRef,
  factorsToMatrix,
  bhndToBnhd,
  bnhdToBhnd,
  relFrobenius,
  rowKeepFromMask,
  makeQKV,
} from '../reference.js';
import { select, materialize } from '../cases.js';
import { smallConfig, randomCheckpoint, randomIds } from '../model/checkpoint.js';
import { referenceForward, referenceMaskedLM } from '../model/reference.js';

export const TOLERANCE = 1e-5;

/** Inputs for a shape: Q, K ~ N(0, 9), V ~ N(0, 1), as in ALGORITHM section 4 (the shared seeded stream). */
export const makeInputs = makeQKV;

/**
 * Relative Frobenius error of got against want over the rows whose mask entry is 1; layout
 * [B, H, n, cols] for any cols (head dim, or n for attention matrices); mask [B, n] or absent.
 */
export function relError(got, want, shape, mask) {
  return relFrobenius(got, want, rowKeepFromMask(mask ?? null, shape));
}

// The cases are the 'runtime' cases of ../cases.js: { name, kind, shape, options (no arrays), mask, conv, seed }.
// Together they cover every style, masks, conv, pad / uneven remainders, the exact-path special
// case (m equal to the padded length), every pinvInit, batch and heads > 1, SIMD tail sizes, both
// attention matrices, the [B, n, H, d] layout and the factors.
export const CASES = select('runtime');

function check(name, fn) {
  try {
    const message = fn();
    return { name, ok: true, message: message ?? 'ok' };
  } catch (e) {
    return { name, ok: false, error: String((e && e.stack) || e), message: String((e && e.message) || e) };
  }
}

function assertClose(got, want, shape, mask, what) {
  if (!(got instanceof Float32Array)) throw new Error(`${what}: expected a Float32Array, received ${got && got.constructor && got.constructor.name}`);
  if (got.length !== want.length) throw new Error(`${what}: expected length ${want.length}, received ${got.length}`);
  const err = relError(got, want, shape, mask);
  if (!(err <= TOLERANCE)) throw new Error(`${what}: relative Frobenius error ${err.toExponential(2)} > ${TOLERANCE}`);
  return `rel ${err.toExponential(2)}`;
}

function assertBitsEqual(got, want, what) {
  if (!(got instanceof Float32Array) || got.length !== want.length) throw new Error(`${what}: expected a Float32Array of length ${want.length}`);
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) throw new Error(`${what}: differs at [${i}]: ${got[i]} vs ${want[i]}`);
}

/**
 * One case: the library call against the float64 reference. With options.layout 'bnhd' the inputs
 * go in transposed, the result must be bit-identical to the 'bhnd' call (transposed back) and the
 * reference is evaluated on the 'bhnd' data.
 */
function runCase(api, c) {
  const { q, k, v, mask, options } = materialize(c);
  const bnhd = options.layout === 'bnhd';
  const refOptions = { ...options };
  delete refOptions.layout;
  const T = (x) => (bnhd ? bhndToBnhd(x, c.shape) : x);
  const msgs = [];
  if (c.kind === 'nystrom' || c.kind === 'softmax') {
    const fn = c.kind === 'softmax' ? api.softmaxAttention : api.nystromAttention;
    let got = fn(T(q), T(k), T(v), options);
    if (bnhd) {
      if (!(got instanceof Float32Array)) throw new Error(`expected a Float32Array, received ${got && got.constructor && got.constructor.name}`);
      got = bnhdToBhnd(got, c.shape);
      assertBitsEqual(got, fn(q, k, v, refOptions), "'bnhd' vs 'bhnd'");
      msgs.push('bnhd = bhnd bitwise');
    }
    const want = c.kind === 'softmax' ? softmaxRef(q, k, v, refOptions) : nystromRef(q, k, v, refOptions);
    msgs.push(assertClose(got, want, c.shape, mask, c.name));
  } else if (c.kind === 'nystrom-matrix' || c.kind === 'softmax-matrix') {
    const fn = c.kind === 'softmax-matrix' ? api.softmaxAttentionMatrix : api.nystromAttentionMatrix;
    const got = fn(T(q), T(k), options);
    if (bnhd) assertBitsEqual(got, fn(q, k, refOptions), "'bnhd' vs 'bhnd'");
    const want = c.kind === 'softmax-matrix' ? softmaxMatrixRef(q, k, refOptions) : nystromMatrixRef(q, k, refOptions);
    msgs.push(assertClose(got, want, c.shape, mask, c.name));
  } else if (c.kind === 'factors') {
    if (typeof api.nystromAttentionFactors !== 'function') throw new Error('nystromAttentionFactors is not exported');
    const f = api.nystromAttentionFactors(T(q), T(k), options);
    const matrix = api.nystromAttentionMatrix(q, k, refOptions);
    msgs.push(`product vs nystromAttentionMatrix ${assertClose(new Float32Array(factorsToMatrix(f)), matrix, c.shape, mask, 'kernel1·pinv·kernel3')}`);
    msgs.push(`vs reference ${assertClose(matrix, nystromMatrixRef(q, k, refOptions), c.shape, mask, 'matrix')}`);
  } else {
    throw new Error(`unknown case kind ${c.kind}`);
  }
  return msgs.join(', ');
}

function expectThrow(fn, what) {
  try { fn(); } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) return `${e.name}: ${e.message}`;
    throw new Error(`${what}: expected a TypeError or RangeError, received ${e && e.name}: ${e && e.message}`);
  }
  throw new Error(`${what}: expected an error, none thrown`);
}

/** Runs every case against api; never throws. */
export function runCases(api) {
  const details = [];
  let build = 'unknown';
  details.push(check('activeBuild', () => {
    build = api.activeBuild();
    if (build !== 'simd' && build !== 'relaxed') throw new Error(`activeBuild(): expected 'simd' or 'relaxed', received ${build}`);
    return build;
  }));

  for (const c of CASES) details.push(check(c.name, () => runCase(api, c)));

  // The HF model from a small random safetensors checkpoint, against the float64 reference.
  for (const [name, over, head] of [['model exact path (F16 checkpoint)', {}, 'base'], ['model Nyström path', { num_landmarks: 4 }, 'base'], ['MaskedLM logits', { num_landmarks: 4 }, 'mlm']]) {
    details.push(check(name, () => {
      if (typeof api.NystromformerModel !== 'object' && typeof api.NystromformerModel !== 'function') throw new Error('NystromformerModel is not exported');
      const config = smallConfig(over);
      const { bytes, weights } = randomCheckpoint(config, { head, dtype: head === 'base' && !over.num_landmarks ? 'F16' : 'F32', seed: 5 });
      const ids = randomIds(config, 2, 12, 3);
      const attentionMask = [Array(12).fill(1), [...Array(9).fill(1), 0, 0, 0]];
      const model = (head === 'mlm' ? api.NystromformerForMaskedLM : api.NystromformerModel).fromSafetensors(bytes, config);
      try {
        const got = model.forward(ids, { attentionMask });
        if (head === 'mlm') return assertClose(got.logits, referenceMaskedLM(weights, config, ids, { attentionMask }).logits, [2, 1, 12, config.vocab_size], null, name);
        return assertClose(got.lastHiddenState, referenceForward(weights, config, ids, { attentionMask }).lastHiddenState, [2, 1, 12, config.hidden_size], null, name);
      } finally {
        model.dispose();
      }
    }));
  }

  details.push(check('out option is written and returned', () => {
    const shape = [1, 2, 32, 8];
    const { q, k, v } = makeInputs(shape, 7);
    const out = new Float32Array(2 * 32 * 8);
    const got = api.nystromAttention(q, k, v, { shape, landmarks: 8, out });
    if (got !== out) throw new Error('expected the out array to be returned');
    return assertClose(out, nystromRef(q, k, v, { shape, landmarks: 8 }), shape, null, 'out');
  }));

  details.push(check('createAttention plans, interleaved', () => {
    const shape = [1, 2, 48, 16];
    const a = makeInputs(shape, 21), b = makeInputs(shape, 22);
    const ny = api.createAttention({ shape, landmarks: 8, style: 'hf' });
    const ex = api.createAttention({ shape, kind: 'softmax' });
    try {
      const msgs = [];
      for (const x of [a, b, a]) {
        msgs.push(assertClose(ny.run(x.q, x.k, x.v).slice(), nystromRef(x.q, x.k, x.v, { shape, landmarks: 8, style: 'hf' }), shape, null, 'nystrom plan'));
        msgs.push(assertClose(ex.run(x.q, x.k, x.v).slice(), softmaxRef(x.q, x.k, x.v, { shape }), shape, null, 'softmax plan'));
      }
      return msgs.join(', ');
    } finally {
      ny.dispose();
      ex.dispose();
    }
  }));

  details.push(check('invalid input throws TypeError/RangeError', () => {
    const shape = [1, 1, 20, 8];
    const { q, k, v } = makeInputs(shape, 41);
    return [
      expectThrow(() => api.nystromAttention(q, k, v, { shape, landmarks: 8, remainder: 'error' }), "remainder 'error'"),
      expectThrow(() => api.nystromAttention(q, k, v, { shape, landmarks: 4, style: 'nope' }), 'unknown style'),
      expectThrow(() => api.nystromAttention(q.subarray(1), k, v, { shape, landmarks: 4 }), 'short q'),
      expectThrow(() => api.softmaxAttention(q, k, v, { shape: [1, 1, 20] }), 'shape of 3'),
    ].join(' | ');
  }));

  const failed = details.filter((x) => !x.ok).length;
  return { passed: details.length - failed, failed, build, details };
}

/** One line per case plus the summary lines every runner prints. */
export function formatResult(label, result) {
  const lines = result.details.map((x) => `${x.ok ? 'ok  ' : 'FAIL'} ${x.name}: ${x.message}`);
  lines.push(`runtime: ${label}`, `build: ${result.build}`, `${result.passed} passed, ${result.failed} failed`);
  return lines.join('\n');
}

/**
 * The pool (createPool) on the runtime cases and a few matmuls: every result bit-identical to the
 * synchronous call of the same build. Resolves { passed, failed, build, threads, reason, details }; never throws.
 */
export async function runPoolCases(api, { threads = 2 } = {}) {
  const details = [];
  let pool;
  try {
    pool = await api.createPool({ threads, inlineBelow: 0 }); // every case on the workers, however small
  } catch (e) {
    return { passed: 0, failed: 1, build: 'none', threads: 0, details: [{ name: 'createPool', ok: false, message: String((e && e.stack) || e) }] };
  }
  const add = async (name, fn) => {
    try {
      details.push({ name, ok: true, message: (await fn()) ?? 'ok' });
    } catch (e) {
      details.push({ name, ok: false, error: String((e && e.stack) || e), message: String((e && e.message) || e) });
    }
  };
  for (const c of CASES.filter((x) => x.kind === 'nystrom' || x.kind === 'softmax')) {
    await add(`pool ${c.name}`, async () => {
      const { q, k, v, options } = materialize(c);
      const call = c.kind === 'softmax' ? 'softmaxAttention' : 'nystromAttention';
      const want = api[call](q, k, v, options);
      assertBitsEqual(await pool[call](q, k, v, options), want, 'pool vs synchronous');
      return 'bit-identical';
    });
  }
  for (const [m, k, n] of [[7, 13, 5], [64, 64, 64], [100, 40, 3]]) {
    await add(`pool matmul ${m}x${k}x${n}`, async () => {
      const a = new Float32Array(m * k).map((_, i) => Math.sin(i * 0.37));
      const b = new Float32Array(k * n).map((_, i) => Math.cos(i * 0.11));
      assertBitsEqual(await pool.matmul(a, b, m, k, n), api.matmul(a, b, m, k, n), 'matmul');
      assertBitsEqual(await pool.matmulTransposed(a, b, m, k, n), api.matmulTransposed(a, b, m, k, n), 'matmulTransposed');
      return 'bit-identical';
    });
  }
  // An attention plan on the pool: run and runInPlace (zero copy) give the synchronous call's bits.
  for (const c of CASES.filter((x) => x.kind === 'nystrom').slice(0, 2)) {
    await add(`pool plan ${c.name}`, async () => {
      const { q, k, v, options } = materialize(c);
      const want = api.nystromAttention(q, k, v, options);
      const { out: _out, ...planOptions } = options;
      const plan = await pool.createAttention(planOptions);
      try {
        assertBitsEqual(await plan.run(q, k, v), want, 'plan.run');
        plan.inputs.q.set(q);
        plan.inputs.k.set(k);
        plan.inputs.v.set(v);
        assertBitsEqual(await plan.runInPlace(), want, 'plan.runInPlace');
      } finally {
        plan.dispose();
      }
      return 'bit-identical';
    });
  }
  // The HF model loaded on the pool: forwardAsync on the workers, bit-identical to the model alone.
  for (const [name, over, head] of [['pool model exact path', {}, 'base'], ['pool MaskedLM Nyström path', { num_landmarks: 4 }, 'mlm']]) {
    await add(name, async () => {
      const config = smallConfig(over);
      const { bytes } = randomCheckpoint(config, { head, seed: 9 });
      const Model = head === 'mlm' ? api.NystromformerForMaskedLM : api.NystromformerModel;
      const alone = Model.fromSafetensors(bytes, config, { build: pool.build });
      const pooled = Model.fromSafetensors(bytes, config, { pool });
      try {
        const ids = randomIds(config, 2, 21, 4);
        const attentionMask = [Array(21).fill(1), [...Array(17).fill(1), 0, 0, 0, 0]];
        const want = alone.forward(ids, { attentionMask, outputHiddenStates: true });
        const got = await pooled.forwardAsync(ids, { attentionMask, outputHiddenStates: true });
        assertBitsEqual(got.lastHiddenState, want.lastHiddenState, 'lastHiddenState');
        want.hiddenStates.forEach((h, i) => assertBitsEqual(got.hiddenStates[i], h, `hidden state ${i}`));
        if (head === 'mlm') assertBitsEqual(got.logits, want.logits, 'logits');
        return 'bit-identical';
      } finally {
        alone.dispose();
        pooled.dispose();
      }
    });
  }
  const info = { build: pool.build, threads: pool.threads, reason: pool.reason };
  await pool.close();
  const passed = details.filter((d) => d.ok).length;
  return { passed, failed: details.length - passed, ...info, details };
}
