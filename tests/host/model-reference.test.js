// Sanity checks of the float64 HF Nyströmformer reference itself (tests/model/reference.js): a 1-layer
// model worked out by hand, an independent naive re-derivation of one layer (heads, scaling, mask bias,
// conv taps), LayerNorm of constant rows, the attention paths, the tied decoder, the heads, and the
// quirks of shared MODEL.md (padding not isolated, batch coupling on the Nyström path, positions 2..n+1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  referenceForward, referenceMaskedLM, referenceSequenceClassification, erf, erfc, activation, ACTIVATIONS,
  layerNormRows, resolveConfig, attentionPath,
} from '../model/reference.js';
import { randomCheckpoint, smallConfig, randomIds } from '../model/checkpoint.js';
import { loadSafetensors } from '../../dist/model/safetensors.js';

/** Max |a − b| over all elements (optionally only the rows r with keep(r), rows of width w). */
function maxDiff(a, b, w, keep) {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (keep && !keep(Math.floor(i / w))) continue;
    m = Math.max(m, Math.abs(a[i] - b[i]));
  }
  return m;
}
const rowsOf = (x, w) => Array.from({ length: x.length / w }, (_, r) => Array.from(x.subarray(r * w, (r + 1) * w)));
const close = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('erf / erfc / activations against known values', () => {
  const known = [[0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [3, 0.9999779095030014], [0.01, 0.011283415555849618]];
  for (const [x, v] of known) {
    close(erf(x), v, 4e-16, `erf(${x})`);
    close(erf(-x), -v, 4e-16, `erf(${-x})`);
  }
  close(erfc(3), 2.209049699858544e-5, 1e-14, 'erfc(3)');
  close(erfc(5), 1.5374597944280349e-12, 1e-14, 'erfc(5)');
  close(erfc(10), 2.088487583762545e-45, 1e-13, 'erfc(10)');
  assert.equal(erf(0), 0);
  assert.equal(erf(Infinity), 1);
  const gelu = activation('gelu');
  close(gelu(1), 0.8413447460685429, 1e-15, 'gelu(1)');
  close(gelu(-3), -3 * 0.0013498980316300946, 1e-14, 'gelu(-3) = -3·Φ(-3)');
  close(gelu(-10), -10 * 7.61985302416047e-24, 1e-12, 'gelu(-10) keeps relative accuracy');
  close(activation('gelu_new')(1), 0.8411919906082768, 1e-12, 'gelu_new(1)');
  close(activation('gelu_fast')(1), 0.8411919906, 1e-9, 'gelu_fast(1)');
  close(activation('quick_gelu')(1), 1 / (1 + Math.exp(-1.702)), 1e-15, 'quick_gelu(1)');
  close(activation('silu')(-2), -2 / (1 + Math.exp(2)), 1e-15, 'silu(-2)');
  assert.equal(activation('relu')(-2), 0);
  assert.equal(activation('tanh')(0.5), Math.tanh(0.5));
  for (const [name, f] of Object.entries(ACTIVATIONS)) for (const x of [-50, -1, 0, 1, 50]) assert.ok(Number.isFinite(f(x)), `${name}(${x})`);
  assert.throws(() => activation('gelu_unknown'), TypeError);
});

test('a 1-layer, 1-head, hidden-2 model worked out by hand', () => {
  const eps = 1e-5;
  const config = {
    vocab_size: 3, hidden_size: 2, num_hidden_layers: 1, num_attention_heads: 1, intermediate_size: 2, hidden_act: 'relu',
    max_position_embeddings: 4, type_vocab_size: 1, layer_norm_eps: eps, conv_kernel_size: null, num_landmarks: 64, segment_means_seq_len: 64,
  };
  const I2 = [1, 0, 0, 1];
  const w = new Map(Object.entries({
    'embeddings.word_embeddings.weight': [1, -1, 0, 0, 0, 4],
    'embeddings.position_embeddings.weight': new Array(12).fill(0),
    'embeddings.token_type_embeddings.weight': [0, 0],
    'embeddings.LayerNorm.weight': [2, 1], 'embeddings.LayerNorm.bias': [0.5, -0.5],
    'encoder.layer.0.attention.self.query.weight': [2, 0, 0, 2], 'encoder.layer.0.attention.self.query.bias': [0, 0],
    'encoder.layer.0.attention.self.key.weight': I2, 'encoder.layer.0.attention.self.key.bias': [0, 0],
    'encoder.layer.0.attention.self.value.weight': I2, 'encoder.layer.0.attention.self.value.bias': [0, 1],
    'encoder.layer.0.attention.output.dense.weight': I2, 'encoder.layer.0.attention.output.dense.bias': [0, 0],
    'encoder.layer.0.attention.output.LayerNorm.weight': [1, 1], 'encoder.layer.0.attention.output.LayerNorm.bias': [0, 0],
    'encoder.layer.0.intermediate.dense.weight': I2, 'encoder.layer.0.intermediate.dense.bias': [0, 0],
    'encoder.layer.0.output.dense.weight': I2, 'encoder.layer.0.output.dense.bias': [0, 0],
    'encoder.layer.0.output.LayerNorm.weight': [1, 1], 'encoder.layer.0.output.LayerNorm.bias': [0, 0],
  }));
  // Embeddings (positions 2, 3 and type 0 are zero rows here): LN of [1, −1] and [0, 4].
  const s0 = 1 / Math.sqrt(1 + eps); // [1, −1]: mean 0, var 1
  const s1 = 2 / Math.sqrt(4 + eps); // [0, 4]: mean 2, var 4 → normalized [−s1, s1]
  const e = [[2 * s0 + 0.5, -s0 - 0.5], [-2 * s1 + 0.5, s1 - 0.5]];
  // Q = 2e, K = e, V = e + [0, 1]; scores = (Q/2^¼)·(K/2^¼) = 2·e_i·e_j/√2.
  const dot = (u, v) => u[0] * v[0] + u[1] * v[1];
  const V = e.map((r) => [r[0], r[1] + 1]);
  const ln2 = (u) => { const dl = (u[0] - u[1]) / 2; const t = dl / Math.sqrt(dl * dl + eps); return [t, -t]; };
  const expected = e.map((ei) => {
    const sc = e.map((ej) => (2 * dot(ei, ej)) / Math.SQRT2);
    const mx = Math.max(...sc);
    const ex = sc.map((z) => Math.exp(z - mx));
    const p = ex.map((z) => z / (ex[0] + ex[1]));
    const ctx = [p[0] * V[0][0] + p[1] * V[1][0], p[0] * V[0][1] + p[1] * V[1][1]];
    const a = ln2([ctx[0] + ei[0], ctx[1] + ei[1]]); // attention output LN(ctx + x)
    return ln2([Math.max(a[0], 0) + a[0], Math.max(a[1], 0) + a[1]]); // FFN: LN(relu(a) + a)
  });
  const out = referenceForward(w, config, [[0, 2]], { outputHiddenStates: true });
  assert.deepEqual(out.shape, [1, 2, 2]);
  assert.equal(out.path, 'exact');
  const emb = rowsOf(out.hiddenStates[0], 2);
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) close(emb[i][j], e[i][j], 1e-15, `embedding[${i}][${j}]`);
  const got = rowsOf(out.lastHiddenState, 2);
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) close(got[i][j], expected[i][j], 1e-14, `out[${i}][${j}]`);
  // Flat input with batch, typed-array ids and BigInt ids give the same.
  assert.deepEqual(referenceForward(w, config, new BigInt64Array([0n, 2n])).lastHiddenState, out.lastHiddenState);
});

