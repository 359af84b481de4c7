// Matmul plans (createMatmul): laid out once, operands as views in wasm memory. Checked against
// the float64 triple loop and bitwise against the one-shot matmul / matmulTransposed, with the
// zero-copy path, shapes with tails, bad input (and the plan still working after it).
import test from 'node:test';
import assert from 'node:assert/strict';
import { lib, tag, BUILD, assertBitsEqual } from './helpers.js';
import { matmulRef, matmulTransposedRef, randn, relFrobenius } from '../reference.js';

const SHAPES = [[1, 1, 1], [3, 5, 7], [4, 8, 8], [17, 33, 9], [64, 64, 64], [65, 130, 31], [5, 300, 2]];

test(tag('matmul plans equal the float64 reference and the one-shot functions, copied or zero-copy'), () => {
  let worst = 0;
  for (const [m, k, n] of SHAPES) {
    for (const transB of [false, true]) {
      const a = randn(m * k, 1, m * 1000 + k), b = randn(k * n, 1, n * 7 + k);
      const want = (transB ? matmulTransposedRef : matmulRef)(a, b, m, k, n);
      const oneShot = (transB ? lib.matmulTransposed : lib.matmul)(a, b, m, k, n);
      const plan = lib.createMatmul({ m, k, n, transB });
      assert.equal(plan.build, BUILD);
      const out = new Float32Array(m * n);
      assert.equal(plan.run(a, b, out), out, 'run returns the given out');
      assertBitsEqual(out, oneShot, `plan.run ${m}×${k}×${n} transB=${transB}`);
      plan.a.set(a);
      plan.b.set(b);
      const view = plan.runInPlace();
      assert.equal(view, plan.c, 'runInPlace returns the c view');
      assertBitsEqual(view, oneShot, `runInPlace ${m}×${k}×${n} transB=${transB}`);
      // Passing the plan's own views skips the copies and gives the same result.
      assertBitsEqual(plan.run(plan.a, plan.b), oneShot, 'run with its own views');
      const err = relFrobenius(out, want);
      worst = Math.max(worst, err);
      assert.ok(err <= 1e-5, `${m}×${k}×${n} transB=${transB}: rel err ${err}`);
    }
  }
  console.log(`build=${BUILD} matmul plans: max rel err ${worst.toExponential(2)}`);
});

test(tag('matmul plans reject bad input with a clear error and keep working'), () => {
  assert.throws(() => lib.createMatmul(null), TypeError);
  assert.throws(() => lib.createMatmul({ m: 0, k: 2, n: 2 }), (e) => e instanceof RangeError && /m must be an integer in \[1, 2147483647\], got 0/.test(e.message));
  assert.throws(() => lib.createMatmul({ m: 2, k: 2.5, n: 2 }), RangeError);
  assert.throws(() => lib.createMatmul({ m: 2, k: 2, n: 2, transB: 'yes' }), (e) => e instanceof TypeError && /transB must be a boolean/.test(e.message));
  const [m, k, n] = [5, 6, 7];
  const plan = lib.createMatmul({ m, k, n });
  const a = randn(m * k, 1, 3), b = randn(k * n, 1, 4);
  const good = plan.run(a, b).slice();
  assert.throws(() => plan.run(new Float32Array(m * k - 1), b), (e) => e instanceof RangeError && /a has 29 elements; m×k = 5×6 needs 30/.test(e.message));
  assert.throws(() => plan.run(a, [1, 2, 3]), (e) => e instanceof TypeError && /b must be a Float32Array, got an Array of length 3/.test(e.message));
  assert.throws(() => plan.run(a, b, new Float32Array(1)), (e) => e instanceof RangeError && /out has 1 elements/.test(e.message));
  const bad = a.slice();
  bad[7] = NaN;
  assert.throws(() => plan.run(bad, b), (e) => e instanceof RangeError && /a must be finite, got NaN at index 7/.test(e.message));
  // The failed run left its a in the plan's a region (it is the input buffer): refill, then spoil b.
  plan.a.set(a);
  plan.b.set(b);
  plan.b[3] = Infinity;
  assert.throws(() => plan.runInPlace(), (e) => e instanceof RangeError && /b must be finite, got Infinity at index 3/.test(e.message));
  assertBitsEqual(plan.run(a, b), good, 'the plan gives the same result after the errors');
});

test(tag('constantB plans: B packed once, every result bit-identical to the one-shot call; repacked for another B or after setB'), () => {
  for (const [m, k, n] of [[1, 1, 1], [5, 7, 3], [64, 64, 64], [17, 33, 9], [64, 4096, 64], [300, 48, 20]]) {
    for (const transB of [false, true]) {
      const mm = transB ? lib.matmulTransposed : lib.matmul;
      const plan = lib.createMatmul({ m, k, n, transB, constantB: true });
      const B1 = randn(k * n, 1, 1), B2 = randn(k * n, 1, 2);
      for (let i = 0; i < 3; i++) {
        const a = randn(m * k, 1, 10 + i);
        assertBitsEqual(plan.run(a, B1), mm(a, B1, m, k, n), `${m}×${k}×${n} transB=${transB} run ${i} with B1`);
      }
      const a = randn(m * k, 1, 20);
      assertBitsEqual(plan.run(a, B2), mm(a, B2, m, k, n), 'another B is packed');
      // The same array changed in place: without setB the packed B is the old one (documented); with it, the new.
      const before = plan.run(a, B2).slice();
      B2[0] += 1;
      assertBitsEqual(plan.run(a, B2), before, 'in-place change without setB keeps the packed B');
      plan.setB();
      assertBitsEqual(plan.run(a, B2), mm(a, B2, m, k, n), 'setB() repacks');
      // Zero copy: fill plan.a / plan.b, runInPlace packs plan.b.
      plan.a.set(a);
      plan.setB(B1);
      assertBitsEqual(plan.runInPlace(), mm(a, B1, m, k, n), 'runInPlace after setB(B1)');
      plan.dispose();
    }
  }
  assert.throws(() => lib.createMatmul({ m: 2, k: 2, n: 2, constantB: 'yes' }), (e) => e instanceof TypeError && e.code === 'ERR_OPTION');
  const p = lib.createMatmul({ m: 2, k: 2, n: 2, constantB: true });
  assert.throws(() => p.setB(new Float32Array(3)), (e) => e instanceof RangeError && e.code === 'ERR_TENSOR');
  p.dispose();
});
