// Self-checks of the float64 reference (tests/reference.js): hand-computed tiny cases and
// invariants that follow from ALGORITHM.md. These need no build of the library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  nystromRef, softmaxRef, pinvIterateRef, matmulRef, relFrobenius, rowKeepFromMask,
  makeQKV, mulberry32, randn, segments, F32_MAX,
} from '../reference.js';

const close = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('reference: mulberry32 is deterministic and uniform-ish; randn has the asked spread', () => {
  const a = mulberry32(7);
  const b = mulberry32(7);
  for (let i = 0; i < 100; i++) assert.equal(a(), b());
  const x = randn(20000, 3, 11);
  let s = 0;
  let s2 = 0;
  for (const t of x) { s += t; s2 += t * t; }
  const mean = s / x.length;
  const sd = Math.sqrt(s2 / x.length - mean * mean);
  assert.ok(Math.abs(mean) < 0.1, `mean ${mean}`);
  assert.ok(Math.abs(sd - 3) < 0.1, `sd ${sd}`);
});

test('reference: softmax n=2, d=1 by hand (every style, no mask)', () => {
  const q = [1, 2];
  const k = [0, 1];
  const v = [1, 3];
  const e = Math.E;
  const want = [(1 + 3 * e) / (1 + e), (1 + 3 * e * e) / (1 + e * e)];
  for (const style of ['authors', 'hf', 'lucidrains']) {
    const o = softmaxRef(q, k, v, { shape: [1, 1, 2, 1], style });
    close(o[0], want[0], 1e-14, `${style} row 0`);
    close(o[1], want[1], 1e-14, `${style} row 1`);
  }
});

test('reference: softmax n=2, d=1 with mask [1, 0]; lucidrains masked row is uniform over masked V', () => {
  const q = [1, 2];
  const k = [0, 1];
  const v = [1, 3];
  const mask = [1, 0];
  for (const style of ['authors', 'hf', 'lucidrains']) {
    const o = softmaxRef(q, k, v, { shape: [1, 1, 2, 1], style, mask });
    close(o[0], 1, 1e-14, `${style} row 0 sees only key 0`);
  }
  // lucidrains: row 1 is all −FLT_MAX → uniform softmax → mean of masked V = (1 + 0) / 2.
  const o = softmaxRef(q, k, v, { shape: [1, 1, 2, 1], style: 'lucidrains', mask });
  close(o[1], 0.5, 1e-14, 'lucidrains masked row');
});

test('reference: conv residual n=3, d=1, k=3 by hand', () => {
  const q = [0, 0, 0];
  const k = [0, 0, 0];
  const v = [1, 2, 4];
  const w = new Float32Array([0.5, 1, -1]);
  const base = 7 / 3; // uniform attention
  const want = [base + 1 * 1 - 1 * 2, base + 0.5 * 1 + 2 - 4, base + 0.5 * 2 + 4];
  const o = softmaxRef(q, k, v, { shape: [1, 1, 3, 1], convWeight: w });
  for (let i = 0; i < 3; i++) close(o[i], want[i], 1e-14, `row ${i}`);
});

test('reference: Nyström n=2, d=1, m=1 by hand', () => {
  // One landmark: k1 = [1;1], k2 = [1], Z stays 1, every row = softmax(q~·k_j)·V.
  const q = [1, 3];
  const k = [2, -1];
  const v = [10, 20];
  const e4 = Math.exp(4);
  const em2 = Math.exp(-2);
  const want = (10 * e4 + 20 * em2) / (e4 + em2);
  for (const style of ['authors', 'hf', 'lucidrains']) {
    for (const it of [0, 1, 6]) {
      const o = nystromRef(q, k, v, { shape: [1, 1, 2, 1], style, landmarks: 1, pinvIterations: it });
      close(o[0], want, 1e-13, `${style} it=${it} row 0`);
      close(o[1], want, 1e-13, `${style} it=${it} row 1`);
    }
  }
});