/** One layer of HF's NystromformerLayer on the exact path, re-derived per (b, head, query) with scalar loops. */
function naiveLayer(W, c, x, B, n, mask, act) {
  const H = c.hidden_size;
  const nh = c.num_attention_heads;
  const d = H / nh;
  const k = c.conv_kernel_size;
  const p = 'encoder.layer.0.';
  const g = (name) => W.get(p + name).data;
  const lin = (v, name, inD, outD) => Array.from({ length: outD }, (_, o) => {
    let s = g(`${name}.bias`)[o];
    for (let i = 0; i < inD; i++) s += v[i] * g(`${name}.weight`)[o * inD + i];
    return s;
  });
  const ln = (v, name) => {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const vr = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
    return v.map((z, i) => ((z - mean) / Math.sqrt(vr + c.layer_norm_eps)) * g(`${name}.weight`)[i] + g(`${name}.bias`)[i]);
  };
  const out = [];
  for (let b = 0; b < B; b++) {
    const rows = x.slice(b * n, (b + 1) * n);
    const Q = rows.map((r) => lin(r, 'attention.self.query', H, H));
    const K = rows.map((r) => lin(r, 'attention.self.key', H, H));
    const V = rows.map((r) => lin(r, 'attention.self.value', H, H));
    for (let i = 0; i < n; i++) {
      const ctx = new Array(H).fill(0);
      for (let h = 0; h < nh; h++) {
        const sc = [];
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let t = 0; t < d; t++) s += (Q[i][h * d + t] / d ** 0.25) * (K[j][h * d + t] / d ** 0.25);
          sc.push(s + (1 - mask[b][j]) * -3.4028234663852886e38);
        }
        const mx = Math.max(...sc);
        const ex = sc.map((z) => Math.exp(z - mx));
        const sum = ex.reduce((a, z) => a + z, 0);
        for (let j = 0; j < n; j++) for (let t = 0; t < d; t++) ctx[h * d + t] += (ex[j] / sum) * V[j][h * d + t];
        // Conv2d(heads, heads, (k, 1), padding (k//2, 0), groups = heads) on the unmasked V, weight [h, 0, tap, 0].
        for (let tap = 0; tap < k; tap++) {
          const j = i + tap - (k >> 1);
          if (j < 0 || j >= n) continue;
          for (let t = 0; t < d; t++) ctx[h * d + t] += g('attention.self.conv.weight')[h * k + tap] * V[j][h * d + t];
        }
      }
      const a = ln(lin(ctx, 'attention.output.dense', H, H).map((z, t) => z + rows[i][t]), 'attention.output.LayerNorm');
      const inter = lin(a, 'intermediate.dense', H, c.intermediate_size).map(act);
      out.push(ln(lin(inter, 'output.dense', c.intermediate_size, H).map((z, t) => z + a[t]), 'output.LayerNorm'));
    }
  }
  return out;
}

