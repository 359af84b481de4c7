// nystromAttentionFactors(q, k, options) → { kernel1 [B,H,rows,m], pinv [B,H,m,m], kernel3 [B,H,m,rows],
// rows = n + pad, pad, landmarks = m, shape }, and nystromAttentionRow(factors, b, h, row, { from, to, out }).
// Checked over the 'factors' cases of tests/cases.js (every style × pinvInit × remainder × mask,
// the exact path, m = 1, 0 to 12 pinv iterations, d = 64):
//  - structure: types, lengths, rows/pad/landmarks/shape; on the exact path kernel1 is the rows×rows
//    softmax matrix and pinv, kernel3 the identity;
//  - per head, (kernel1·pinv·kernel3) (float64 product) on the real rows and columns pad.. equals
//    nystromAttentionMatrix within relative Frobenius error 1e-5 over the unmasked rows;
//  - kernel1 (real, unmasked rows), kernel3 and pinv against the float64 reference factors (tests/reference.js);
//  - every row from nystromAttentionRow (and column blocks) equals the slice of nystromAttentionMatrix;
//  - bad batch / head / row / from / to are RangeErrors, a non-factors object a TypeError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { select, groups, materialize, runLength, isExactPath } from '../cases.js';
import { nystromFactorsRef, factorsToMatrix, relFrobenius, makeQKV } from '../reference.js';
import { lib, tag, BUILD, TOL, compare, assertAll, assertBitsEqual, bitsEqual, record, worstTable, makeMask } from './helpers.js';

const FACTORS = groups(select('factors'));

/** Relative Frobenius error of head bh of two [B,H,n,n] arrays over the head's unmasked rows. */
function headError(got, want, bh, b, n, mask) {
  const keep = new Uint8Array(n);
  for (let i = 0; i < n; i++) keep[i] = mask ? (mask[b * n + i] ? 1 : 0) : 1;
  const o = bh * n * n;
  return relFrobenius(got.subarray(o, o + n * n), want.subarray(o, o + n * n), keep);
}

/** Where a stack of `heads` m×m matrices differs from the identity (exactly), or null. */
function notIdentity(x, heads, m) {
  for (let bh = 0; bh < heads; bh++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        const v = x[(bh * m + i) * m + j];
        if (v !== (i === j ? 1 : 0)) return `[head ${bh}][${i}][${j}] = ${v}`;
      }
    }
  }
  return null;
}

/** Structure of the factors of case c; returns a list of problems. */
function structure(c, F) {
  const [B, H, n] = c.shape;
  const m = c.options.landmarks ?? 64;
  const { pad, rows } = runLength(n, m, c.options.remainder);
  const bad = [];
  if (typeof F !== 'object' || F === null) return [`not an object: ${F}`];
  for (const key of ['kernel1', 'pinv', 'kernel3']) if (!(F[key] instanceof Float32Array)) bad.push(`${key} is not a Float32Array (${F[key]?.constructor?.name})`);
  if (bad.length) return bad;
  if (F.rows !== rows) bad.push(`rows ${F.rows}, expected n + pad = ${rows}`);
  if (F.pad !== pad) bad.push(`pad ${F.pad}, expected ${pad}`);
  if (F.landmarks !== m) bad.push(`landmarks ${F.landmarks}, expected ${m}`);
  if (!F.shape || String([...F.shape]) !== String(c.shape)) bad.push(`shape [${F.shape ? [...F.shape] : F.shape}], expected [${c.shape}]`);
  if (F.kernel1.length !== B * H * rows * m) bad.push(`kernel1 length ${F.kernel1.length}, expected B·H·rows·m = ${B * H * rows * m}`);
  if (F.pinv.length !== B * H * m * m) bad.push(`pinv length ${F.pinv.length}, expected B·H·m·m = ${B * H * m * m}`);
  if (F.kernel3.length !== B * H * m * rows) bad.push(`kernel3 length ${F.kernel3.length}, expected B·H·m·rows = ${B * H * m * rows}`);
  if (bad.length) return bad;
  for (const key of ['kernel1', 'pinv', 'kernel3']) if (!F[key].every(Number.isFinite)) bad.push(`${key} has non-finite entries`);
  if (isExactPath(c)) {
    // Exact path: kernel1 = the exact softmax matrix (rows×rows, m = rows), pinv = kernel3 = identity.
    for (const key of ['pinv', 'kernel3']) {
      const at = notIdentity(F[key], B * H, m);
      if (at) bad.push(`exact path: ${key}${at}, expected the identity`);
    }
  }
  return bad;
}