test('reference: pinv iteration converges to the inverse of a 2x2', () => {
  const a = new Float64Array([2, 1, 1, 3]);
  const z = pinvIterateRef(a, 2, 40, 1 / 16);
  const inv = [3 / 5, -1 / 5, -1 / 5, 2 / 5];
  for (let i = 0; i < 4; i++) close(z[i], inv[i], 1e-12, `Z[${i}]`);
  // One step by hand from Z0 = αAᵀ with α = 1/16.
  const z1 = pinvIterateRef(a, 2, 1, 1 / 16);
  const z0 = new Float64Array([2 / 16, 1 / 16, 1 / 16, 3 / 16]);
  const az = matmulRef(a, z0, 2, 2, 2);
  const I = [1, 0, 0, 1];
  const t1 = az.map((x, i) => 7 * I[i] - x);
  const t2 = matmulRef(az, t1, 2, 2, 2).map((x, i) => 15 * I[i] - x);
  const t3 = matmulRef(az, t2, 2, 2, 2).map((x, i) => 13 * I[i] - x);
  const want = matmulRef(z0, t3, 2, 2, 2).map((x) => 0.25 * x);
  for (let i = 0; i < 4; i++) close(z1[i], want[i], 1e-15, `Z1[${i}]`);
});

test('reference: segments (even and uneven, the short ones first)', () => {
  assert.deepEqual(segments(6, 3, false), [[0, 2], [2, 4], [4, 6]]);
  assert.deepEqual(segments(7, 3, true), [[0, 2], [2, 4], [4, 7]]);
  assert.deepEqual(segments(11, 4, true), [[0, 2], [2, 5], [5, 8], [8, 11]]);
  assert.deepEqual(segments(3, 3, true), [[0, 1], [1, 2], [2, 3]]);
});

test('reference: lucidrains with m = n and many iterations approaches exact softmax', () => {
  // Q = K with large norms: QKᵀ/√d is diagonal-dominant, so the softmax matrix is well conditioned,
  // k1 = k2 = k3 = S and k1·pinv(k2)·k3·V = S·V.
  const n = 12;
  const d = 16;
  const shape = [1, 1, n, d];
  const { q, v } = makeQKV(shape, 3);
  const exact = softmaxRef(q, q, v, { shape, style: 'lucidrains' });
  let prev = Infinity;
  const errs = [];
  for (const it of [1, 3, 6, 12, 30]) {
    const o = nystromRef(q, q, v, { shape, style: 'lucidrains', landmarks: n, pinvIterations: it });
    const e = relFrobenius(o, exact);
    errs.push(e);
    assert.ok(e <= prev + 1e-15, `error does not grow: ${errs}`);
    prev = e;
  }
  assert.ok(errs.at(-1) < 1e-10, `converged: ${errs}`);
});

test('reference: authors/hf with m = run length take the exact path (pad included)', () => {
  const shape = [2, 2, 10, 5];
  const { q, k, v } = makeQKV(shape, 5);
  const mask = new Float32Array(20).fill(1);
  mask[8] = 0; mask[9] = 0; mask[13] = 0;
  const keep = rowKeepFromMask(mask, shape);
  for (const style of ['authors', 'hf']) {
    const ex = softmaxRef(q, k, v, { shape, style, mask });
    const ny = nystromRef(q, k, v, { shape, style, mask, landmarks: 10 });
    assert.ok(relFrobenius(ny, ex, keep) < 1e-14, style);
    // m > n with pad: the padded length is m, padded rows are padding → still exact attention.
    const ny2 = nystromRef(q, k, v, { shape, style, mask, landmarks: 16 });
    assert.ok(relFrobenius(ny2, ex, keep) < 1e-12, `${style} m > n`);
  }
});