test('one layer equals a naive per-head re-derivation (heads, d^¼ scaling, mask bias, conv taps, gelu erf)', () => {
  for (const [hidden, heads, conv] of [[16, 2, 3], [12, 3, 5]]) {
    const cfg = smallConfig({ num_hidden_layers: 1, hidden_size: hidden, num_attention_heads: heads, conv_kernel_size: conv, hidden_act: 'gelu' });
    const c = resolveConfig(cfg);
    const { weights } = randomCheckpoint(cfg, { seed: 11 + heads });
    const ids = randomIds(cfg, 2, 7, 5);
    const mask = [[1, 1, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1, 1]];
    const ref = referenceForward(weights, cfg, ids, { attentionMask: mask, outputHiddenStates: true });
    const x = rowsOf(ref.hiddenStates[0], hidden);
    const naive = naiveLayer(weights, c, x, 2, 7, mask, activation('gelu')).flat();
    const diff = maxDiff(ref.lastHiddenState, Float64Array.from(naive));
    assert.ok(diff < 1e-12, `hidden ${hidden}, heads ${heads}, conv ${conv}: max diff ${diff}`);
  }
});

test('LayerNorm: constant rows give the bias exactly-ish; a normalized row has mean 0, variance 1', () => {
  const cfg = smallConfig({ num_hidden_layers: 1 });
  const { weights } = randomCheckpoint(cfg, { seed: 4 });
  const w = new Map(weights);
  const H = cfg.hidden_size;
  const word = new Float32Array(cfg.vocab_size * H);
  for (let r = 0; r < cfg.vocab_size; r++) word.fill(r * 0.25 - 3, r * H, (r + 1) * H); // constant rows
  w.set('embeddings.word_embeddings.weight', { shape: [cfg.vocab_size, H], data: word });
  w.set('embeddings.position_embeddings.weight', { shape: [cfg.max_position_embeddings + 2, H], data: new Float32Array((cfg.max_position_embeddings + 2) * H) });
  w.set('embeddings.token_type_embeddings.weight', { shape: [2, H], data: new Float32Array(2 * H).fill(1.5) });
  const out = referenceForward(w, cfg, randomIds(cfg, 1, 6), { outputHiddenStates: true });
  const bias = w.get('embeddings.LayerNorm.bias').data;
  for (const row of rowsOf(out.hiddenStates[0], H)) for (let j = 0; j < H; j++) assert.ok(Math.abs(row[j] - bias[j]) < 1e-12, `${row[j]} vs bias ${bias[j]}`);

  const x = Float64Array.from([3, -1, 4, 1, 5, 9, 2, 6]);
  layerNormRows(x, 2, 4, [1, 1, 1, 1], [0, 0, 0, 0], 0);
  for (const r of rowsOf(x, 4)) {
    const mean = r.reduce((a, b) => a + b) / 4;
    close(mean, 0, 1e-15, 'mean');
    close(r.reduce((a, b) => a + b * b, 0) / 4, 1, 1e-15, 'variance');
  }
});

