// Properties of the public API that follow from ALGORITHM.md without a reference run:
// softmax rows sum to 1, means of constants, linearity in V, no leak from masked tokens,
// convergence of the Nyström approximation to exact attention as the pseudo-inverse converges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { softmaxRef, relFrobenius, rowKeepFromMask, makeQKV, randn, STYLES, PINV_INITS } from '../reference.js';
import { lib, BUILD, tag, makeMask, assertBitsEqual, applyMatrix } from './helpers.js';

const { nystromAttention, softmaxAttention } = lib;

/** max |x[i] − want(i)| over kept rows of [B,H,n,d]. */
function maxAbsDev(x, want, shape, mask) {
  const keep = rowKeepFromMask(mask ?? null, shape);
  const d = shape[3];
  let worst = 0;
  for (let r = 0; r < keep.length; r++) {
    if (!keep[r]) continue;
    for (let c = 0; c < d; c++) worst = Math.max(worst, Math.abs(x[r * d + c] - want(r, c)));
  }
  return worst;
}

test(tag('softmaxAttention with V = ones gives 1 in every unmasked row'), (t) => {
  let worst = 0;
  for (const style of STYLES) {
    for (const shape of [[2, 2, 37, 5], [1, 1, 200, 3]]) {
      for (const kind of ['none', 'trailing', 'inner']) {
        const { q, k } = makeQKV(shape, 10);
        const v = new Float32Array(q.length).fill(1);
        const mask = makeMask(kind, shape[0], shape[2], 3);
        const out = softmaxAttention(q, k, v, { shape, style, mask });
        const dev = maxAbsDev(out, () => 1, shape, mask);
        worst = Math.max(worst, dev);
        assert.ok(dev <= 1e-6, `${style} [${shape}] ${kind}: |out − 1| = ${dev} [${BUILD}]`);
      }
    }
  }
  t.diagnostic(`build=${BUILD} max |out − 1| = ${worst.toExponential(2)}`);
});

test(tag('softmaxAttention with V = I returns the attention rows: ≥ 0, sum 1, masked keys exactly 0'), (t) => {
  const n = 24;
  const shape = [2, 1, n, n];
  let worst = 0;
  for (const style of STYLES) {
    for (const kind of ['none', 'trailing', 'inner']) {
      const { q, k } = makeQKV(shape, 20);
      const v = new Float32Array(q.length);
      for (let b = 0; b < 2; b++) for (let i = 0; i < n; i++) v[(b * n + i) * n + i] = 1;
      const mask = makeMask(kind, 2, n, 2);
      const out = softmaxAttention(q, k, v, { shape, style, mask });
      for (let b = 0; b < 2; b++) {
        for (let i = 0; i < n; i++) {
          if (mask && !mask[b * n + i]) continue;
          let s = 0;
          for (let j = 0; j < n; j++) {
            const p = out[(b * n + i) * n + j];
            assert.ok(p >= 0, `${style} ${kind}: P[${i}][${j}] = ${p} < 0`);
            if (mask && !mask[b * n + j]) assert.equal(p, 0, `${style} ${kind}: masked key ${j} has weight ${p} [${BUILD}]`);
            s += p;
          }
          worst = Math.max(worst, Math.abs(s - 1));
          assert.ok(Math.abs(s - 1) <= 1e-6, `${style} ${kind}: row ${i} sums to ${s} [${BUILD}]`);
        }
      }
    }
  }
  t.diagnostic(`build=${BUILD} max |row sum − 1| = ${worst.toExponential(2)}`);
});

test(tag('softmaxAttention is invariant to one shift vector added to every key'), (t) => {
  const shape = [2, 2, 50, 6];
  let worst = 0;
  for (const style of STYLES) {
    const { q, k, v } = makeQKV(shape, 30);
    const mask = makeMask('inner', 2, 50, 3);
    const c = randn(6, 1, 31);
    const k2 = k.map((x, i) => x + c[i % 6]);
    const a = softmaxAttention(q, k, v, { shape, style, mask });
    const b = softmaxAttention(q, k2, v, { shape, style, mask });
    const e = relFrobenius(b, a, rowKeepFromMask(mask, shape));
    worst = Math.max(worst, e);
    assert.ok(e <= 1e-5, `${style}: rel change ${e} [${BUILD}]`);
  }
  t.diagnostic(`build=${BUILD} max rel change = ${worst.toExponential(2)}`);
});