test('reference: pad equals an explicitly left-padded, masked call (authors, hf; lucidrains with a mask)', () => {
  const [B, H, n, d, m] = [2, 2, 13, 3, 4];
  const pad = 3;
  const shape = [B, H, n, d];
  const { q, k, v } = makeQKV(shape, 9);
  const mask = new Float32Array(B * n).fill(1);
  mask[5] = 0; mask[n + 12] = 0;
  const L = n + pad;
  const padIt = (x) => {
    const y = new Float32Array(B * H * L * d);
    for (let bh = 0; bh < B * H; bh++) y.set(x.subarray(bh * n * d, (bh + 1) * n * d), (bh * L + pad) * d);
    return y;
  };
  const maskP = new Float32Array(B * L);
  for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) maskP[b * L + pad + i] = mask[b * n + i];
  const cut = (y) => {
    const x = new Float64Array(B * H * n * d);
    for (let bh = 0; bh < B * H; bh++) x.set(y.subarray((bh * L + pad) * d, (bh + 1) * L * d), bh * n * d);
    return x;
  };
  const convWeight = randn(H * 3, 1, 4);
  for (const style of ['authors', 'hf', 'lucidrains']) {
    for (const withMask of [false, true]) {
      if (style === 'lucidrains' && !withMask) continue;
      const o = { style, landmarks: m, convWeight };
      const a = nystromRef(q, k, v, { ...o, shape, mask: withMask ? mask : undefined });
      let mp = maskP;
      if (!withMask) { mp = new Float32Array(B * L); for (let b = 0; b < B; b++) mp.fill(1, b * L + pad, (b + 1) * L); }
      const bOut = cut(nystromRef(padIt(q), padIt(k), padIt(v), { ...o, shape: [B, H, L, d], mask: mp, remainder: 'error' }));
      const keep = rowKeepFromMask(withMask ? mask : null, shape);
      assert.ok(relFrobenius(a, bOut, keep) < 1e-14, `${style} mask=${withMask}`);
    }
  }
});

test('reference: lucidrains without a mask, pad rows act as zero tokens (differs from authors pad)', () => {
  const shape = [1, 1, 10, 4];
  const { q, k, v } = makeQKV(shape, 12);
  const a = nystromRef(q, k, v, { shape, style: 'authors', landmarks: 4, pinvInit: 'abs_rowcol' });
  const l = nystromRef(q, k, v, { shape, style: 'lucidrains', landmarks: 4 });
  assert.ok(relFrobenius(l, a) > 1e-3);
});

test('reference: styles agree where their rules coincide (no mask, m | n)', () => {
  const shape = [2, 3, 24, 7];
  const { q, k, v } = makeQKV(shape, 21);
  const w = randn(3 * 5, 1, 2);
  for (const pinvInit of ['original', 'exact', 'abs_rowcol', 'paper']) {
    const opts = { shape, landmarks: 6, pinvInit, convWeight: w };
    const a = nystromRef(q, k, v, { ...opts, style: 'authors' });
    const h = nystromRef(q, k, v, { ...opts, style: 'hf' });
    const l = nystromRef(q, k, v, { ...opts, style: 'lucidrains' });
    assert.ok(relFrobenius(h, a) < 1e-13, `hf ${pinvInit}`);
    assert.ok(relFrobenius(l, a) < 1e-12, `lucidrains ${pinvInit}`);
  }
});

test('reference: abs_rowcol ≈ original and paper ≈ exact (rows of k2 sum to 1)', () => {
  const shape = [2, 2, 40, 5];
  const { q, k, v } = makeQKV(shape, 31);
  const mask = new Float32Array(80).fill(1);
  mask.fill(0, 30, 40);
  for (const style of ['authors', 'hf', 'lucidrains']) {
    const o = { shape, style, landmarks: 8, mask };
    const keep = rowKeepFromMask(mask, shape);
    const r = (pinvInit) => nystromRef(q, k, v, { ...o, pinvInit });
    assert.ok(relFrobenius(r('abs_rowcol'), r('original'), keep) < 1e-12, `${style} abs_rowcol`);
    assert.ok(relFrobenius(r('paper'), r('exact'), keep) < 1e-12, `${style} paper`);
  }
});