test('attention paths: config chooses exact iff num_landmarks == segment_means_seq_len; Nyström with m = n is exact', () => {
  const exactCfg = smallConfig();
  const nysCfg = smallConfig({ num_landmarks: 4 });
  assert.equal(attentionPath(exactCfg), 'exact');
  assert.equal(attentionPath(nysCfg), 'nystrom');
  assert.equal(attentionPath(smallConfig({ num_landmarks: 64, segment_means_seq_len: 64 })), 'exact');
  const { weights } = randomCheckpoint(exactCfg, { seed: 3 });
  const ids = randomIds(exactCfg, 2, 8, 9);
  const mask = [[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1]];
  const ex = referenceForward(weights, exactCfg, ids, { attentionMask: mask });
  assert.equal(ex.path, 'exact');
  // The same weights under the Nyström config, forced exact: identical (only the path depends on m).
  assert.deepEqual(referenceForward(weights, nysCfg, ids, { attentionMask: mask, attention: 'exact' }).lastHiddenState, ex.lastHiddenState);
  // The exact path at any n (n = 20 > segment_means_seq_len = 8).
  assert.equal(referenceForward(weights, exactCfg, randomIds(exactCfg, 1, 20)).lastHiddenState.length, 20 * 16);
  // Nyström with 8 landmarks at n = 8: the hf style takes exact attention.
  const ny8 = referenceForward(weights, exactCfg, ids, { attentionMask: mask, attention: 'nystrom' });
  assert.ok(maxDiff(ny8.lastHiddenState, ex.lastHiddenState) < 1e-12);
  // Nyström with 4 landmarks differs, visibly but not wildly.
  const ny4 = referenceForward(weights, nysCfg, ids, { attentionMask: mask });
  assert.equal(ny4.path, 'nystrom');
  const dd = maxDiff(ny4.lastHiddenState, ex.lastHiddenState);
  assert.ok(dd > 1e-3 && dd < 5, `Nyström vs exact: ${dd}`);
  // Config-chosen Nyström needs m | n (HF's reshape); attention: 'nystrom' pads by default.
  assert.throws(() => referenceForward(weights, nysCfg, randomIds(nysCfg, 1, 6)), RangeError);
  assert.equal(referenceForward(weights, nysCfg, randomIds(nysCfg, 1, 6), { attention: 'nystrom' }).lastHiddenState.length, 6 * 16);
});

