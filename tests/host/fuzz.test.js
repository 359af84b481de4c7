// CI slice of the reference fuzzer (tests/fuzz/reference-fuzz.mjs): fixed seeds, so every run draws
// the same cases (deterministic; a failure names the command that re-runs its case alone). The full
// fuzzer is `npm run fuzz` (100 000 cases). Also checks that the fuzzer itself catches a wrong library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz, drawCase, caseSeed, worstLines, failureText, tierCounts, MAX_COST, referenceCost } from '../fuzz/reference-fuzz.mjs';
import { lib, BUILD, tag } from './helpers.js';

/** [seed, cases]: the CI slice (about 5 s per build). */
const SLICES = [[20240601, 500], [7, 300]];

for (const [seed, cases] of SLICES) {
  test(tag(`fuzz: ${cases} random cases of seed ${seed} against the float64 reference`), (t) => {
    const s = runFuzz({ cases, seed, lib });
    const b = s.byStatus;
    t.diagnostic(`build=${BUILD} seed=${seed} cases=${s.cases} compared=${b.compared} fully-masked=${b['finite-only']} threw-as-required=${b.threw} failed=${b.failed} time=${(s.ms / 1000).toFixed(1)}s`);
    const worst = Object.values(s.worst).reduce((a, w) => Math.max(a, w.err), 0);
    t.diagnostic(`build=${BUILD} seed=${seed} worst rel err ${worst.toExponential(2)}`);
    for (const line of worstLines(s)) t.diagnostic(`build=${BUILD} ${line}`);
    if (s.emulated.length) t.diagnostic(`build=${BUILD} accepted past 1e-5: ${tierCounts(s)}`);
    for (const e of s.emulated) t.diagnostic(`build=${BUILD}   [${e.tier}] ${e.name}: ${e.text}`);
    assert.equal(s.cases, cases);
    assert.equal(s.failures.length, 0, `${s.failures.length} of ${s.cases} cases failed:\n${s.failures.map(failureText).join('\n')}`);
  });
}

test(tag('fuzz: cases are a pure function of (seed, index) and cover the space'), () => {
  assert.deepEqual(drawCase(5, 17), drawCase(5, 17));
  assert.notEqual(caseSeed(5, 17), caseSeed(5, 18));
  assert.notEqual(caseSeed(5, 17), caseSeed(6, 17));
  const specs = Array.from({ length: 2000 }, (_, i) => drawCase(99, i));
  const seen = (f) => new Set(specs.map(f));
  for (const kind of ['nystrom', 'softmax', 'nystrom-matrix', 'softmax-matrix']) assert.ok(seen((c) => c.kind).has(kind), kind);
  for (const style of ['authors', 'hf', 'lucidrains']) assert.ok(seen((c) => c.options.style).has(style), style);
  for (const r of [undefined, 'pad', 'uneven', 'error']) assert.ok(seen((c) => c.options.remainder).has(r), `remainder ${r}`);
  for (const p of [undefined, 'original', 'exact', 'abs_rowcol', 'paper']) assert.ok(seen((c) => c.options.pinvInit).has(p), `pinvInit ${p}`);
  for (const l of [undefined, 'bhnd', 'bnhd']) assert.ok(seen((c) => c.options.layout).has(l), `layout ${l}`);
  for (const n of [1, 2, 3, 63, 64, 65]) assert.ok(seen((c) => c.shape[2]).has(n), `n = ${n}`);
  for (const it of [0, 12]) assert.ok(seen((c) => c.options.pinvIterations).has(it), `pinvIterations ${it}`);
  for (const k of ['empty', 'one', 'segment', 'segments', 'random']) assert.ok(specs.some((c) => c.mask?.rows.includes(k)), `mask row ${k}`);
  assert.ok(specs.some((c) => c.conv && c.conv.ks > c.shape[2]), 'a conv kernel wider than n');
  assert.ok(specs.some((c) => c.expect === 'RangeError' && c.options.remainder === 'error'), 'remainder error must throw');
  assert.ok(specs.some((c) => c.expect === 'RangeError' && c.options.remainder === 'uneven'), 'remainder uneven must throw');
  assert.ok(specs.some((c) => c.kind === 'nystrom' && c.options.landmarks > c.shape[2] && !c.expect), 'm > n');
  assert.ok(specs.every((c) => referenceCost(c) <= MAX_COST || c.shape[2] <= 32));
});