/** One factor case: structure, product vs nystromAttentionMatrix per head, pieces vs the reference. */
function factorCase(c) {
  const { q, k, mask, options } = materialize(c);
  let F;
  try {
    F = lib.nystromAttentionFactors(q, k, options);
  } catch (e) {
    return [{ err: NaN, fail: `${c.name}: threw ${e?.constructor?.name}: ${e?.message}` }];
  }
  const bad = structure(c, F);
  if (bad.length) return [{ err: NaN, fail: `${c.name}: ${bad.join('; ')}` }];
  const [B, H, n] = c.shape;
  const M = lib.nystromAttentionMatrix(q, k, options);
  const P = factorsToMatrix(F);
  const out = [];
  // Product = matrix, head by head.
  let worstHead = 0;
  const fails = [];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const e = headError(P, M, b * H + h, b, n, mask);
      if (!(e <= worstHead)) worstHead = e;
      if (!(e <= TOL)) fails.push(`head (${b}, ${h}): ‖k1·Z·k3 − matrix‖/‖matrix‖ = ${e.toExponential(3)} > ${TOL}`);
    }
  }
  record('factors: product vs matrix (per head)', worstHead, c.name);
  out.push(fails.length ? { err: worstHead, fail: `${c.name}: ${fails.join('; ')}` } : { err: worstHead });
  // The pieces against the float64 reference factors (kernel1, kernel3: plain softmaxes; pinv: the
  // iteration, past 1e-5 only where a float32 evaluation of the formulas is too).
  // kernel1 rows of padding (leading pad rows, masked tokens) are as unspecified as their outputs:
  // compared over the real, unmasked rows only.
  const ref = nystromFactorsRef(q, k, options);
  const keep = new Uint8Array(B * H * F.rows);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < n; i++) keep[(b * H + h) * F.rows + F.pad + i] = mask ? (mask[b * n + i] ? 1 : 0) : 1;
    }
  }
  const e1 = relFrobenius(F.kernel1, ref.kernel1, keep);
  record('factors: kernel1 vs reference', e1, c.name);
  out.push(e1 <= TOL ? { err: e1 } : { err: e1, fail: `${c.name} kernel1 (real unmasked rows): rel Frobenius error ${e1.toExponential(3)} > ${TOL}` });
  out.push(compare(`${c.name} kernel3`, F.kernel3, ref.kernel3, { group: 'factors: kernel3 vs reference' }));
  out.push(compare(`${c.name} pinv`, F.pinv, ref.pinv, {
    group: 'factors: pinv vs reference',
    emulate: () => nystromFactorsRef(q, k, { ...options, emulateF32: true }).pinv,
  }));
  return out;
}

for (const [title, cases] of FACTORS) {
  test(tag(title), (t) => {
    assertAll(t, cases.flatMap(factorCase));
  });
}

// ---------------------------------------------------------------------------------------------
// nystromAttentionRow

/** Relative error of a row block against the matrix slice, relative to the norm of the whole matrix row. */
function blockError(got, M, o, n, from, to) {
  let num = 0;
  let den = 0;
  for (let j = 0; j < n; j++) den += M[o + j] * M[o + j];
  for (let j = from; j < to; j++) {
    const d = got[j - from] - M[o + j];
    num += d * d;
  }
  return Number.isFinite(num) ? Math.sqrt(num / den) : Infinity;
}