test('MODEL.md quirk 2: padding is not isolated (conv on unmasked V; Nyström landmarks); without both it is', () => {
  const n = 8;
  const mask = [[1, 1, 1, 1, 1, 0, 0, 0]];
  const keepUnmasked = (r) => mask[0][r] === 1;
  const H = 16;
  const variants = (cfg, seed) => {
    const { weights } = randomCheckpoint(cfg, { seed });
    const ids = randomIds(cfg, 1, n, 21);
    const ids2 = ids.map((r) => r.slice());
    ids2[0][5] = (ids2[0][5] + 1) % cfg.vocab_size; // change a padded token only
    const o = { attentionMask: mask, outputHiddenStates: true };
    return [referenceForward(weights, cfg, ids, o), referenceForward(weights, cfg, ids2, o)];
  };
  // Exact path with conv: layer 1 changes only the unmasked neighbour (row 4) of the padded row 5;
  // layer 2 then changes every unmasked row.
  {
    const [a, b] = variants(smallConfig(), 31);
    const l1 = (r) => maxDiff(a.hiddenStates[1].subarray(r * H, (r + 1) * H), b.hiddenStates[1].subarray(r * H, (r + 1) * H));
    for (let r = 0; r < 4; r++) assert.equal(l1(r), 0, `exact+conv, layer 1, row ${r}`);
    assert.ok(l1(4) > 1e-4, `exact+conv, layer 1, row 4 (conv neighbour of a padded row): ${l1(4)}`);
    for (let r = 0; r < 5; r++) {
      const d2 = maxDiff(a.hiddenStates[2].subarray(r * H, (r + 1) * H), b.hiddenStates[2].subarray(r * H, (r + 1) * H));
      assert.ok(d2 > 1e-6, `exact+conv, layer 2, row ${r}: ${d2}`);
    }
    // Padded rows are computed like any other: finite and dependent on their token.
    assert.ok(a.lastHiddenState.every(Number.isFinite));
    assert.ok(maxDiff(a.lastHiddenState.subarray(5 * H, 6 * H), b.lastHiddenState.subarray(5 * H, 6 * H)) > 1e-3);
  }
  // Exact path without conv: unmasked rows are bitwise unaffected in every layer.
  {
    const [a, b] = variants(smallConfig({ conv_kernel_size: null }), 32);
    for (let l = 1; l <= 2; l++) assert.equal(maxDiff(a.hiddenStates[l], b.hiddenStates[l], H, keepUnmasked), 0, `exact, no conv, layer ${l}`);
  }
  // Nyström path without conv: padded Q, K enter the landmarks, so unmasked rows of layer 1 change.
  {
    const [a, b] = variants(smallConfig({ conv_kernel_size: null, num_landmarks: 4 }), 33);
    const d1 = maxDiff(a.hiddenStates[1], b.hiddenStates[1], H, keepUnmasked);
    assert.ok(d1 > 1e-6, `Nyström, no conv, layer 1: ${d1}`);
  }
});

test('MODEL.md quirk 3: on the Nyström path a sequence depends on its batch; on the exact path it does not', () => {
  for (const [cfg, coupled] of [[smallConfig({ num_landmarks: 4 }), true], [smallConfig(), false]]) {
    const { weights } = randomCheckpoint(cfg, { seed: 41 });
    const ids = randomIds(cfg, 2, 8, 42);
    const both = referenceForward(weights, cfg, ids).lastHiddenState;
    const alone = [0, 1].map((b) => referenceForward(weights, cfg, [ids[b]]).lastHiddenState);
    const d = Math.max(maxDiff(both.subarray(0, 8 * 16), alone[0]), maxDiff(both.subarray(8 * 16), alone[1]));
    if (coupled) assert.ok(d > 1e-9 && d < 1, `Nyström: batch changes a sequence by ${d}`);
    else assert.equal(d, 0, 'exact: batch elements are independent');
  }
});

test('positions are 2..n+1 whatever the padding; token types default to 0; n > max_position_embeddings throws', () => {
  const cfg = smallConfig();
  const { weights } = randomCheckpoint(cfg, { seed: 51 });
  const ids = randomIds(cfg, 2, 6, 52);
  const leftPad = [[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]];
  const base = referenceForward(weights, cfg, ids, { attentionMask: leftPad }).lastHiddenState;
  const pos = [0, 1].map(() => [2, 3, 4, 5, 6, 7]);
  assert.deepEqual(referenceForward(weights, cfg, ids, { attentionMask: leftPad, positionIds: pos }).lastHiddenState, base);
  assert.deepEqual(referenceForward(weights, cfg, ids, { attentionMask: leftPad, tokenTypeIds: [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]] }).lastHiddenState, base);
  const shifted = [0, 1].map(() => [0, 1, 2, 3, 4, 5]);
  assert.ok(maxDiff(referenceForward(weights, cfg, ids, { attentionMask: leftPad, positionIds: shifted }).lastHiddenState, base) > 1e-3);
  assert.ok(maxDiff(referenceForward(weights, cfg, ids, { attentionMask: leftPad, tokenTypeIds: [[1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]] }).lastHiddenState, base) > 1e-3);
  // max_position_embeddings = 64: n = 64 runs (positions up to 65, the table has 66 rows), n = 65 throws.
  assert.equal(referenceForward(weights, cfg, randomIds(cfg, 1, 64)).lastHiddenState.length, 64 * 16);
  assert.throws(() => referenceForward(weights, cfg, randomIds(cfg, 1, 65)), /max_position_embeddings/);
  assert.throws(() => referenceForward(weights, cfg, [[0, 50]]), /token id 50/);
});