test(tag('Nyström with constant Q and K (every landmark the constant) returns mean(V) per row'), (t) => {
  // All logits tie: k1 = J/m, k2 = P = J/m, k3 = J/n; Z0 = αPᵀ = P for every init (row and column
  // sums are 1) and the iteration keeps P, so out = (k1·P)·(k3·V) = mean of V over the sequence.
  let worst = 0;
  for (const style of STYLES) {
    for (const pinvInit of PINV_INITS) {
      for (const [n, m, remainder] of [[48, 8, 'error'], [45, 9, 'pad'], [50, 8, 'uneven']]) {
        for (const it of [0, 1, 6]) {
          const shape = [2, 2, n, 5];
          const count = 2 * 2 * n * 5;
          const q = new Float32Array(count);
          const k = new Float32Array(count);
          for (let i = 0; i < count; i++) { q[i] = 0.3 * ((i % 5) - 2); k[i] = -0.7 + 0.1 * (i % 5); }
          const v = randn(count, 1, 40 + n);
          const out = nystromAttention(q, k, v, { shape, style, pinvInit, landmarks: m, remainder, pinvIterations: it });
          const mean = new Float64Array(4 * 5);
          for (let bh = 0; bh < 4; bh++) for (let i = 0; i < n; i++) for (let c = 0; c < 5; c++) mean[bh * 5 + c] += v[(bh * n + i) * 5 + c] / n;
          const dev = maxAbsDev(out, (r, c) => mean[Math.floor(r / n) * 5 + c], shape);
          worst = Math.max(worst, dev);
          assert.ok(dev <= 1e-5, `${style} ${pinvInit} n=${n} m=${m} ${remainder} it=${it}: |out − mean V| = ${dev} [${BUILD}]`);
        }
      }
    }
  }
  t.diagnostic(`build=${BUILD} max |out − mean(V)| = ${worst.toExponential(2)}`);
});

test(tag('Nyström with one landmark gives the same row everywhere'), (t) => {
  let worst = 0;
  for (const style of STYLES) {
    const shape = [2, 2, 17, 6];
    const { q, k, v } = makeQKV(shape, 50);
    for (const it of [0, 6]) {
      const out = nystromAttention(q, k, v, { shape, style, landmarks: 1, pinvIterations: it });
      for (let bh = 0; bh < 4; bh++) {
        const first = out.subarray(bh * 17 * 6, bh * 17 * 6 + 6);
        const scale = Math.max(...first.map(Math.abs));
        const dev = maxAbsDev(out.subarray(bh * 17 * 6, (bh + 1) * 17 * 6), (r, c) => first[c], [1, 1, 17, 6]);
        worst = Math.max(worst, dev / scale);
        assert.ok(dev <= 1e-6 * scale, `${style} it=${it} head ${bh}: rows differ by ${dev} [${BUILD}]`);
      }
    }
  }
  t.diagnostic(`build=${BUILD} max rel row spread = ${worst.toExponential(2)}`);
});

test(tag('Nyström and softmax attention are linear in V'), (t) => {
  let worst = 0;
  const shape = [2, 2, 45, 7];
  for (const style of STYLES) {
    const { q, k, v } = makeQKV(shape, 60);
    const v2 = randn(v.length, 1, 61);
    const vs = v.map((x, i) => x + v2[i]);
    const mask = makeMask('inner', 2, 45, 5);
    const keep = rowKeepFromMask(mask, shape);
    const convWeight = randn(2 * 3, 0.5, 62);
    for (const f of ['nystrom', 'softmax']) {
      const run = (vv) => (f === 'nystrom'
        ? nystromAttention(q, k, vv, { shape, style, mask, landmarks: 9, convWeight })
        : softmaxAttention(q, k, vv, { shape, style, mask, convWeight }));
      const a = run(v);
      const b = run(v2);
      const s = run(vs);
      const sum = a.map((x, i) => x + b[i]);
      const e = relFrobenius(s, sum, keep);
      const scaled = run(v.map((x) => 2.5 * x));
      const e2 = relFrobenius(scaled, a.map((x) => 2.5 * x), keep);
      worst = Math.max(worst, e, e2);
      assert.ok(e <= 1e-5, `${style} ${f} additivity ${e} [${BUILD}]`);
      assert.ok(e2 <= 1e-5, `${style} ${f} homogeneity ${e2} [${BUILD}]`);
    }
  }
  t.diagnostic(`build=${BUILD} max rel deviation = ${worst.toExponential(2)}`);
});

