// The HF Nyströmformer forward pass from safetensors (src/model/model.ts) against the float64
// reference written from MODEL.md (tests/model/reference.js), on small random checkpoints
// (tests/model/checkpoint.js): every row of last_hidden_state, every hidden state and the logits,
// exact and Nyström paths, masks, token types, positions, both heads, F32/F16/BF16, bare and
// prefixed names; and the errors of bad checkpoints and bad inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { smallConfig, randomCheckpoint, randomIds } from '../model/checkpoint.js';
import { referenceForward, referenceMaskedLM, referenceSequenceClassification } from '../model/reference.js';
import { lib, tag, TOL, assertBitsEqual } from './helpers.js';

const { NystromformerModel, NystromformerForMaskedLM, NystromformerForSequenceClassification } = lib;

function rel(got, want) {
  let num = 0, den = 0;
  for (let i = 0; i < want.length; i++) {
    const d = got[i] - want[i];
    num += d * d;
    den += want[i] * want[i];
  }
  return Math.sqrt(num / den);
}

/** Relative error of every row (hidden-size slices) — padded rows included (they feed the next layer). */
function worstRow(got, want, H) {
  let worst = 0;
  for (let r = 0; r < want.length / H; r++) worst = Math.max(worst, rel(got.subarray(r * H, (r + 1) * H), want.subarray(r * H, (r + 1) * H)));
  return worst;
}

const B = 2, n = 16;
const MASK = [Array(n).fill(1), [...Array(n - 5).fill(1), 0, 0, 0, 0, 0]];
const TYPES = [Array(n).fill(0), [...Array(8).fill(0), ...Array(8).fill(1)]];

const PATHS = [
  { name: 'exact (config: num_landmarks = segment_means_seq_len)', over: {}, options: {}, path: 'exact' },
  { name: 'Nyström (config: 4 landmarks)', over: { num_landmarks: 4, segment_means_seq_len: 8 }, options: {}, path: 'nystrom' },
  { name: "Nyström forced (attention: 'nystrom', 6 landmarks, n % m ≠ 0: left padding)", over: {}, options: { attention: 'nystrom', landmarks: 6 }, path: 'nystrom', ref: { attention: 'nystrom', landmarks: 6, remainder: 'pad' } },
  { name: "exact forced on a Nyström config", over: { num_landmarks: 4 }, options: { attention: 'exact' }, path: 'exact', ref: { attention: 'exact' } },
  { name: 'Nyström, conv off, gelu (erf), inv_coeff_init_option', over: { num_landmarks: 4, conv_kernel_size: null, hidden_act: 'gelu', inv_coeff_init_option: true }, options: {}, path: 'nystrom' },
];

for (const p of PATHS) {
  test(tag(`model: ${p.name} — every row of every hidden state within ${TOL} of the float64 reference`), () => {
    const config = smallConfig(p.over);
    for (const dtype of ['F32', 'F16', 'BF16']) {
      for (const prefix of ['', 'nystromformer.']) {
        const { bytes, weights } = randomCheckpoint(config, { dtype, prefix, seed: 11, positionIdsBuffer: prefix === '' });
        const model = NystromformerModel.fromSafetensors(bytes, config, p.options);
        assert.equal(model.attention, p.path);
        const ids = randomIds(config, B, n, 5);
        const opts = { attentionMask: MASK, tokenTypeIds: TYPES, outputHiddenStates: true };
        const got = model.forward(ids, opts);
        const want = referenceForward(weights, config, ids, { ...opts, ...(p.ref ?? {}) });
        assert.deepEqual(got.shape, [B, n, config.hidden_size]);
        assert.equal(got.hiddenStates.length, config.num_hidden_layers + 1);
        const H = config.hidden_size;
        const errs = got.hiddenStates.map((h, i) => worstRow(h, want.hiddenStates[i], H));
        const last = worstRow(got.lastHiddenState, want.lastHiddenState, H);
        assert.ok(Math.max(last, ...errs) <= TOL, `${dtype} '${prefix}': worst row ${last.toExponential(2)}, hidden ${errs.map((e) => e.toExponential(1))}`);
        // The same call again (the plan of this shape is reused) gives the same bits.
        assertBitsEqual(model.forward(ids, opts).lastHiddenState, got.lastHiddenState, 'second forward');
        model.dispose();
      }
    }
  });
}