test('weights: bare, prefixed, loadSafetensors output, plain object; buffers ignored; missing keys named', () => {
  const cfg = smallConfig();
  const bare = randomCheckpoint(cfg, { seed: 61 });
  const pref = randomCheckpoint(cfg, { seed: 61, prefix: 'nystromformer.', positionIdsBuffer: true, dtype: 'F32' });
  const ids = randomIds(cfg, 2, 8, 62);
  const a = referenceForward(bare.weights, cfg, ids).lastHiddenState;
  assert.deepEqual(referenceForward(pref.weights, cfg, ids).lastHiddenState, a);
  assert.deepEqual(referenceForward(loadSafetensors(pref.bytes).tensors, cfg, ids).lastHiddenState, a);
  assert.deepEqual(referenceForward(Object.fromEntries(bare.weights), cfg, ids).lastHiddenState, a);
  const raw = new Map([...bare.weights].map(([k, v]) => [k, v.data])); // bare typed arrays, no shapes
  assert.deepEqual(referenceForward(raw, cfg, ids).lastHiddenState, a);
  const missing = new Map(bare.weights);
  missing.delete('encoder.layer.1.attention.self.conv.weight');
  assert.throws(() => referenceForward(missing, cfg, ids), /encoder\.layer\.1\.attention\.self\.conv\.weight/);
  assert.throws(() => referenceForward(bare.weights, smallConfig({ hidden_size: 8 }), ids), /shape/);
  // F16 / BF16 checkpoints run on their rounded values.
  for (const dtype of ['F16', 'BF16']) {
    const r = randomCheckpoint(cfg, { seed: 61, dtype });
    const d = maxDiff(referenceForward(r.weights, cfg, ids).lastHiddenState, a);
    assert.ok(d > 0 && d < (dtype === 'F16' ? 0.05 : 0.5), `${dtype}: ${d}`);
  }
  const hs = referenceForward(bare.weights, cfg, ids, { outputHiddenStates: true });
  assert.equal(hs.hiddenStates.length, cfg.num_hidden_layers + 1);
  assert.deepEqual(hs.hiddenStates[cfg.num_hidden_layers], hs.lastHiddenState);
});

