// Random Nyströmformer checkpoints (safetensors) for tests and examples, with the HF key names of
// shared MODEL.md and weights scaled like a trained model: LayerNorm weights ~1, biases small, matrices
// ~N(0, s²/fan_in) with s ≈ 1 (Q and K a little larger so attention is not uniform), embeddings ~N(0, 0.25),
// so hidden states, logits and attention weights are far from trivial.
//
// Needs the built library (dist/model/safetensors.js: `npm run build` or `npx tsc -p tsconfig.json`).

import { writeSafetensors, loadSafetensors } from '../../dist/model/safetensors.js';
import { gaussian, mulberry32 } from '../reference.js';
import { resolveConfig, PREFIX } from './reference.js';

/**
 * A small config (config.json fields) for tests: vocab 50, hidden 16, 2 layers, 2 heads, intermediate 24,
 * gelu_new, conv 3, max_position_embeddings 64, type_vocab 2, eps 1e-5, num_landmarks =
 * segment_means_seq_len = 8 (the exact path; pass e.g. { num_landmarks: 4 } for the Nyström path).
 */
export function smallConfig(overrides = {}) {
  return {
    model_type: 'nystromformer',
    vocab_size: 50,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 24,
    hidden_act: 'gelu_new',
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: 64,
    type_vocab_size: 2,
    initializer_range: 0.02,
    layer_norm_eps: 1e-5,
    pad_token_id: 1,
    bos_token_id: 0,
    eos_token_id: 2,
    segment_means_seq_len: 8,
    num_landmarks: 8,
    conv_kernel_size: 3,
    inv_coeff_init_option: false,
    position_embedding_type: 'absolute',
    ...overrides,
  };
}

/**
 * The base-model tensors (bare names) and their shapes for a config, in state_dict order.
 * @returns Array of [name, shape]
 */
export function baseTensorShapes(config) {
  const c = resolveConfig(config);
  const H = c.hidden_size;
  const I = c.intermediate_size;
  const out = [
    ['embeddings.word_embeddings.weight', [c.vocab_size, H]],
    ['embeddings.position_embeddings.weight', [c.max_position_embeddings + 2, H]],
    ['embeddings.token_type_embeddings.weight', [c.type_vocab_size, H]],
    ['embeddings.LayerNorm.weight', [H]],
    ['embeddings.LayerNorm.bias', [H]],
  ];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const w of ['query', 'key', 'value']) out.push([`${p}attention.self.${w}.weight`, [H, H]], [`${p}attention.self.${w}.bias`, [H]]);
    if (c.conv_kernel_size != null) out.push([`${p}attention.self.conv.weight`, [c.num_attention_heads, 1, c.conv_kernel_size, 1]]);
    out.push(
      [`${p}attention.output.dense.weight`, [H, H]], [`${p}attention.output.dense.bias`, [H]],
      [`${p}attention.output.LayerNorm.weight`, [H]], [`${p}attention.output.LayerNorm.bias`, [H]],
      [`${p}intermediate.dense.weight`, [I, H]], [`${p}intermediate.dense.bias`, [I]],
      [`${p}output.dense.weight`, [H, I]], [`${p}output.dense.bias`, [H]],
      [`${p}output.LayerNorm.weight`, [H]], [`${p}output.LayerNorm.bias`, [H]],
    );
  }
  return out;
}

/**
 * A random checkpoint for a config.
 * @param config config.json fields (smallConfig() for tests)
 * @param options
 *   dtype    'F32' (default) | 'F16' | 'BF16' | 'F64': the dtype of every float tensor in the file
 *   prefix   '' (default for head 'base') | 'nystromformer.' (default for 'mlm' and 'cls'): base-model key prefix
 *   head     'base' (NystromformerModel, default) | 'mlm' (…ForMaskedLM) | 'cls' (…ForSequenceClassification)
 *   positionIdsBuffer  also store the int64 buffer embeddings.position_ids [1, max_pos] = 2..max_pos+1 (older files)
 *   tieDecoder  with head 'mlm': true (default) leaves cls.predictions.decoder.weight out (tied to the word
 *               embeddings, as newer files do); false stores it explicitly, equal to the word embeddings
 *   seed     (default 1)
 *   metadata __metadata__ (default { format: 'pt' })
 * @returns { bytes: Uint8Array (the safetensors file), weights: Map name → { dtype, shape, data } with the
 *   values exactly as stored (after F16/BF16 rounding; floats as Float32Array, the buffer as BigInt64Array),
 *   the same as loadSafetensors(bytes).tensors; config }
 */