test(tag('model: positionIds, no mask, another shape after the first (a new plan), B = 1'), () => {
  const config = smallConfig({ num_landmarks: 4 });
  const { bytes, weights } = randomCheckpoint(config, { seed: 12 });
  const model = NystromformerModel.fromSafetensors(bytes, config);
  for (const [b, len] of [[1, 8], [3, 20], [1, 8]]) {
    const ids = randomIds(config, b, len, len);
    const positionIds = Array.from({ length: b }, (_, r) => Array.from({ length: len }, (_, i) => (i * 3 + r) % 60));
    const got = model.forward(ids, { positionIds });
    const want = referenceForward(weights, config, ids, { positionIds, remainder: 'pad' });
    assert.ok(worstRow(got.lastHiddenState, want.lastHiddenState, config.hidden_size) <= TOL, `[${b}, ${len}]`);
  }
  model.dispose();
});

test(tag('model: MaskedLM logits (tied and untied decoder) and sequence classification logits'), () => {
  for (const [over, label] of [[{}, 'exact'], [{ num_landmarks: 4 }, 'nystrom']]) {
    const config = smallConfig({ ...over, num_labels: 3 });
    const ids = randomIds(config, B, n, 9);
    const opts = { attentionMask: MASK };
    for (const tieDecoder of [true, false]) {
      const { bytes, weights } = randomCheckpoint(config, { head: 'mlm', tieDecoder, seed: 13 });
      const model = NystromformerForMaskedLM.fromSafetensors(bytes, config);
      const got = model.forward(ids, opts);
      const want = referenceMaskedLM(weights, config, ids, opts);
      assert.deepEqual(got.logitsShape, [B, n, config.vocab_size]);
      const e = worstRow(got.logits, want.logits, config.vocab_size);
      assert.ok(e <= TOL, `${label} MLM tied=${tieDecoder}: ${e.toExponential(2)}`);
      model.dispose();
    }
    const { bytes, weights } = randomCheckpoint(config, { head: 'cls', seed: 14 });
    const model = NystromformerForSequenceClassification.fromSafetensors(bytes, config);
    const got = model.forward(ids, opts);
    const want = referenceSequenceClassification(weights, config, ids, opts);
    assert.deepEqual(got.logitsShape, [B, 3]);
    const e = rel(got.logits, want.logits);
    assert.ok(e <= TOL, `${label} classification: ${e.toExponential(2)}`);
    model.dispose();
  }
});

test(tag('model: every activation HF configs name'), () => {
  for (const act of ['gelu_new', 'gelu', 'relu', 'gelu_fast', 'quick_gelu', 'silu', 'tanh']) {
    const config = smallConfig({ hidden_act: act, num_hidden_layers: 1 });
    const { bytes, weights } = randomCheckpoint(config, { seed: 15 });
    const model = NystromformerModel.fromSafetensors(bytes, config);
    const ids = randomIds(config, 1, 10, 3);
    const e = worstRow(model.forward(ids).lastHiddenState, referenceForward(weights, config, ids).lastHiddenState, config.hidden_size);
    assert.ok(e <= TOL, `${act}: ${e.toExponential(2)}`);
    model.dispose();
  }
});

test(tag('model: bad checkpoints and configs are clear errors (ERR_CHECKPOINT), never a trap'), () => {
  const config = smallConfig();
  const { bytes } = randomCheckpoint(config, { seed: 16 });
  const bad = (what, fn, pattern) => assert.throws(fn, (e) => (e instanceof TypeError || e instanceof RangeError) && e.code === 'ERR_CHECKPOINT' && pattern.test(e.message), what);
  bad('a truncated file', () => NystromformerModel.fromSafetensors(bytes.subarray(0, bytes.length - 10), config), /./);
  bad('not bytes', () => NystromformerModel.fromSafetensors([1, 2, 3], config), /Uint8Array/);
  bad('a config with another hidden size', () => NystromformerModel.fromSafetensors(bytes, { ...config, hidden_size: 32, num_attention_heads: 2 }), /shape \[.*\]; the config needs/);
  bad('more layers than the file has', () => NystromformerModel.fromSafetensors(bytes, { ...config, num_hidden_layers: 3 }), /encoder\.layer\.2/);
  bad('heads not dividing hidden', () => NystromformerModel.fromSafetensors(bytes, { ...config, num_attention_heads: 3 }), /multiple of num_attention_heads/);
  bad('an unknown activation', () => NystromformerModel.fromSafetensors(bytes, { ...config, hidden_act: 'swish2' }), /hidden_act/);
  bad('an even conv kernel', () => NystromformerModel.fromSafetensors(bytes, { ...config, conv_kernel_size: 4 }), /odd/);
  bad('a head the file lacks', () => NystromformerForSequenceClassification.fromSafetensors(bytes, config), /classifier\.dense\.weight/);
  bad('no config', () => NystromformerModel.fromSafetensors(bytes, null), /config/);
  assert.throws(() => NystromformerModel.fromSafetensors(bytes, config, { attention: 'fast' }), (e) => e instanceof TypeError && e.code === 'ERR_OPTION');
  assert.throws(() => NystromformerModel.fromSafetensors(bytes, config, { atention: 'exact' }), (e) => e.code === 'ERR_OPTION' && /did you mean 'attention'/.test(e.message));
});