test(tag('masked tokens do not leak into unmasked rows (values changed in masked rows)'), () => {
  const shape = [2, 2, 40, 5];
  const mask = makeMask('inner', 2, 40, 5);
  const keep = rowKeepFromMask(mask, shape);
  const { q, k, v } = makeQKV(shape, 70);
  const junk = randn(q.length, 50, 71);
  const poke = (x) => x.map((val, i) => (mask[Math.floor(i / (40 * 5 * 2)) * 40 + (Math.floor(i / 5) % 40)] ? val : junk[i]));
  const sameKept = (a, b, what) => {
    for (let r = 0; r < keep.length; r++) {
      if (!keep[r]) continue;
      for (let c = 0; c < 5; c++) assert.ok(a[r * 5 + c] === b[r * 5 + c], `${what}: row ${r} col ${c}: ${a[r * 5 + c]} vs ${b[r * 5 + c]} [${BUILD}]`);
    }
  };
  for (const style of STYLES) {
    // authors and lucidrains zero masked Q, K, V rows; hf only protects V (and its conv input is raw V).
    const conv = style === 'hf' ? undefined : randn(2 * 3, 0.5, 72);
    const [q2, k2] = style === 'hf' ? [q, k] : [poke(q), poke(k)];
    const v2 = poke(v);
    for (const m of [4, 8, 40]) {
      const o = { shape, style, mask, landmarks: m, convWeight: conv };
      sameKept(nystromAttention(q2, k2, v2, o), nystromAttention(q, k, v, o), `${style} nystrom m=${m}`);
    }
    const o = { shape, style, mask, convWeight: conv };
    sameKept(softmaxAttention(q2, k2, v2, o), softmaxAttention(q, k, v, o), `${style} softmax`);
  }
});

test(tag('an all-ones mask equals no mask when m | n; lucidrains pad rows are masked only with a caller mask'), (t) => {
  const shape = [2, 2, 48, 6];
  const { q, k, v } = makeQKV(shape, 80);
  const ones = new Float32Array(96).fill(1);
  let worst = 0;
  for (const style of STYLES) {
    const a = nystromAttention(q, k, v, { shape, style, landmarks: 8 });
    const b = nystromAttention(q, k, v, { shape, style, landmarks: 8, mask: ones });
    const e = relFrobenius(b, a);
    worst = Math.max(worst, e);
    assert.ok(e <= 1e-6, `${style}: mask of ones changes the result by ${e} [${BUILD}]`);
  }
  // n % m ≠ 0: lucidrains without a mask lets the zero pad rows attend and be attended.
  const a = nystromAttention(q, k, v, { shape, style: 'lucidrains', landmarks: 10 });
  const b = nystromAttention(q, k, v, { shape, style: 'lucidrains', landmarks: 10, mask: ones });
  assert.ok(relFrobenius(b, a) > 1e-4, 'lucidrains pad rows: mask given vs not must differ');
  // authors/hf always treat the pad rows as padding.
  for (const style of ['authors', 'hf']) {
    const x = nystromAttention(q, k, v, { shape, style, landmarks: 10 });
    const y = nystromAttention(q, k, v, { shape, style, landmarks: 10, mask: ones });
    assert.ok(relFrobenius(y, x) <= 1e-6, `${style}: pad rows are padding either way`);
  }
  t.diagnostic(`build=${BUILD} max rel change = ${worst.toExponential(2)}`);
});

