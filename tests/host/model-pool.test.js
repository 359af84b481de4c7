// The HF model on a worker pool (ModelOptions.pool, forwardAsync): bit-identical to the same model's
// forward on the calling thread whatever the thread count (exact and Nyström paths, masks, every
// hidden state, both heads); weights resident in the pool's memory beside other pool calls and other
// models; bad input rejected before any work; abort; a busy pool refuses synchronous use; a closed
// pool; forwardAsync without a pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { smallConfig, randomCheckpoint, randomIds } from '../model/checkpoint.js';
import { makeQKV } from '../reference.js';
import { lib, tag, BUILD, assertBitsEqual, withPool } from './helpers.js';

const { NystromformerModel, NystromformerForMaskedLM, NystromformerForSequenceClassification } = lib;
const CLASSES = { base: NystromformerModel, mlm: NystromformerForMaskedLM, cls: NystromformerForSequenceClassification };

function assertSameOutput(got, want, what) {
  assertBitsEqual(got.lastHiddenState, want.lastHiddenState, `${what}: lastHiddenState`);
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  assert.equal(got.hiddenStates?.length, want.hiddenStates?.length, `${what}: hidden states`);
  want.hiddenStates?.forEach((h, i) => assertBitsEqual(got.hiddenStates[i], h, `${what}: hidden state ${i}`));
  if (want.logits) {
    assertBitsEqual(got.logits, want.logits, `${what}: logits`);
    assert.deepEqual(got.logitsShape, want.logitsShape);
  }
}

const CASES = [
  { head: 'base', over: {}, options: {}, B: 3, n: 37 },
  { head: 'mlm', over: { num_landmarks: 4, segment_means_seq_len: 8 }, options: {}, B: 2, n: 21 },
  { head: 'cls', over: {}, options: { attention: 'nystrom', landmarks: 6 }, B: 2, n: 29 },
  { head: 'base', over: { num_attention_heads: 1, hidden_size: 8, num_landmarks: 5 }, options: { attention: 'nystrom' }, B: 1, n: 50 },
];

for (const threads of [1, 2, 3]) {
  test(tag(`model on a pool (${threads} threads): forwardAsync bit-identical to forward on the calling thread`), { timeout: 60_000 }, async () => {
    await withPool({ threads, inlineBelow: 0 }, async (pool) => {
      for (const [i, { head, over, options, B, n }] of CASES.entries()) {
        const config = smallConfig(over);
        const { bytes } = randomCheckpoint(config, { head, seed: 30 + i });
        const alone = CLASSES[head].fromSafetensors(bytes, config, options);
        const pooled = CLASSES[head].fromSafetensors(bytes, config, { ...options, pool });
        assert.equal(pooled.build, pool.build);
        assert.equal(pooled.attention, alone.attention);
        const ids = randomIds(config, B, n, 40 + i);
        const mask = ids.map((row, b) => row.map((_, j) => (j < n - 4 * b ? 1 : 0)));
        for (const opts of [{}, { attentionMask: mask, outputHiddenStates: true }]) {
          const want = alone.forward(ids, opts);
          const what = `${head} ${JSON.stringify(options)} ${opts.attentionMask ? 'masked' : 'plain'}`;
          assertSameOutput(await pooled.forwardAsync(ids, opts), want, what);
          // The calling thread on the pool's memory (the pool idle) gives the same bits too.
          assertSameOutput(pooled.forward(ids, opts), want, `${what} (forward on the pool's memory)`);
        }
        alone.dispose();
        pooled.dispose();
      }
    });
  });
}

test(tag('model on a pool: weights stay resident beside pool calls and other models; dispose frees them'), { timeout: 60_000 }, async () => {
  await withPool({ threads: 2, inlineBelow: 0 }, async (pool) => {
    const config = smallConfig();
    const a = randomCheckpoint(config, { seed: 51 }), b = randomCheckpoint(config, { head: 'mlm', seed: 52 });
    const ids = randomIds(config, 2, 30, 53);
    const wantA = NystromformerModel.fromSafetensors(a.bytes, config).forward(ids);
    const wantB = NystromformerForMaskedLM.fromSafetensors(b.bytes, config).forward(ids);
    const ma = NystromformerModel.fromSafetensors(a.bytes, config, { pool });
    const mb = NystromformerForMaskedLM.fromSafetensors(b.bytes, config, { pool });
    // A large pool call lays out its memory above both models' weights.
    const shape = [1, 4, 2048, 64];
    const { q, k, v } = makeQKV(shape, 54);
    // Issued together: they queue, one at a time on the pool's memory.
    const [ra, att, rb] = await Promise.all([ma.forwardAsync(ids), pool.softmaxAttention(q, k, v, { shape }), mb.forwardAsync(ids)]);
    assertSameOutput(ra, wantA, 'model A beside a pool call');
    assertSameOutput(rb, wantB, 'model B beside a pool call');
    assertBitsEqual(att, lib.softmaxAttention(q, k, v, { shape }), 'the pool call beside the models');
    // Disposing the lower model keeps the upper one intact; a new model loads; calls still agree.
    ma.dispose();
    await assert.rejects(ma.forwardAsync(ids), (e) => e.code === 'ERR_DISPOSED');
    const mc = NystromformerModel.fromSafetensors(a.bytes, config, { pool });
    assertSameOutput(await mc.forwardAsync(ids), wantA, 'a model loaded after a dispose');
    assertSameOutput(await mb.forwardAsync(ids), wantB, 'model B after model A was disposed');
    mb.dispose();
    mc.dispose();
  });
});

