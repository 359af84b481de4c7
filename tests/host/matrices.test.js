// The attention-matrix references (nystromMatrixRef, softmaxMatrixRef) against the library's
// nystromAttentionMatrix / softmaxAttentionMatrix, and against the attention references themselves:
// the matrix applied to V·mask is the attention output (no conv).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  nystromRef, softmaxRef, nystromMatrixRef, softmaxMatrixRef, relFrobenius, rowKeepFromMask, makeQKV, STYLES,
} from '../reference.js';
import { lib, tag, compare, assertAll, makeMask, applyMatrix } from './helpers.js';

// [n, m, remainder]: divisible, padded, uneven, padded to the exact path (m > n) and m = n.
const LAYOUTS = [[40, 8, 'pad'], [45, 8, 'pad'], [45, 8, 'uneven'], [20, 32, 'pad'], [24, 24, 'pad']];
const MASKS = ['none', 'trailing', 'inner'];

function* grid() {
  for (const style of STYLES) {
    for (const [n, m, remainder] of LAYOUTS) {
      for (const kind of MASKS) {
        const shape = [2, 2, n, 8];
        yield { style, shape, kind, mask: makeMask(kind, 2, n, Math.ceil(n / m)), o: { shape, style, landmarks: m, remainder }, seed: 300 + n + m };
      }
    }
  }
}

test(tag('attention-matrix references match nystromAttentionMatrix / softmaxAttentionMatrix (every style, masks, pad, uneven, exact path)'), (t) => {
  const outcomes = [];
  for (const { style, shape, kind, mask, o, seed } of grid()) {
    const { q, k } = makeQKV(shape, seed);
    const opts = { ...o, mask };
    const name = `${style} n=${shape[2]} m=${o.landmarks} ${o.remainder} mask=${kind}`;
    outcomes.push(compare(`nystrom matrix ${name}`, lib.nystromAttentionMatrix(q, k, opts), nystromMatrixRef(q, k, opts), { mask, shape, group: 'nystrom matrix' }));
    outcomes.push(compare(`softmax matrix ${name}`, lib.softmaxAttentionMatrix(q, k, opts), softmaxMatrixRef(q, k, opts), { mask, shape, group: 'softmax matrix' }));
  }
  assertAll(t, outcomes);
});

test('reference: matrix · (V·mask) equals the attention reference output; convWeight does not enter the matrix', (t) => {
  let worst = 0;
  for (const { style, shape, kind, mask, o, seed } of grid()) {
    const { q, k, v } = makeQKV(shape, seed);
    const opts = { ...o, mask };
    const keep = rowKeepFromMask(mask ?? null, shape);
    const name = `${style} n=${shape[2]} m=${o.landmarks} ${o.remainder} mask=${kind}`;
    for (const [what, matrixRef, ref] of [['nystrom', nystromMatrixRef, nystromRef], ['softmax', softmaxMatrixRef, softmaxRef]]) {
      const A = matrixRef(q, k, opts);
      assert.equal(A.length, shape[0] * shape[1] * shape[2] * shape[2], `${what} ${name}: matrix length`);
      const e = relFrobenius(applyMatrix(A, v, mask, shape), ref(q, k, v, opts), keep);
      worst = Math.max(worst, e);
      assert.ok(e <= 1e-12, `${what} ${name}: |A·(V·mask) − ref| rel ${e}`);
      const withConv = matrixRef(q, k, { ...opts, convWeight: new Float32Array(shape[1] * 3).fill(0.5) });
      assert.deepEqual(withConv, A, `${what} ${name}: convWeight changed the matrix`);
    }
  }
  t.diagnostic(`max rel |A·(V·mask) − ref| = ${worst.toExponential(2)} (float64)`);
});