test(tag('authors/hf with m = run length equal softmaxAttention (exact path)'), (t) => {
  let worst = 0;
  for (const style of ['authors', 'hf']) {
    for (const [n, m] of [[32, 32], [20, 32], [1, 64]]) {
      const shape = [2, 2, n, 5];
      const { q, k, v } = makeQKV(shape, 90 + n);
      const mask = n > 4 ? makeMask('trailing', 2, n) : undefined;
      const convWeight = randn(2 * 3, 0.5, 91);
      const a = nystromAttention(q, k, v, { shape, style, mask, landmarks: m, convWeight });
      const b = softmaxAttention(q, k, v, { shape, style, mask, convWeight });
      const e = relFrobenius(a, b, rowKeepFromMask(mask, shape));
      worst = Math.max(worst, e);
      assert.ok(e <= 1e-6, `${style} n=${n} m=${m}: ${e} [${BUILD}]`);
    }
  }
  t.diagnostic(`build=${BUILD} max rel diff = ${worst.toExponential(2)}`);
});

test(tag("per-head inits ('exact', 'paper') make batch elements and heads independent"), (t) => {
  const shape = [3, 2, 30, 4];
  const { q, k, v } = makeQKV(shape, 100);
  const per = 30 * 4;
  let worst = 0;
  for (const style of STYLES) {
    for (const pinvInit of ['exact', 'paper']) {
      const all = nystromAttention(q, k, v, { shape, style, pinvInit, landmarks: 6 });
      for (let i = 0; i < 6; i++) {
        const s = (x) => x.slice(i * per, (i + 1) * per);
        const one = nystromAttention(s(q), s(k), s(v), { shape: [1, 1, 30, 4], style, pinvInit, landmarks: 6 });
        const e = relFrobenius(all.subarray(i * per, (i + 1) * per), one);
        worst = Math.max(worst, e);
        assert.ok(e <= 1e-6, `${style} ${pinvInit} slab ${i}: ${e} [${BUILD}]`);
      }
    }
  }
  t.diagnostic(`build=${BUILD} max rel diff = ${worst.toExponential(2)}`);
});

test(tag('conv residual is additive: with conv − without conv = depthwise conv of the style input'), (t) => {
  const shape = [2, 3, 33, 4];
  const [B, H, n, d] = shape;
  const { q, k, v } = makeQKV(shape, 110);
  const mask = makeMask('inner', B, n, 3);
  let worst = 0;
  for (const style of STYLES) {
    for (const ks of [1, 3, 5]) {
      const w = randn(H * ks, 1, 111 + ks);
      for (const f of ['nystrom', 'softmax']) {
        const run = (convWeight) => (f === 'nystrom'
          ? nystromAttention(q, k, v, { shape, style, mask, landmarks: 11, convWeight })
          : softmaxAttention(q, k, v, { shape, style, mask, convWeight }));
        const base = run(undefined);
        const withConv = run(w);
        const got = withConv.map((x, i) => x - base[i]);
        const want = new Float64Array(got.length);
        const half = (ks - 1) / 2;
        for (let b = 0; b < B; b++) {
          for (let h = 0; h < H; h++) {
            const o = (b * H + h) * n * d;
            for (let i = 0; i < n; i++) {
              for (let t2 = 0; t2 < ks; t2++) {
                const r = i + t2 - half;
                if (r < 0 || r >= n) continue;
                const keepR = style === 'hf' ? 1 : mask[b * n + r];
                for (let c = 0; c < d; c++) want[o + i * d + c] += w[h * ks + t2] * v[o + r * d + c] * keepR;
              }
            }
          }
        }
        // float32 cancellation in (with − without) costs ~1e-7 of the attention part.
        const e = relFrobenius(got, want, rowKeepFromMask(mask, shape));
        worst = Math.max(worst, e);
        assert.ok(e <= 1e-5, `${style} ${f} k=${ks}: ${e} [${BUILD}]`);
      }
    }
  }
  t.diagnostic(`build=${BUILD} max rel diff = ${worst.toExponential(2)}`);
});

