// Float64 reference of the Hugging Face Nyströmformer forward pass (shared MODEL.md), eval mode.
// Plain loops, written the way MODEL.md reads, so a disagreement with the runtime can be traced to one
// step. Attention itself is tests/reference.js (softmaxRef / nystromRef, style 'hf'), fed the raw
// per-head projections: the 'hf' style divides Q and K by d^(1/4) itself.
//
// Weights: a Map (or plain object) name → Float32Array / Float64Array / Array, or name → { shape, data }
// (e.g. loadSafetensors(bytes).tensors as is). Base-model names may be bare ('embeddings.…') or carry the
// 'nystromformer.' prefix of head models; head names ('cls.…', 'classifier.…') are looked up as written.
// Buffers ('embeddings.position_ids') are ignored.
//
// Token inputs (inputIds, attentionMask, tokenTypeIds, positionIds): an array of B sequences of equal
// length n (arrays or typed arrays, BigInt64Array included), or one flat array of B·n values with
// options.batch = B (default 1).
//
// Quirks kept (MODEL.md): positions 2..n+1 whatever the padding; token types 0 by default; the key bias
// (1 − mask)·finfo(float32).min; padded rows computed like every other row; the attention path chosen by
// the CONFIG (num_landmarks == segment_means_seq_len → exact softmax at any n, else Nyström 'hf' with one
// Z0 scale over the whole batch and all heads); the conv residual on the unmasked V; no final LayerNorm.
//
// Runtime-neutral plain ESM: the only import is ../reference.js.

import { softmaxRef, nystromRef, matmulTransposedRef, bhndToBnhd, bnhdToBhnd } from '../reference.js';

export const PREFIX = 'nystromformer.';

/** HF NystromformerConfig defaults (configuration_nystromformer.py) for the fields the forward pass reads. */
export const CONFIG_DEFAULTS = Object.freeze({
  vocab_size: 30000,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu_new',
  max_position_embeddings: 510,
  type_vocab_size: 2,
  layer_norm_eps: 1e-5,
  pad_token_id: 1,
  segment_means_seq_len: 64,
  num_landmarks: 64,
  conv_kernel_size: 65,
  inv_coeff_init_option: false,
  position_embedding_type: 'absolute',
});

/** The config with HF's defaults filled in, plus numLabels (num_labels, else the size of id2label, else 2). */
export function resolveConfig(config = {}) {
  const c = { ...CONFIG_DEFAULTS, ...config };
  if (config.conv_kernel_size === null) c.conv_kernel_size = null;
  c.numLabels = config.num_labels ?? (config.id2label ? Object.keys(config.id2label).length : 2);
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new RangeError(`model reference: hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}`);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Activations (HF ACT2FN), in float64.

const SQRT_PI = Math.sqrt(Math.PI);

/** erf(x) by its everywhere-convergent positive series (|x| < 2) or 1 − erfc (|x| ≥ 2); relative error ~1e-16. */
export function erf(x) {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a >= 2) return Math.sign(x) * (1 - erfcContinuedFraction(a));
  // erf(x) = 2/√π · e^{−x²} · Σ_{k≥0} 2^k x^{2k+1} / (1·3·…·(2k+1)): all terms of one sign.
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let k = 0; k < 200; k++) {
    term *= (2 * x2) / (2 * k + 3);
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return (2 / SQRT_PI) * Math.exp(-x2) * sum;
}

/** erfc(x) = 1 − erf(x), accurate in relative terms for large positive x too. */
export function erfc(x) {
  if (Number.isNaN(x)) return NaN;
  if (x >= 2) return erfcContinuedFraction(x);
  return 1 - erf(x);
}