test(tag('model on a pool: bad input rejects before any work, abort, busy, closed'), { timeout: 60_000 }, async () => {
  const config = smallConfig({ max_position_embeddings: 512 });
  const { bytes } = randomCheckpoint(config, { head: 'mlm', seed: 61 });
  const ids = randomIds(config, 1, 500, 62);
  const want = NystromformerForMaskedLM.fromSafetensors(bytes, config).forward(ids);
  const pool = await lib.createPool({ threads: 2 });
  const model = NystromformerForMaskedLM.fromSafetensors(bytes, config, { pool });
  // The synchronous call's error class and code, as a rejection.
  await assert.rejects(model.forwardAsync([[1, 2], [3]]), (e) => e instanceof RangeError && e.code === 'ERR_OPTION');
  await assert.rejects(model.forwardAsync(ids, { attentionMask: [[1]] }), (e) => e instanceof RangeError && /attentionMask/.test(e.message));
  await assert.rejects(model.forwardAsync(ids, { signal: 'stop' }), (e) => e instanceof TypeError && /signal/.test(e.message));
  await assert.rejects(model.forwardAsync(ids, { bogus: 1 }), (e) => e instanceof TypeError && e.code === 'ERR_OPTION');
  await assert.rejects(model.forwardAsync(ids, { signal: AbortSignal.abort() }), (e) => e.name === 'AbortError');
  // While a call runs, the pool's memory is in use: synchronous use is refused, not corrupted.
  const running = model.forwardAsync(ids);
  assert.throws(() => model.forward(ids), (e) => e.code === 'ERR_BUSY');
  assert.throws(() => NystromformerModel.fromSafetensors(bytes, config, { pool }), (e) => e.code === 'ERR_BUSY');
  assertSameOutput(await running, want, 'the call that ran while the others were refused');
  // Aborted mid-call (it may also finish first on a fast machine): the next call is right.
  const ac = new AbortController();
  const p = model.forwardAsync(ids, { signal: ac.signal });
  setTimeout(() => ac.abort(), 1);
  await p.then(() => {}, (e) => assert.equal(e.name, 'AbortError'));
  assertSameOutput(await model.forwardAsync(ids), want, 'the call after an abort');
  // Options that contradict the pool.
  assert.throws(() => NystromformerModel.fromSafetensors(bytes, config, { pool: {} }), (e) => e instanceof TypeError && /options.pool/.test(e.message));
  const other = BUILD === 'simd' ? 'relaxed' : 'simd';
  assert.throws(() => NystromformerModel.fromSafetensors(bytes, config, { pool, build: other }), (e) => /build/.test(e.message)); // RangeError, or ERR_UNSUPPORTED where relaxed SIMD is off
  await pool.close();
  await assert.rejects(model.forwardAsync(ids), (e) => /closed/.test(e.message));
  assert.throws(() => model.forward(ids), (e) => e.code === 'ERR_DISPOSED' && /closed/.test(e.message));
  assert.throws(() => NystromformerModel.fromSafetensors(bytes, config, { pool }), (e) => /closed/.test(e.message));
  model.dispose();
});

test(tag('model: forwardAsync without a pool is forward as a Promise'), async () => {
  const config = smallConfig();
  const { bytes } = randomCheckpoint(config, { head: 'cls', seed: 71 });
  const model = NystromformerForSequenceClassification.fromSafetensors(bytes, config);
  const ids = randomIds(config, 2, 12, 72);
  assertSameOutput(await model.forwardAsync(ids, { outputHiddenStates: true, signal: new AbortController().signal }), model.forward(ids, { outputHiddenStates: true }), 'forwardAsync');
  await assert.rejects(model.forwardAsync(ids, { signal: AbortSignal.abort() }), (e) => e.name === 'AbortError');
  await assert.rejects(model.forwardAsync([[-1]]), (e) => e instanceof RangeError);
  model.dispose();
  await assert.rejects(model.forwardAsync(ids), (e) => e.code === 'ERR_DISPOSED');
});
