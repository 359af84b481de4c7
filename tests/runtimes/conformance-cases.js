// Runtime conformance cases: the same small set of calls, run in every runtime the package
// claims (Node with and without relaxed SIMD, Deno, Bun, Chromium, a Web Worker, the installed
// tarball), each checked against the float64 reference in ../reference.js (the one the host
// tests use).
//
// Plain ESM with no imports but the reference (itself import-free): no node: modules, no globals
// beyond the language, so a page, a worker and every CLI runtime load this very file.
//
// runCases(api) takes the package's namespace (the embedded build, or the /url subpath after
// `await init()`), and returns { passed, failed, build, details: [{ name, ok, error?, message }] }.
// Bar: relative Frobenius error <= 1e-5 over the unmasked rows (docs: ALGORITHM, section 4).

import {
  nystromRef,
  softmaxRef,
  nystromMatrixRef,
  softmaxMatrixRef,
  relFrobenius,
  rowKeepFromMask,
  makeQKV,
  randn,
} from '../reference.js';

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

/** [B, n] mask: row b keeps its first n − drop[b] tokens (trailing padding). */
function trailingMask(B, n, drops, Type = Float32Array) {
  const mask = new Type(B * n);
  for (let b = 0; b < B; b++) for (let i = 0; i < n - drops[b % drops.length]; i++) mask[b * n + i] = 1;
  return mask;
}

function convWeights(H, ks, seed) {
  return randn(H * ks, 0.3, seed);
}

// Each case: { name, kind: 'nystrom' | 'softmax', shape, options (without shape), seed }.
// Together they cover every style, masks, conv, pad / uneven remainders, the exact-path special
// case (m equal to the padded length), every pinvInit, batch and heads > 1 and SIMD tail sizes.
export const CASES = [
  { name: 'authors basic', kind: 'nystrom', shape: [1, 1, 64, 16], options: { landmarks: 8 } },
  { name: 'authors mask+conv B2 H2', kind: 'nystrom', shape: [2, 2, 48, 16],
    options: { landmarks: 8, mask: trailingMask(2, 48, [0, 10]), convWeight: convWeights(2, 5, 11) } },
  { name: 'authors pad n50 m8', kind: 'nystrom', shape: [1, 2, 50, 16], options: { landmarks: 8 } },
  { name: 'authors uneven n50 m8 mask', kind: 'nystrom', shape: [2, 1, 50, 12],
    options: { landmarks: 8, remainder: 'uneven', mask: trailingMask(2, 50, [3, 0]) } },
  { name: 'authors m==n exact path', kind: 'nystrom', shape: [1, 2, 16, 8],
    options: { landmarks: 16, mask: trailingMask(1, 16, [4]) } },
  { name: 'authors pad n<m exact path', kind: 'nystrom', shape: [1, 1, 12, 8], options: { landmarks: 16 } },
  { name: 'authors pinvInit exact iters10 B2', kind: 'nystrom', shape: [2, 2, 32, 16],
    options: { landmarks: 8, pinvInit: 'exact', pinvIterations: 10 } },
  { name: 'hf mask B2 H2', kind: 'nystrom', shape: [2, 2, 64, 16],
    options: { style: 'hf', landmarks: 8, mask: trailingMask(2, 64, [5, 0], Uint8Array) } },
  { name: 'hf pad+conv n70 m16', kind: 'nystrom', shape: [1, 2, 70, 20],
    options: { style: 'hf', landmarks: 16, convWeight: convWeights(2, 3, 12) } },
  { name: 'hf uneven pinvInit paper', kind: 'nystrom', shape: [1, 1, 45, 16],
    options: { style: 'hf', landmarks: 8, remainder: 'uneven', pinvInit: 'paper' } },
  { name: 'lucidrains basic', kind: 'nystrom', shape: [1, 1, 64, 16], options: { style: 'lucidrains', landmarks: 8 } },
  { name: 'lucidrains mask+pad+conv, empty landmarks', kind: 'nystrom', shape: [2, 3, 45, 16],
    options: { style: 'lucidrains', landmarks: 8, mask: trailingMask(2, 45, [0, 13]), convWeight: convWeights(3, 5, 13) } },
  { name: 'lucidrains pad without mask', kind: 'nystrom', shape: [1, 2, 40, 8], options: { style: 'lucidrains', landmarks: 16 } },
  { name: 'hf tails n201 d36 m16', kind: 'nystrom', shape: [1, 2, 201, 36], options: { style: 'hf', landmarks: 16 } },
  { name: 'softmax authors mask+conv', kind: 'softmax', shape: [2, 1, 33, 12],
    options: { mask: trailingMask(2, 33, [0, 7]), convWeight: convWeights(1, 3, 14) } },
  { name: 'softmax hf mask H2', kind: 'softmax', shape: [1, 2, 40, 16], options: { style: 'hf', mask: trailingMask(1, 40, [6]) } },
  { name: 'softmax lucidrains mask', kind: 'softmax', shape: [2, 1, 24, 8], options: { style: 'lucidrains', mask: trailingMask(2, 24, [2, 0]) } },
].map((c, i) => ({ seed: 1000 + i, ...c }));

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

  for (const c of CASES) {
    details.push(check(c.name, () => {
      const { q, k, v } = makeInputs(c.shape, c.seed);
      const options = { ...c.options, shape: c.shape };
      const got = c.kind === 'softmax' ? api.softmaxAttention(q, k, v, options) : api.nystromAttention(q, k, v, options);
      const want = c.kind === 'softmax' ? softmaxRef(q, k, v, options) : nystromRef(q, k, v, options);
      return assertClose(got, want, c.shape, c.options.mask, c.name);
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

  details.push(check('softmaxAttentionMatrix authors mask', () => {
    const shape = [2, 1, 24, 8];
    const mask = trailingMask(2, 24, [0, 5]);
    const { q, k } = makeInputs(shape, 31);
    const got = api.softmaxAttentionMatrix(q, k, { shape, mask });
    return assertClose(got, softmaxMatrixRef(q, k, { shape, mask }), shape, mask, 'softmax matrix');
  }));

  details.push(check('nystromAttentionMatrix lucidrains', () => {
    const shape = [1, 2, 32, 8];
    const opts = { shape, landmarks: 8, style: 'lucidrains' };
    const { q, k } = makeInputs(shape, 32);
    return assertClose(api.nystromAttentionMatrix(q, k, opts), nystromMatrixRef(q, k, opts), shape, null, 'nystrom matrix');
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