test(tag('nystromAttentionRow: every row equals the row of nystromAttentionMatrix; column blocks, out'), (t) => {
  assert.equal(typeof lib.nystromAttentionRow, 'function', 'nystromAttentionRow is exported');
  // The first init of every style (every shape, remainder and mask) and the iteration / d = 64 group.
  const cases = [...FACTORS.entries()]
    .filter(([title]) => / original × /.test(title) || /pinvIterations/.test(title))
    .flatMap(([, cs]) => cs);
  const outcomes = [];
  let calls = 0;
  for (const c of cases) {
    const { q, k, mask, options } = materialize(c);
    const [B, H, n] = c.shape;
    const F = lib.nystromAttentionFactors(q, k, options);
    const M = lib.nystromAttentionMatrix(q, k, options);
    const fails = [];
    let worst = 0;
    const blocks = [[0, 1], [n - 1, n], [Math.floor(n / 3), Math.floor((2 * n) / 3) + 1], [1, n], [0, n - 1]].filter(([f, e]) => f < e);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < n; i++) {
          const o = ((b * H + h) * n + i) * n;
          const keep = mask ? mask[b * n + i] === 1 : true;
          const row = lib.nystromAttentionRow(F, b, h, i);
          calls++;
          if (!(row instanceof Float32Array) || row.length !== n) {
            fails.push(`(${b}, ${h}, ${i}): expected a Float32Array of length ${n}, got ${row?.constructor?.name} of ${row?.length}`);
            continue;
          }
          if (!keep) {
            // Rows of padding tokens: unspecified values, but a full, finite row.
            if (!row.every(Number.isFinite)) fails.push(`(${b}, ${h}, ${i}): masked row has non-finite entries`);
            continue;
          }
          const e = blockError(row, M, o, n, 0, n);
          if (!(e <= worst)) worst = e;
          if (!(e <= TOL)) fails.push(`row (${b}, ${h}, ${i}): rel ${e.toExponential(3)}`);
          // Column blocks on a few rows (first, last, one in the middle).
          if (i === 0 || i === n - 1 || i === Math.floor(n / 2)) {
            for (const [from, to] of blocks) {
              const blk = lib.nystromAttentionRow(F, b, h, i, { from, to });
              calls++;
              if (!(blk instanceof Float32Array) || blk.length !== to - from) {
                fails.push(`(${b}, ${h}, ${i}) [${from}, ${to}): length ${blk?.length}, expected ${to - from}`);
                continue;
              }
              const eb = blockError(blk, M, o, n, from, to);
              if (!(eb <= TOL)) fails.push(`(${b}, ${h}, ${i}) columns [${from}, ${to}): rel ${eb.toExponential(3)} (of the row norm)`);
              // A block is the same numbers as the full row's slice.
              if (!bitsEqual(blk, row.subarray(from, to))) {
                const eRow = relFrobenius(blk, row.subarray(from, to));
                if (!(eRow <= TOL)) fails.push(`(${b}, ${h}, ${i}) columns [${from}, ${to}) differ from the full row's slice (rel ${eRow.toExponential(2)})`);
              }
            }
            // from / to alone, and out.
            const tail = lib.nystromAttentionRow(F, b, h, i, { from: 2 % n });
            if (tail.length !== n - (2 % n)) fails.push(`{ from: ${2 % n} } length ${tail.length}`);
            const head = lib.nystromAttentionRow(F, b, h, i, { to: Math.min(3, n) });
            if (head.length !== Math.min(3, n)) fails.push(`{ to: ${Math.min(3, n)} } length ${head.length}`);
            const out = new Float32Array(n).fill(NaN);
            const r = lib.nystromAttentionRow(F, b, h, i, { out });
            if (r !== out) fails.push(`(${b}, ${h}, ${i}): out is not returned`);
            else if (!bitsEqual(out, row)) fails.push(`(${b}, ${h}, ${i}): out differs from the fresh row`);
            const outBlk = new Float32Array(2);
            if (n >= 3 && lib.nystromAttentionRow(F, b, h, i, { from: 1, to: 3, out: outBlk }) !== outBlk) fails.push('block out is not returned');
            calls += 4;
          }
        }
      }
    }
    record('factors: nystromAttentionRow vs matrix (per row)', worst, c.name);
    outcomes.push(fails.length ? { err: worst, fail: `${c.name}: ${fails.slice(0, 5).join('; ')}${fails.length > 5 ? ` (+${fails.length - 5} more)` : ''}` } : { err: worst });
  }
  t.diagnostic(`${calls} nystromAttentionRow calls over ${cases.length} cases`);
  assertAll(t, outcomes);
});