export function randomCheckpoint(config, options = {}) {
  const c = resolveConfig(config);
  const dtype = options.dtype ?? 'F32';
  const head = options.head ?? 'base';
  if (!['base', 'mlm', 'cls'].includes(head)) throw new TypeError(`randomCheckpoint: unknown head ${head}`);
  const prefix = options.prefix ?? (head === 'base' ? '' : PREFIX);
  const tieDecoder = options.tieDecoder ?? true;
  const g = gaussian(mulberry32(options.seed ?? 1));
  const H = c.hidden_size;
  const randn = (count, std, mean = 0) => {
    const a = new Float64Array(count);
    for (let i = 0; i < count; i++) a[i] = mean + std * g();
    return a;
  };

  /** The distribution of each tensor, by its bare name. */
  function sample(name, shape) {
    const count = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length === 2 ? shape[1] : 1;
    if (name.endsWith('LayerNorm.weight')) return randn(count, 0.1, 1);
    if (name.endsWith('LayerNorm.bias')) return randn(count, 0.05);
    if (name.endsWith('conv.weight')) return randn(count, 0.3);
    if (name.includes('embeddings.')) {
      const e = randn(count, name.includes('word') ? 0.5 : 0.3);
      // padding_idx only zeroed that row at init (MODEL.md): trained files keep it zero.
      if (name.includes('word') && c.pad_token_id != null && c.pad_token_id < shape[0]) e.fill(0, c.pad_token_id * H, (c.pad_token_id + 1) * H);
      return e;
    }
    if (name.endsWith('.bias')) return randn(count, 0.05);
    const s = /attention\.self\.(query|key)\.weight$/.test(name) ? 1.5 : 1;
    return randn(count, s / Math.sqrt(fanIn));
  }

  const tensors = new Map();
  for (const [name, shape] of baseTensorShapes(c)) {
    tensors.set(prefix + name, { dtype, shape, data: sample(name, shape) });
    if (name === 'embeddings.token_type_embeddings.weight' && options.positionIdsBuffer) {
      const max = c.max_position_embeddings;
      tensors.set(`${prefix}embeddings.position_ids`, {
        dtype: 'I64', shape: [1, max], data: Array.from({ length: max }, (_, i) => BigInt(i + 2)),
      });
    }
  }
  if (head === 'mlm') {
    tensors.set('cls.predictions.bias', { dtype, shape: [c.vocab_size], data: randn(c.vocab_size, 0.1) });
    tensors.set('cls.predictions.transform.dense.weight', { dtype, shape: [H, H], data: randn(H * H, 1 / Math.sqrt(H)) });
    tensors.set('cls.predictions.transform.dense.bias', { dtype, shape: [H], data: randn(H, 0.05) });
    tensors.set('cls.predictions.transform.LayerNorm.weight', { dtype, shape: [H], data: randn(H, 0.1, 1) });
    tensors.set('cls.predictions.transform.LayerNorm.bias', { dtype, shape: [H], data: randn(H, 0.05) });
    if (!tieDecoder) {
      const word = tensors.get(`${prefix}embeddings.word_embeddings.weight`);
      tensors.set('cls.predictions.decoder.weight', { dtype, shape: [c.vocab_size, H], data: word.data.slice() });
    }
  } else if (head === 'cls') {
    const L = c.numLabels;
    tensors.set('classifier.dense.weight', { dtype, shape: [H, H], data: randn(H * H, 1 / Math.sqrt(H)) });
    tensors.set('classifier.dense.bias', { dtype, shape: [H], data: randn(H, 0.05) });
    tensors.set('classifier.out_proj.weight', { dtype, shape: [L, H], data: randn(L * H, 2 / Math.sqrt(H)) });
    tensors.set('classifier.out_proj.bias', { dtype, shape: [L], data: randn(L, 0.05) });
  }
  const bytes = writeSafetensors(tensors, options.metadata ?? { format: 'pt' });
  // The values as stored: read back through the loader (its conversions are tested on their own).
  const weights = loadSafetensors(bytes, { copy: true }).tensors;
  return { bytes, weights, config };
}

/** Random token ids in [0, vocab) (avoiding pad_token_id), [B][n], from a seed. */
export function randomIds(config, B, n, seed = 7) {
  const c = resolveConfig(config);
  const rng = mulberry32(seed);
  const ids = [];
  for (let b = 0; b < B; b++) {
    const row = [];
    for (let i = 0; i < n; i++) {
      let t;
      do t = Math.floor(rng() * c.vocab_size); while (t === c.pad_token_id && c.vocab_size > 1);
      row.push(t);
    }
    ids.push(row);
  }
  return ids;
}
