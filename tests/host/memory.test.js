// Memory planning: every size is computed in JS numbers before anything is grown or written. Calls
// that fit run (even past 2 GiB); calls that do not are refused with RangeError code ERR_MEMORY
// naming the bytes, the limit and the longest sequence that fits — before any write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randn } from '../reference.js';
import { lib, tag } from './helpers.js';

const GiB = 2 ** 30;

/** Asserts fn throws RangeError ERR_MEMORY matching the patterns, without the process growing by much. */
function refused(what, fn, patterns = []) {
  const rss0 = process.memoryUsage().rss;
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${what}: did not throw`);
  assert.ok(err instanceof RangeError, `${what}: threw ${err?.constructor?.name}: ${err?.message}`);
  assert.equal(err.code, 'ERR_MEMORY', `${what}: code`);
  assert.match(err.message, /needs \d+ bytes/, `${what}: names the bytes`);
  for (const p of patterns) assert.match(err.message, p, `${what}: ${err.message}`);
  // Refused before writing: the wasm memory was not grown and written through.
  const grew = process.memoryUsage().rss - rss0;
  assert.ok(grew < 256 * 2 ** 20, `${what}: RSS grew by ${(grew / 2 ** 20).toFixed(0)} MiB before the refusal`);
  return err;
}

test(tag('memory: n = 2^24, d = 1, m = 64 (about 13 GB) is refused before any write, naming the longest n that fits'), () => {
  const n = 2 ** 24;
  const q = new Float32Array(n), k = new Float32Array(n), v = new Float32Array(n);
  const err = refused('nystrom 2^24', () => lib.nystromAttention(q, k, v, { shape: [1, 1, n, 1], landmarks: 64 }),
    [/4 GiB/, /longest sequence that fits with batch 1, heads 1, headDim 1, landmarks 64 is seqLen (\d+)/]);
  const most = Number(/is seqLen (\d+)/.exec(err.message)[1]);
  assert.ok(most > 1e6 && most < n, `longest n ${most}`);
  refused('plan 2^24', () => lib.createAttention({ shape: [1, 1, n, 1], landmarks: 64 }));
  // Exact attention needs O(n·d) memory (its scores never leave a small block): 2^24 × 1 fits in
  // 4 GiB (and would run for hours), so it is refused under a 512 MiB cap; its matrix never fits.
  const prev = lib.setMemoryLimit(512 * 2 ** 20);
  try {
    refused('softmax 2^24', () => lib.softmaxAttention(q, k, v, { shape: [1, 1, n, 1] }), [/limit set by setMemoryLimit/]);
  } finally {
    lib.setMemoryLimit(prev);
  }
  refused('softmax matrix 2^24', () => lib.softmaxAttentionMatrix(q, k, { shape: [1, 1, n, 1] }), [/4 GiB/]);
});

test(tag('memory: landmarks far past n are refused (authors 1e9, hf 2^31 − 1), lucidrains 1e5 too'), () => {
  const q = randn(10, 1, 1), k = randn(10, 1, 2), v = randn(10, 1, 3);
  const shape = [1, 1, 10, 1];
  refused('authors 1e9', () => lib.nystromAttention(q, k, v, { shape, landmarks: 1e9 }), [/no seqLen fits/]);
  refused('hf 2^31-1', () => lib.nystromAttention(q, k, v, { shape, style: 'hf', landmarks: 2 ** 31 - 1 }));
  // lucidrains pads a short sequence up to m: past 1024 landmarks that is refused outright (O(m³) pinv).
  assert.throws(() => lib.nystromAttention(q, k, v, { shape, style: 'lucidrains', landmarks: 1e5 }),
    (e) => e instanceof RangeError && e.code === 'ERR_OPTION' && /at most 1024 landmarks/.test(e.message));
  // The next normal call still works.
  const out = lib.nystromAttention(q, k, v, { shape, landmarks: 5 });
  assert.ok(out.every(Number.isFinite));
});

test(tag('memory: createMatmul that can never run is refused at creation'), () => {
  refused('createMatmul 1×2^27×1', () => lib.createMatmul({ m: 1, k: 2 ** 27, n: 1 }), [/matmul plan 1×134217728×1/]);
});

test(tag('memory: setMemoryLimit caps calls and plans; the longest n it names fits and n + 1 does not'), () => {
  const prev = lib.setMemoryLimit(32 * 2 ** 20);
  try {
    assert.equal(prev, 4 * GiB);
    assert.equal(lib.memoryLimit(), 32 * 2 ** 20);
    for (const [d, m] of [[64, 64], [16, 128], [1, 8]]) {
      const n = 2 ** 20;
      const big = new Float32Array(n * d);
      const err = refused(`d=${d} m=${m}`, () => lib.nystromAttention(big, big, big, { shape: [1, 1, n, d], landmarks: m }),
        [/limit set by setMemoryLimit, 33554432 bytes/]);
      const most = Number(/is seqLen (\d+)/.exec(err.message)[1]);
      const x = randn(most * d, 1, 5);
      const out = lib.nystromAttention(x, x, x, { shape: [1, 1, most, d], landmarks: m });
      assert.ok(out.every(Number.isFinite), `n = ${most} runs`);
      const y = new Float32Array((most + 1) * d);
      refused(`n + 1 = ${most + 1}`, () => lib.nystromAttention(y, y, y, { shape: [1, 1, most + 1, d], landmarks: m }));
    }
    refused('matmul past the limit', () => lib.matmul(new Float32Array(4096 * 4096), new Float32Array(4096), 4096, 4096, 1));
    // 1×2^26×1 (0.5 GB of operands; B packed into 8-column panels takes 2 GB): refused under a 1 GiB cap.
    lib.setMemoryLimit(GiB);
    const long = new Float32Array(2 ** 26);
    refused('matmul 1×2^26×1', () => lib.matmul(long, long, 1, 2 ** 26, 1), [/matmul 1×67108864×1 needs/, /1073741824 bytes/]);
    lib.setMemoryLimit(32 * 2 ** 20);
    refused('plan past the limit', () => lib.createAttention({ shape: [1, 1, 2 ** 16, 64], kind: 'softmax' }));
    for (const bad of [0, 1000, 2 ** 32 + 1, 1.5e6 + 0.5, NaN, '1e9', 10n]) {
      assert.throws(() => lib.setMemoryLimit(bad), (e) => (e instanceof RangeError || e instanceof TypeError) && e.code === 'ERR_OPTION', String(bad));
    }
    assert.equal(lib.memoryLimit(), 32 * 2 ** 20, 'a refused limit leaves the old one');
  } finally {
    lib.setMemoryLimit(4 * GiB);
  }
});