test("reference: 'original' couples batch elements and heads, 'exact' does not", () => {
  const shape = [2, 2, 16, 4];
  const { q, k, v } = makeQKV(shape, 41);
  const per = 16 * 4;
  const sub = (x, i) => x.slice(i * per, (i + 1) * per);
  for (const [pinvInit, coupled] of [['original', true], ['exact', false], ['abs_rowcol', true], ['paper', false]]) {
    const all = nystromRef(q, k, v, { shape, landmarks: 4, pinvInit });
    let maxErr = 0;
    for (let i = 0; i < 4; i++) {
      const one = nystromRef(sub(q, i), sub(k, i), sub(v, i), { shape: [1, 1, 16, 4], landmarks: 4, pinvInit });
      maxErr = Math.max(maxErr, relFrobenius(all.subarray(i * per, (i + 1) * per), one));
    }
    if (coupled) assert.ok(maxErr > 1e-6, `${pinvInit} should couple (${maxErr})`);
    else assert.ok(maxErr < 1e-14, `${pinvInit} should not couple (${maxErr})`);
  }
});

test('reference: uneven equals the even split when m divides n; differs from pad otherwise', () => {
  const shape = [1, 2, 20, 3];
  const { q, k, v } = makeQKV(shape, 51);
  for (const style of ['authors', 'hf', 'lucidrains']) {
    const e = nystromRef(q, k, v, { shape, style, landmarks: 5, remainder: 'error' });
    const u = nystromRef(q, k, v, { shape, style, landmarks: 5, remainder: 'uneven' });
    const p = nystromRef(q, k, v, { shape, style, landmarks: 5, remainder: 'pad' });
    assert.equal(relFrobenius(u, e), 0);
    assert.equal(relFrobenius(p, e), 0);
    const u3 = nystromRef(q, k, v, { shape, style, landmarks: 3, remainder: 'uneven' });
    const p3 = nystromRef(q, k, v, { shape, style, landmarks: 3, remainder: 'pad' });
    assert.ok(relFrobenius(u3, p3) > 1e-4, style);
  }
  assert.throws(() => nystromRef(q, k, v, { shape, landmarks: 3, remainder: 'error' }), RangeError);
  assert.throws(() => nystromRef(q, k, v, { shape, landmarks: 21, remainder: 'uneven' }), RangeError);
});

test('reference: landmark of a constant segment is that constant (Q, K constant → output = mean V)', () => {
  // Constant Q and K: every landmark is the constant, all logits of a row are equal, so
  // k1 = J/m, k2 = P = J/m (idempotent), k3 = J/n. Z0 = 1·Pᵀ = P (column sums are 1), and one step
  // keeps P: P(7I−P) = 6P, P(15I−6P) = 9P, 0.25·P(13I−9P) = P. Output = (J/m·P)·(J/n·V) = mean(V).
  const [n, d, m] = [12, 3, 4];
  const shape = [1, 1, n, d];
  const q = new Float32Array(n * d).fill(0.7);
  const k = new Float32Array(n * d).fill(-1.3);
  const v = randn(n * d, 1, 8);
  const mean = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) mean[c] += v[i * d + c] / n;
  for (const style of ['authors', 'hf', 'lucidrains']) {
    const o = nystromRef(q, k, v, { shape, style, landmarks: m, pinvIterations: 6 });
    for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) close(o[i * d + c], mean[c], 1e-12, `${style} [${i}][${c}]`);
  }
});

test('reference: hf bias −FLT_MAX and lucidrains fill give exactly zero weight to masked keys', () => {
  const shape = [1, 1, 8, 2];
  const { q, k, v } = makeQKV(shape, 61);
  const mask = [1, 1, 0, 1, 1, 1, 0, 1];
  // Changing a masked V row must not change unmasked outputs (authors: V·mask in exact path; Nyström k3
  // weight exp(−1e9) = 0).
  const v2 = Float32Array.from(v);
  v2[2 * 2] += 100; v2[6 * 2 + 1] -= 50;
  const keep = rowKeepFromMask(mask, shape);
  for (const style of ['authors', 'hf', 'lucidrains']) {
    for (const m of [2, 4, 8]) {
      const a = nystromRef(q, k, v, { shape, style, mask, landmarks: m });
      const b = nystromRef(q, k, v2, { shape, style, mask, landmarks: m });
      assert.ok(relFrobenius(b, a, keep) < 1e-15, `${style} m=${m}`);
    }
  }
  assert.ok(F32_MAX === 3.4028234663852886e38 && Math.fround(F32_MAX) === F32_MAX);
});