/** erfc(x) for x ≥ 2: e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) by modified Lentz. */
function erfcContinuedFraction(x) {
  if (x === Infinity) return 0;
  const tiny = 1e-300;
  let f = x;
  let C = f;
  let D = 0;
  for (let k = 1; k < 5000; k++) {
    const a = k / 2;
    D = x + a * D;
    if (D === 0) D = tiny;
    D = 1 / D;
    C = x + a / C;
    if (C === 0) C = tiny;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / SQRT_PI / f;
}

const sigmoid = (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const geluTanh = (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
/** gelu (erf form): 0.5·x·(1 + erf(x/√2)) = 0.5·x·erfc(−x/√2), the latter without cancellation for x < 0. */
const geluErf = (x) => 0.5 * x * erfc(-x / Math.SQRT2);

/** The activations of HF's ACT2FN this reference knows, by config name. */
export const ACTIVATIONS = Object.freeze({
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  gelu_accurate: geluTanh,
  gelu: geluErf,
  gelu_python: geluErf,
  gelu_10: (x) => Math.min(10, Math.max(-10, geluErf(x))),
  // FastGELUActivation uses the truncated constant 0.7978845608.
  gelu_fast: (x) => 0.5 * x * (1 + Math.tanh(x * 0.7978845608 * (1 + 0.044715 * x * x))),
  quick_gelu: (x) => x * sigmoid(1.702 * x),
  relu: (x) => (x > 0 ? x : 0),
  relu6: (x) => Math.min(6, Math.max(0, x)),
  relu2: (x) => (x > 0 ? x * x : 0),
  leaky_relu: (x) => (x >= 0 ? x : 0.01 * x),
  silu: (x) => x * sigmoid(x),
  swish: (x) => x * sigmoid(x),
  mish: (x) => x * Math.tanh(x > 20 ? x : Math.log1p(Math.exp(x))),
  tanh: Math.tanh,
  sigmoid,
  linear: (x) => x,
});

/** The activation function named by a config's hidden_act. */
export function activation(name) {
  const f = typeof name === 'string' && Object.prototype.hasOwnProperty.call(ACTIVATIONS, name) ? ACTIVATIONS[name] : undefined;
  if (!f) throw new TypeError(`model reference: unknown hidden_act ${JSON.stringify(name)} (known: ${Object.keys(ACTIVATIONS).join(', ')})`);
  return f;
}

// ---------------------------------------------------------------------------------------------
// Weights

function entryOf(weights, name) {
  const v = weights instanceof Map ? weights.get(name) : weights[name];
  if (v === undefined || v === null) return undefined;
  if (ArrayBuffer.isView(v) || Array.isArray(v)) return { data: v, shape: undefined };
  if (typeof v === 'object' && v.data) return { data: v.data, shape: v.shape };
  throw new TypeError(`model reference: weight ${name} is neither an array nor { shape, data }`);
}

/** Looks a weight up by its base name (bare or 'nystromformer.'-prefixed) or, for head keys, as written. */
export function findWeight(weights, name, { head = false } = {}) {
  const names = head ? [name] : [name, PREFIX + name];
  for (const nm of names) {
    const e = entryOf(weights, nm);
    if (e) return { ...e, name: nm };
  }
  return undefined;
}

function weightGetter(weights) {
  if (!weights || typeof weights !== 'object') throw new TypeError('model reference: weights must be a Map or an object');
  return (name, shape, { head = false, optional = false } = {}) => {
    const e = findWeight(weights, name, { head });
    if (!e) {
      if (optional) return undefined;
      throw new RangeError(`model reference: missing weight ${name}${head ? '' : ` (or ${PREFIX}${name})`}`);
    }
    const count = shape.reduce((a, b) => a * b, 1);
    if (e.shape && (e.shape.length !== shape.length || e.shape.some((s, i) => s !== shape[i]))) {
      throw new RangeError(`model reference: ${e.name} has shape [${e.shape}], expected [${shape}]`);
    }
    if (e.data.length !== count) throw new RangeError(`model reference: ${e.name} has ${e.data.length} values, expected ${count} ([${shape}])`);
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = Number(e.data[i]);
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// Dense pieces

/** y[r, :] = x[r, :]·Wᵀ + b for rows r (W stored [out, in], nn.Linear). */
export function linear(x, rows, inDim, w, b, outDim) {
  const y = matmulTransposedRef(x, w, rows, inDim, outDim);
  if (b) for (let r = 0; r < rows; r++) for (let o = 0; o < outDim; o++) y[r * outDim + o] += b[o];
  return y;
}

/** In place, per row of width H: (x − mean)/√(var + eps)·w + b with the biased variance (nn.LayerNorm). */
export function layerNormRows(x, rows, H, w, b, eps) {
  for (let r = 0; r < rows; r++) {
    const o = r * H;
    let mean = 0;
    for (let c = 0; c < H; c++) mean += x[o + c];
    mean /= H;
    let v = 0;
    for (let c = 0; c < H; c++) v += (x[o + c] - mean) ** 2;
    v /= H;
    const inv = 1 / Math.sqrt(v + eps);
    for (let c = 0; c < H; c++) x[o + c] = (x[o + c] - mean) * inv * w[c] + b[c];
  }
  return x;
}

const isArrayLike = (x) => x !== null && typeof x === 'object' && typeof x.length === 'number';

/** Token input → { B, n, values: Float64Array [B·n] }. */
function batchOf(x, name, B0, n0) {
  if (!isArrayLike(x)) throw new TypeError(`model reference: ${name} must be an array`);
  let B;
  let n;
  const vals = [];
  if (x.length > 0 && isArrayLike(x[0])) {
    B = x.length;
    n = x[0].length;
    for (let b = 0; b < B; b++) {
      if (!isArrayLike(x[b]) || x[b].length !== n) throw new RangeError(`model reference: ${name}[${b}] does not have ${n} entries`);
      for (let i = 0; i < n; i++) vals.push(Number(x[b][i]));
    }
  } else {
    B = B0 ?? 1;
    if (x.length % B !== 0) throw new RangeError(`model reference: ${name} has ${x.length} values, not a multiple of batch ${B}`);
    n = x.length / B;
    for (let i = 0; i < x.length; i++) vals.push(Number(x[i]));
  }
  if (n0 !== undefined && (B !== B0 || n !== n0)) throw new RangeError(`model reference: ${name} is [${B}, ${n}], expected [${B0}, ${n0}]`);
  return { B, n, values: Float64Array.from(vals) };
}

/** Which attention a run takes: 'exact' or 'nystrom'. */
export function attentionPath(config, attention = 'config') {
  const c = resolveConfig(config);
  if (attention === 'exact' || attention === 'nystrom') return attention;
  if (attention !== 'config') throw new TypeError(`model reference: attention must be 'config', 'nystrom' or 'exact', got ${attention}`);
  return c.num_landmarks === c.segment_means_seq_len ? 'exact' : 'nystrom';
}

// ---------------------------------------------------------------------------------------------
// The model

/**
 * NystromformerModel(...) in eval mode, in float64.
 * @param weights Map / object name → array or { shape, data } (bare or 'nystromformer.'-prefixed names)
 * @param config config.json fields (HF defaults for the absent ones)
 * @param inputIds [B][n] token ids (or flat with options.batch)
 * @param options
 *   attentionMask  [B][n] of 0/1 (default all ones)
 *   tokenTypeIds   [B][n] (default zeros)
 *   positionIds    [B][n] (default 2..n+1 in every row)
 *   attention      'config' (default: exact iff num_landmarks == segment_means_seq_len), 'exact', 'nystrom'
 *   landmarks      Nyström landmarks (default config num_landmarks)
 *   pinvIterations default 6; pinvInit default 'original' ('exact' when config inv_coeff_init_option is truthy)
 *   remainder      n % landmarks ≠ 0 handling on the Nyström path ('error' | 'pad' | 'uneven'; default
 *                  'error' when the config chose Nyström — HF's reshape — and 'pad' when attention: 'nystrom')
 *   outputHiddenStates  also return hiddenStates = [embeddings, layer 1, …, layer L]
 *   batch          B for flat token inputs
 * @returns { lastHiddenState: Float64Array [B, n, H], hiddenStates?: Float64Array[], shape: [B, n, H], path }
 */
export function referenceForward(weights, config, inputIds, options = {}) {
  const c = resolveConfig(config);
  const get = weightGetter(weights);
  const H = c.hidden_size;
  const heads = c.num_attention_heads;
  const d = H / heads;
  const I = c.intermediate_size;
  const eps = c.layer_norm_eps;
  const act = activation(c.hidden_act);
  const path = attentionPath(config, options.attention ?? 'config');

  const { B, n, values: ids } = batchOf(inputIds, 'inputIds', options.batch);
  const rows = B * n;
  const mask = options.attentionMask == null ? null : batchOf(options.attentionMask, 'attentionMask', B, n).values;
  const tt = options.tokenTypeIds == null ? new Float64Array(rows) : batchOf(options.tokenTypeIds, 'tokenTypeIds', B, n).values;
  let pos;
  if (options.positionIds == null) {
    if (n > c.max_position_embeddings) {
      throw new RangeError(`model reference: sequence length ${n} exceeds max_position_embeddings ${c.max_position_embeddings}`);
    }
    pos = new Float64Array(rows);
    for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) pos[b * n + i] = i + 2;
  } else {
    pos = batchOf(options.positionIds, 'positionIds', B, n).values;
  }

  // Embeddings.
  const word = get('embeddings.word_embeddings.weight', [c.vocab_size, H]);
  const typeEmb = get('embeddings.token_type_embeddings.weight', [c.type_vocab_size, H]);
  const absolute = c.position_embedding_type === 'absolute';
  const posEmb = absolute ? get('embeddings.position_embeddings.weight', [c.max_position_embeddings + 2, H]) : null;
  const lookup = (table, count, idx, what, r) => {
    if (!Number.isInteger(idx) || idx < 0 || idx >= count) throw new RangeError(`model reference: ${what} ${idx} at [${Math.floor(r / n)}, ${r % n}] is outside 0..${count - 1}`);
    return idx * H;
  };
  let x = new Float64Array(rows * H);
  for (let r = 0; r < rows; r++) {
    const wo = lookup(word, c.vocab_size, ids[r], 'token id', r);
    const to = lookup(typeEmb, c.type_vocab_size, tt[r], 'token type', r);
    const po = absolute ? lookup(posEmb, c.max_position_embeddings + 2, pos[r], 'position id', r) : 0;
    for (let j = 0; j < H; j++) {
      x[r * H + j] = word[wo + j] + typeEmb[to + j] + (absolute ? posEmb[po + j] : 0);
    }
  }
  layerNormRows(x, rows, H, get('embeddings.LayerNorm.weight', [H]), get('embeddings.LayerNorm.bias', [H]), eps);
  const hiddenStates = options.outputHiddenStates ? [x.slice()] : undefined;

  const shape4 = [B, heads, n, d];
  const m = options.landmarks ?? c.num_landmarks;
  const pinvInit = options.pinvInit ?? (c.inv_coeff_init_option ? 'exact' : 'original');
  const remainder = options.remainder ?? ((options.attention ?? 'config') === 'nystrom' ? 'pad' : 'error');
  const k = c.conv_kernel_size;

  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}.`;
    const lin = (x_, inD, name, outD) => linear(x_, rows, inD, get(`${p}${name}.weight`, [outD, inD]), get(`${p}${name}.bias`, [outD]), outD);
    const q = bnhdToBhnd(lin(x, H, 'attention.self.query', H), shape4);
    const kk = bnhdToBhnd(lin(x, H, 'attention.self.key', H), shape4);
    const v = bnhdToBhnd(lin(x, H, 'attention.self.value', H), shape4);
    // torch Conv2d weight [heads, 1, k, 1] flattened is the [heads, k] taps of ALGORITHM.md §1.6.
    const convWeight = k == null ? undefined : get(`${p}attention.self.conv.weight`, [heads, 1, k, 1]);
    const opts = { shape: shape4, style: 'hf', mask, convWeight };
    const ctxH = path === 'exact'
      ? softmaxRef(q, kk, v, opts)
      : nystromRef(q, kk, v, { ...opts, landmarks: m, pinvIterations: options.pinvIterations ?? 6, pinvInit, remainder });
    const ctx = bhndToBnhd(ctxH, shape4);
    const a = lin(ctx, H, 'attention.output.dense', H);
    for (let i = 0; i < a.length; i++) a[i] += x[i];
    layerNormRows(a, rows, H, get(`${p}attention.output.LayerNorm.weight`, [H]), get(`${p}attention.output.LayerNorm.bias`, [H]), eps);
    const inter = lin(a, H, 'intermediate.dense', I);
    for (let i = 0; i < inter.length; i++) inter[i] = act(inter[i]);
    const o = lin(inter, I, 'output.dense', H);
    for (let i = 0; i < o.length; i++) o[i] += a[i];
    layerNormRows(o, rows, H, get(`${p}output.LayerNorm.weight`, [H]), get(`${p}output.LayerNorm.bias`, [H]), eps);
    x = o;
    if (hiddenStates) hiddenStates.push(x.slice());
  }
  return { lastHiddenState: x, hiddenStates, shape: [B, n, H], path };
}

/**
 * NystromformerForMaskedLM logits, [B, n, vocab]: LayerNorm(act(h·Wdᵀ + bd))·Eᵀ + bias, with
 * cls.predictions.transform.{dense, LayerNorm}, E = cls.predictions.decoder.weight when the weights
 * hold it, else the word embeddings (tied), and bias = cls.predictions.bias (or cls.predictions.decoder.bias).
 * Options as referenceForward. Returns { logits, shape: [B, n, vocab], lastHiddenState, hiddenStates?, path }.
 */
export function referenceMaskedLM(weights, config, inputIds, options = {}) {
  const c = resolveConfig(config);
  const get = weightGetter(weights);
  const fwd = referenceForward(weights, config, inputIds, options);
  const [B, n, H] = fwd.shape;
  const V = c.vocab_size;
  const rows = B * n;
  const t = linear(fwd.lastHiddenState, rows, H, get('cls.predictions.transform.dense.weight', [H, H], { head: true }),
    get('cls.predictions.transform.dense.bias', [H], { head: true }), H);
  const act = activation(c.hidden_act);
  for (let i = 0; i < t.length; i++) t[i] = act(t[i]);
  layerNormRows(t, rows, H, get('cls.predictions.transform.LayerNorm.weight', [H], { head: true }),
    get('cls.predictions.transform.LayerNorm.bias', [H], { head: true }), c.layer_norm_eps);
  const E = get('cls.predictions.decoder.weight', [V, H], { head: true, optional: true }) ?? get('embeddings.word_embeddings.weight', [V, H]);
  const bias = get('cls.predictions.bias', [V], { head: true, optional: true }) ?? get('cls.predictions.decoder.bias', [V], { head: true });
  const logits = linear(t, rows, H, E, bias, V);
  return { ...fwd, logits, shape: [B, n, V] };
}

/**
 * NystromformerForSequenceClassification logits, [B, numLabels]: out_proj(act(dense(h[:, 0]))) with
 * classifier.dense.* and classifier.out_proj.*; numLabels from config (num_labels, id2label, default 2).
 * Options as referenceForward. Returns { logits, shape: [B, numLabels], lastHiddenState, hiddenStates?, path }.
 */
export function referenceSequenceClassification(weights, config, inputIds, options = {}) {
  const c = resolveConfig(config);
  const get = weightGetter(weights);
  const fwd = referenceForward(weights, config, inputIds, options);
  const [B, n, H] = fwd.shape;
  const L = c.numLabels;
  const h0 = new Float64Array(B * H);
  for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) h0[b * H + j] = fwd.lastHiddenState[b * n * H + j];
  const t = linear(h0, B, H, get('classifier.dense.weight', [H, H], { head: true }), get('classifier.dense.bias', [H], { head: true }), H);
  const act = activation(c.hidden_act);
  for (let i = 0; i < t.length; i++) t[i] = act(t[i]);
  const logits = linear(t, B, H, get('classifier.out_proj.weight', [L, H], { head: true }), get('classifier.out_proj.bias', [L], { head: true }), L);
  return { ...fwd, logits, shape: [B, L] };
}