test('MaskedLM: tied decoder equals an explicit copy; an explicit decoder weight is used; logits by hand', () => {
  const cfg = smallConfig({ hidden_act: 'gelu' });
  const ids = randomIds(cfg, 2, 8, 72);
  const tied = randomCheckpoint(cfg, { seed: 71, head: 'mlm', tieDecoder: true });
  const explicit = randomCheckpoint(cfg, { seed: 71, head: 'mlm', tieDecoder: false });
  assert.ok(!tied.weights.has('cls.predictions.decoder.weight') && explicit.weights.has('cls.predictions.decoder.weight'));
  const t = referenceMaskedLM(tied.weights, cfg, ids);
  assert.deepEqual(t.shape, [2, 8, 50]);
  assert.deepEqual(referenceMaskedLM(explicit.weights, cfg, ids).logits, t.logits);
  const other = new Map(explicit.weights);
  const dec = other.get('cls.predictions.decoder.weight');
  other.set('cls.predictions.decoder.weight', { ...dec, data: dec.data.map((x) => -x) });
  assert.ok(maxDiff(referenceMaskedLM(other, cfg, ids).logits, t.logits) > 0.1);
  // Row 3 of batch 1 by hand: LayerNorm(gelu(h·Wdᵀ + bd))·Eᵀ + bias.
  const W = (k) => tied.weights.get(k).data;
  const H = 16;
  const h = t.lastHiddenState.subarray((8 + 3) * H, (8 + 4) * H);
  const gelu = activation('gelu');
  const z = Array.from({ length: H }, (_, o) => gelu(W('cls.predictions.transform.dense.bias')[o]
    + h.reduce((s, x, i) => s + x * W('cls.predictions.transform.dense.weight')[o * H + i], 0)));
  const mean = z.reduce((a, b) => a + b) / H;
  const vr = z.reduce((a, b) => a + (b - mean) ** 2, 0) / H;
  const y = z.map((v, i) => ((v - mean) / Math.sqrt(vr + 1e-5)) * W('cls.predictions.transform.LayerNorm.weight')[i] + W('cls.predictions.transform.LayerNorm.bias')[i]);
  const E = W('nystromformer.embeddings.word_embeddings.weight');
  for (let v = 0; v < 50; v++) {
    const want = W('cls.predictions.bias')[v] + y.reduce((s, x, i) => s + x * E[v * H + i], 0);
    close(t.logits[(8 + 3) * 50 + v], want, 1e-12, `logit ${v}`);
  }
  let big = 0;
  for (const x of t.logits) big = Math.max(big, Math.abs(x));
  assert.ok(big > 1, `logits are not trivially small (max ${big})`);
});

test('SequenceClassification: out_proj(act(dense(h[:, 0]))), num_labels from config / id2label', () => {
  for (const [over, L] of [[{}, 2], [{ num_labels: 3 }, 3], [{ id2label: { 0: 'a', 1: 'b', 2: 'c', 3: 'd' } }, 4]]) {
    const cfg = smallConfig({ hidden_act: 'quick_gelu', ...over });
    const ck = randomCheckpoint(cfg, { seed: 81, head: 'cls' });
    const ids = randomIds(cfg, 3, 8, 82);
    const r = referenceSequenceClassification(ck.weights, cfg, ids, { attentionMask: [[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 0]] });
    assert.deepEqual(r.shape, [3, L]);
    const W = (k) => ck.weights.get(k).data;
    const act = activation('quick_gelu');
    const H = 16;
    for (let b = 0; b < 3; b++) {
      const h0 = r.lastHiddenState.subarray(b * 8 * H, b * 8 * H + H);
      const z = Array.from({ length: H }, (_, o) => act(W('classifier.dense.bias')[o] + h0.reduce((s, x, i) => s + x * W('classifier.dense.weight')[o * H + i], 0)));
      for (let l = 0; l < L; l++) {
        close(r.logits[b * L + l], W('classifier.out_proj.bias')[l] + z.reduce((s, x, i) => s + x * W('classifier.out_proj.weight')[l * H + i], 0), 1e-13, `logit [${b}, ${l}]`);
      }
    }
  }
});

test('hidden_act is honoured and HF config defaults fill absent fields', () => {
  const c = resolveConfig({});
  assert.equal(c.hidden_act, 'gelu_new');
  assert.equal(c.layer_norm_eps, 1e-5);
  assert.equal(c.conv_kernel_size, 65);
  assert.equal(resolveConfig({ conv_kernel_size: null }).conv_kernel_size, null);
  assert.equal(c.numLabels, 2);
  const cfg = smallConfig();
  const { weights } = randomCheckpoint(cfg, { seed: 91 });
  const ids = randomIds(cfg, 1, 8, 92);
  const outs = ['gelu_new', 'gelu', 'relu', 'silu', 'tanh'].map((a) => referenceForward(weights, { ...cfg, hidden_act: a }, ids).lastHiddenState);
  for (let i = 1; i < outs.length; i++) assert.ok(maxDiff(outs[0], outs[i]) > 1e-4, `activation ${i} changes the output`);
  // gelu_new and gelu are close (tanh approximation), not equal.
  assert.ok(maxDiff(outs[0], outs[1]) < 0.05);
  assert.throws(() => referenceForward(weights, { ...cfg, hidden_act: 'nope' }, ids), TypeError);
});