test(tag('model: bad inputs to forward are clear errors and the next call works'), () => {
  const config = smallConfig();
  const { bytes } = randomCheckpoint(config, { seed: 17 });
  const model = NystromformerModel.fromSafetensors(bytes, config);
  const ids = randomIds(config, 2, 8, 1);
  const good = model.forward(ids).lastHiddenState;
  const cases = [
    [() => model.forward([[1, 2, 50]]), RangeError, /inputIds\[0\]\[2\] must be an integer in \[0, 50\), got 50/],
    [() => model.forward([[1, 2, -1]]), RangeError, /got -1/],
    [() => model.forward([[1, 2, 3], [1, 2]]), RangeError, /ragged/],
    [() => model.forward([]), TypeError, /non-empty/],
    [() => model.forward('hello'), TypeError, /inputIds/],
    [() => model.forward([Array(65).fill(3)]), RangeError, /max_position_embeddings \(64\)/],
    [() => model.forward(ids, { attentionMask: [[1, 1]] }), RangeError, /attentionMask has 1 rows/],
    [() => model.forward(ids, { attentionMask: [Array(8).fill(1), Array(7).fill(1)] }), RangeError, /attentionMask\[1\] has 7 entries/],
    [() => model.forward(ids, { attentionMask: [Array(8).fill(2), Array(8).fill(1)] }), RangeError, /must be 0 or 1/],
    [() => model.forward(ids, { tokenTypeIds: [Array(8).fill(2), Array(8).fill(0)] }), RangeError, /tokenTypeIds\[0\]\[0\]/],
    [() => model.forward(ids, { outputHiddenStates: 'yes' }), TypeError, /boolean/],
    [() => model.forward(ids, { attention_mask: [] }), TypeError, /did you mean 'attentionMask'/],
  ];
  for (const [fn, Class, pattern] of cases) {
    assert.throws(fn, (e) => e instanceof Class && e.code === 'ERR_OPTION' && pattern.test(e.message), String(pattern));
    assertBitsEqual(model.forward(ids).lastHiddenState, good, `after ${pattern}`);
  }
  assertBitsEqual(model.forward([Int32Array.from(ids[0]), Int32Array.from(ids[1])]).lastHiddenState, good, 'Int32Array rows');
  model.dispose();
  assert.throws(() => model.forward(ids), (e) => e.code === 'ERR_DISPOSED');
  model.dispose();
});

test(tag('model: fromPretrained from a directory path, a file: URL and an http URL (with progress); missing files are clear errors'), async () => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const { createServer } = await import('node:http');
  const config = smallConfig({ num_landmarks: 4 });
  const { bytes } = randomCheckpoint(config, { head: 'mlm', seed: 18 });
  const dir = await mkdtemp(join(tmpdir(), 'nystrom-model-'));
  const server = createServer((req, res) => {
    const file = req.url === '/ckpt/config.json' ? Buffer.from(JSON.stringify(config)) : req.url === '/ckpt/model.safetensors' ? Buffer.from(bytes) : null;
    if (!file) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Length': file.length });
    res.end(file);
  });
  try {
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    await writeFile(join(dir, 'model.safetensors'), bytes);
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const ids = randomIds(config, 1, 12, 2);
    const want = NystromformerForMaskedLM.fromSafetensors(bytes, config);
    const expected = want.forward(ids).logits;
    want.dispose();
    for (const where of [dir, pathToFileURL(dir + '/'), `http://127.0.0.1:${server.address().port}/ckpt`]) {
      const seen = [];
      const model = await NystromformerForMaskedLM.fromPretrained(where, { onProgress: (p) => seen.push(p) });
      assertBitsEqual(model.forward(ids).logits, expected, `fromPretrained(${where})`);
      const last = seen.filter((p) => p.file === 'model.safetensors').at(-1);
      assert.equal(last.loaded, bytes.length, `progress reached the file size (${where})`);
      model.dispose();
    }
    await assert.rejects(NystromformerModel.fromPretrained(join(dir, 'nowhere')), (e) => e.code === 'ERR_CHECKPOINT' && /config\.json/.test(e.message));
    await assert.rejects(NystromformerModel.fromPretrained(`http://127.0.0.1:${server.address().port}/missing/`), (e) => e.code === 'ERR_CHECKPOINT');
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