test(tag('nystromAttentionRow: bad batch / head / row / from / to are RangeErrors; non-factors a TypeError'), () => {
  const shape = [2, 3, 20, 5];
  const { q, k } = makeQKV(shape, 7900);
  const F = lib.nystromAttentionFactors(q, k, { shape, landmarks: 6 });
  const [B, H, n] = shape;
  const row = (...args) => () => lib.nystromAttentionRow(...args);
  assert.equal(lib.nystromAttentionRow(F, B - 1, H - 1, n - 1).length, n, 'the last valid indices work');
  assert.equal(lib.nystromAttentionRow(F, 0, 0, 0, { from: 0, to: n }).length, n, 'from = 0, to = n work');
  for (const [what, fn] of [
    ['batch −1', row(F, -1, 0, 0)], ['batch = B', row(F, B, 0, 0)], ['batch 0.5', row(F, 0.5, 0, 0)], ['batch NaN', row(F, NaN, 0, 0)],
    ['head −1', row(F, 0, -1, 0)], ['head = H', row(F, 0, H, 0)], ['head 1.5', row(F, 0, 1.5, 0)],
    ['row −1', row(F, 0, 0, -1)], ['row = n', row(F, 0, 0, n)], ['row = n + pad', row(F, 0, 0, n + F.pad)], ['row Infinity', row(F, 0, 0, Infinity)],
    ['from −1', row(F, 0, 0, 0, { from: -1 })], ['from n + 1', row(F, 0, 0, 0, { from: n + 1 })], ['from 0.5', row(F, 0, 0, 0, { from: 0.5 })],
    ['to n + 1', row(F, 0, 0, 0, { to: n + 1 })], ['to −1', row(F, 0, 0, 0, { to: -1 })],
    ['from > to', row(F, 0, 0, 0, { from: 5, to: 4 })],
  ]) {
    assert.throws(fn, RangeError, what);
  }
  const M = lib.nystromAttentionMatrix(q, k, { shape, landmarks: 6 });
  for (const [what, x] of [
    ['null', null], ['undefined', undefined], ['{}', {}], ['a Float32Array', new Float32Array(16)], ['a string', 'factors'],
    ['the attention matrix', M], ['factors without kernel3', { ...F, kernel3: undefined }],
  ]) {
    assert.throws(row(x, 0, 0, 0), TypeError, `factors = ${what}`);
  }
});

test(tag('nystromAttentionFactors: validation like nystromAttentionMatrix; deterministic; inputs untouched'), () => {
  const shape = [2, 2, 30, 5];
  const { q, k } = makeQKV(shape, 7950);
  const [q0, k0] = [q.slice(), k.slice()];
  const mask = makeMask('inner', 2, 30, 4);
  const o = { shape, landmarks: 7, mask, style: 'lucidrains' };
  const a = lib.nystromAttentionFactors(q, k, o);
  const b = lib.nystromAttentionFactors(q, k, o);
  for (const key of ['kernel1', 'pinv', 'kernel3']) assertBitsEqual(a[key], b[key], `${key} twice`);
  assert.notEqual(a.kernel1.buffer, b.kernel1.buffer, 'each call returns its own arrays');
  assertBitsEqual(q, q0, 'q untouched');
  assertBitsEqual(k, k0, 'k untouched');
  // The factors of a later call do not change earlier ones.
  const keep = a.kernel1.slice();
  lib.nystromAttentionFactors(k, q, o);
  lib.nystromAttention(q, k, q, o);
  assertBitsEqual(a.kernel1, keep, 'earlier factors survive later calls');
  // Errors as the matrix call gives them.
  assert.throws(() => lib.nystromAttentionFactors(q, k, { shape, landmarks: 7, remainder: 'error' }), RangeError, "remainder 'error', 7 ∤ 30");
  assert.throws(() => lib.nystromAttentionFactors(q, k, { shape, landmarks: 31, remainder: 'uneven' }), RangeError, "'uneven' with m > n");
  assert.throws(() => lib.nystromAttentionFactors(q, k, { shape, landmarks: 0 }), RangeError, 'landmarks 0');
  assert.throws(() => lib.nystromAttentionFactors(q, k, { shape, style: 'nope' }), TypeError, 'unknown style');
  assert.throws(() => lib.nystromAttentionFactors(q, k, { shape, pinvInit: 'nope' }), TypeError, 'unknown pinvInit');
  assert.throws(() => lib.nystromAttentionFactors(q.subarray(1), k, { shape }), RangeError, 'short q');
  assert.throws(() => lib.nystromAttentionFactors(Array.from(q), k, { shape }), TypeError, 'q not a Float32Array');
  const bad = q.slice();
  bad[3] = NaN;
  assert.throws(() => lib.nystromAttentionFactors(bad, k, { shape }), RangeError, 'NaN in q');
  assert.throws(() => lib.nystromAttentionFactors(q, k, { shape, mask: new Float32Array(59) }), RangeError, 'short mask');
  // And the next valid call is unaffected.
  const c = lib.nystromAttentionFactors(q, k, o);
  assertBitsEqual(c.pinv, a.pinv, 'after the errors');
});

test(tag('factors: summary of the worst errors per group'), (t) => {
  for (const line of worstTable().split('\n')) t.diagnostic(line);
  console.log(`factors [${BUILD}]:\n${worstTable()}`);
});