test(tag('lucidrains with m = n: the error to exact softmax shrinks as pinvIterations grows'), (t) => {
  // Q = K makes QKᵀ/√d symmetric with a dominant diagonal, so S = softmax(QKᵀ/√d) is invertible
  // and well conditioned (entries of Q ~ N(0, 0.25) keep it far from the identity, so the
  // iteration has work to do: in float64 the error goes ~0.5 → 1e-15 over 0 … 12 iterations). With m = n each landmark is one token: k1 = k2 = k3 = S and
  // k1·pinv(k2)·k3·V = S·V, the exact attention. The residual of the iteration decays with the
  // number of steps; the float32 result must follow it down to the float32 floor.
  for (const [n, d] of [[16, 16], [48, 32]]) {
    const shape = [2, 2, n, d];
    const count = 4 * n * d;
    const q = randn(count, 0.5, 120 + n);
    const v = randn(count, 1, 121 + n);
    const exact = softmaxRef(q, q, v, { shape, style: 'lucidrains' });
    const errs = [];
    for (const it of [0, 1, 2, 3, 6, 12, 30, 60]) {
      const out = nystromAttention(q, q, v, { shape, style: 'lucidrains', landmarks: n, pinvIterations: it });
      errs.push(relFrobenius(out, exact));
    }
    t.diagnostic(`build=${BUILD} n=${n} errors by iterations [0,1,2,3,6,12,30,60]: ${errs.map((e) => e.toExponential(1)).join(' ')}`);
    for (let i = 1; i < errs.length; i++) {
      assert.ok(errs[i] <= errs[i - 1] * 1.01 + 2e-6, `n=${n}: error grew ${errs.map((e) => e.toExponential(2))} [${BUILD}]`);
    }
    assert.ok(errs[0] > 1e-2, `n=${n}: 0 iterations should be far off (${errs[0]})`);
    assert.ok(errs.at(-1) <= 1e-5, `n=${n}: 60 iterations should reach the float32 floor (${errs.at(-1)}) [${BUILD}]`);
  }
});

test(tag('bitwise repeatability across styles (the same inputs, the same bits)'), () => {
  const shape = [1, 2, 64, 8];
  const { q, k, v } = makeQKV(shape, 130);
  for (const style of STYLES) {
    const o = { shape, style, landmarks: 16, mask: makeMask('trailing', 1, 64) };
    const a = nystromAttention(q, k, v, o);
    softmaxAttention(q, k, v, o);
    assertBitsEqual(nystromAttention(q, k, v, o), a, style);
  }
});

test(tag('attention matrices: matrix · (V·mask) equals the attention output; softmax matrix rows sum to 1'), (t) => {
  const { nystromAttentionMatrix, softmaxAttentionMatrix } = lib;
  if (typeof nystromAttentionMatrix !== 'function' || typeof softmaxAttentionMatrix !== 'function') {
    t.skip('the build exports no attention-matrix functions');
    return;
  }
  let worst = 0;
  for (const style of STYLES) {
    for (const [n, m, remainder] of [[40, 8, 'pad'], [45, 8, 'pad'], [45, 8, 'uneven'], [20, 32, 'pad'], [24, 24, 'pad']]) {
      const shape = [2, 2, n, 5];
      const [B, H] = shape;
      const { q, k, v } = makeQKV(shape, 140 + n + m);
      const mask = makeMask('inner', B, n, Math.ceil(n / m));
      const keep = rowKeepFromMask(mask, shape);
      for (const kind of ['nystrom', 'softmax']) {
        const o = { shape, style, mask, landmarks: m, remainder };
        const A = kind === 'nystrom' ? nystromAttentionMatrix(q, k, o) : softmaxAttentionMatrix(q, k, o);
        assert.equal(A.length, B * H * n * n, `${kind} matrix length`);
        const out = kind === 'nystrom' ? nystromAttention(q, k, v, o) : softmaxAttention(q, k, v, o);
        const e = relFrobenius(out, applyMatrix(A, v, mask, shape), keep);
        worst = Math.max(worst, e);
        assert.ok(e <= 1e-5, `${style} ${kind} n=${n} m=${m} ${remainder}: |A·V − out| rel ${e} [${BUILD}]`);
        if (kind === 'softmax') {
          for (let r = 0; r < keep.length; r++) {
            if (!keep[r]) continue;
            let s = 0;
            for (let j = 0; j < n; j++) s += A[r * n + j];
            assert.ok(Math.abs(s - 1) <= 1e-6, `${style} softmax matrix row ${r} sums to ${s}`);
          }
        }
      }
    }
  }
  t.diagnostic(`build=${BUILD} max rel |A·V − out| = ${worst.toExponential(2)}`);
});