/** The first `count` cases of `seed` that satisfy `keep` (explicit specs for runFuzz). */
function pickSpecs(seed, count, keep) {
  const out = [];
  for (let i = 0; out.length < count && i < 5000; i++) {
    const c = drawCase(seed, i);
    if (keep(c)) out.push(c);
  }
  return out;
}

test(tag('fuzz: the fuzzer catches a wrong library (output off by 1e-4 or 4e-5, NaN in masked rows, a missing RangeError)'), () => {
  const seed = 4242;
  const small = (c) => c.shape[2] <= 80 && !c.expect && !c.kind.endsWith('matrix');
  // Off by a relative 1e-4 on every element: every attention case with an unmasked row must fail
  // (none may slip through the float32-emulation, ±1-ulp or factor tiers).
  const noisy = { ...lib };
  noisy.nystromAttention = (...a) => lib.nystromAttention(...a).map((x, i) => x * (1 + 1e-4 * ((i % 7) - 3)));
  noisy.softmaxAttention = (...a) => lib.softmaxAttention(...a).map((x, i) => x * (1 + 1e-4 * ((i % 5) - 2)));
  const s1 = runFuzz({ specs: pickSpecs(seed, 16, small), lib: noisy });
  const shouldFail = s1.cases - s1.byStatus['finite-only'];
  assert.ok(shouldFail >= 8, `the slice must hold attention cases with unmasked rows (${shouldFail})`);
  assert.equal(s1.failures.length, shouldFail, `noisy library: ${s1.failures.length} failures of ${shouldFail}; accepted: ${s1.emulated.map((e) => e.name).join('; ')}`);
  // Just past the bar: a relative error of a few 1e-5 on well-conditioned inputs must fail too.
  const slight = { ...lib };
  slight.nystromAttention = (...a) => lib.nystromAttention(...a).map((x, i) => x * (1 + 2e-5 * ((i % 7) - 3)));
  const s1b = runFuzz({ specs: pickSpecs(seed + 1, 8, (c) => small(c) && c.kind === 'nystrom' && (c.options.pinvIterations ?? 6) <= 6), lib: slight });
  const shouldFail2 = s1b.cases - s1b.byStatus['finite-only'];
  assert.ok(shouldFail2 >= 4, `the slice must hold cases with unmasked rows (${shouldFail2})`);
  assert.equal(s1b.failures.length, shouldFail2, `slightly-off library: ${s1b.failures.length} failures of ${shouldFail2}; accepted: ${s1b.emulated.map((e) => `${e.name}: ${e.text}`).join('; ')}`);
  // NaN in the first output element when batch 0's first token is masked (unspecified rows must still be finite).
  const nan = { ...lib };
  nan.nystromAttention = (q, k, v, o) => {
    const out = lib.nystromAttention(q, k, v, o);
    if (o.mask && o.mask[0] === 0) out[0] = NaN;
    return out;
  };
  const s2 = runFuzz({ specs: pickSpecs(seed, 6, (c) => small(c) && c.kind === 'nystrom' && c.mask && !['ones', 'trailing'].includes(c.mask.rows[0])), lib: nan });
  assert.ok(s2.failures.some((f) => /non-finite/.test(f.result.fail)), 'NaN in a masked row is caught');
  // remainder 'error' not enforced.
  const lax = { ...lib };
  lax.nystromAttention = (q, k, v, o) => lib.nystromAttention(q, k, v, o.remainder === 'error' ? { ...o, remainder: 'pad' } : o);
  const s3 = runFuzz({ specs: pickSpecs(seed, 4, (c) => c.kind === 'nystrom' && c.expect && c.options.remainder === 'error'), lib: lax });
  assert.equal(s3.failures.length, s3.cases, 'every missing RangeError is caught');
  for (const f of s3.failures) assert.match(f.result.fail, /expected RangeError/);
  for (const f of [...s1.failures, ...s1b.failures, ...s2.failures, ...s3.failures]) assert.match(failureText(f), /re-run: node .*--seed \d+ --only \d+\n {2}case: \{/);
});
