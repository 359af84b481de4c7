// nystrom-wasm with the wasm bytes embedded: no path, fetch or set-up call needed.
import { makeApi } from './api.js';
import { base64ToBytes, bytesSource } from './loader.js';
import { RELAXED_WASM_BASE64, SIMD_WASM_BASE64 } from './wasm/bytes.generated.js';

export type * from './types.js';
export { buildSupport } from './loader.js';
export { nystromAttentionRow } from './factors.js';
export { setMemoryLimit, memoryLimit } from './plan.js';
export { loadSafetensors, writeSafetensors, tensorAsFloat32 } from './model/safetensors.js';
export type { SafetensorsFile, SafetensorsTensor, SafetensorsRawTensor, SafetensorsDtype, LoadSafetensorsOptions, WriteTensor, WriteSafetensorsOptions, TensorData } from './model/safetensors.js';
export type { NystromformerConfig, ModelOptions, ForwardOptions, ModelOutput, NystromformerModelInstance, NystromformerHeadInstance, ModelClass, LoadProgress } from './model/model.js';
export type { ErrorCode } from './errors.js';
export type { Pool, PoolAttentionPlan, PoolOptions, PoolCallOptions } from './pool-api.js';

const api = makeApi(bytesSource(
  (b) => base64ToBytes(b === 'relaxed' ? RELAXED_WASM_BASE64 : SIMD_WASM_BASE64),
  // The threads builds only load with the worker pool.
  async (b) => {
    const t = await import('./wasm/threads.generated.js');
    return base64ToBytes(b === 'relaxed' ? t.RELAXED_THREADS_WASM_BASE64 : t.SIMD_THREADS_WASM_BASE64);
  },
));

/**
 * Compiles the module of a build ahead of the first call (asynchronously where the engine can),
 * optionally choosing the build. Calls work without it: the first one compiles synchronously.
 * @returns the build that will run ('relaxed' or 'simd').
 * @example await init();                       // or init({ build: 'simd' })
 */
export const init = api.init;

/** The build one-shot calls use: 'relaxed' where the engine validates relaxed SIMD, else 'simd'. */
export const activeBuild = api.activeBuild;

/**
 * Switches the build of one-shot calls (and the default of new plans and pools).
 * @throws TypeError (ERR_OPTION) for an unknown name; Error (ERR_UNSUPPORTED) where the engine lacks it.
 */
export const selectBuild = api.selectBuild;

/**
 * Nyström attention (Xiong et al. 2021) of q, k, v, in the numbers of the PyTorch implementation
 * `options.style` names ('authors' default, 'hf', 'lucidrains'). O(n·(d + m)) memory and time.
 * q, k and v are Float32Arrays of `shape` [batch, heads, seqLen, headDim] row-major (or [batch, seqLen,
 * heads, headDim] with `layout: 'bnhd'`).
 * @param options `shape` (required), `landmarks` (64), `pinvIterations` (6), `pinvInit`, `remainder`,
 *   `mask` [batch·seqLen] 0/1, `convWeight` [heads·kernelSize], `layout`, `out`.
 * @returns the attention output, same shape and layout as q (`options.out` when given).
 * @throws TypeError / RangeError with a `code` (ERR_TENSOR, ERR_SHAPE, ERR_OPTION, ERR_NOT_FINITE, ERR_MEMORY).
 * @example
 * const out = nystromAttention(q, k, v, { shape: [1, 8, 4096, 64], landmarks: 64, style: 'hf' });
 */
export const nystromAttention = api.nystromAttention;

/**
 * Exact softmax attention, softmax(q·kᵀ/√d + mask bias)·v (+ the conv residual), with the masking of
 * `options.style`. O(n²) time, O(n·d) memory. Options as nystromAttention (its Nyström options are ignored).
 * @example const out = softmaxAttention(q, k, v, { shape: [1, 8, 512, 64], mask });
 */
export const softmaxAttention = api.softmaxAttention;

/**
 * The n×n attention matrix Nyström attention implies for every head, [batch, heads, seqLen, seqLen]
 * (kernel1·Z·kernel3 over the real keys; no conv). O(n²) memory: for long sequences use
 * nystromAttentionFactors and nystromAttentionRow.
 */
export const nystromAttentionMatrix = api.nystromAttentionMatrix;

/** The exact softmax attention matrix of every head, [batch, heads, seqLen, seqLen]. */
export const softmaxAttentionMatrix = api.softmaxAttentionMatrix;

/**
 * The factors of Nyström attention of every head — kernel 1 [n', m], the pseudo-inverse Z [m, m] and
 * kernel 3 [m, n'] — whose product restricted to rows and columns `pad..` is the attention matrix, in
 * O(n·m) memory. See NystromFactors; rows of long sequences with nystromAttentionRow.
 * @example
 * const f = nystromAttentionFactors(q, k, { shape, landmarks: 64 });
 * const row = nystromAttentionRow(f, 0, 0, 1234);       // row 1234 of head (0, 0)
 */
export const nystromAttentionFactors = api.nystromAttentionFactors;

/**
 * C[m×n] = A[m×k]·B[k×n], row-major f32 (blocked SIMD gemm).
 * @param out optional Float32Array of m·n, written and returned.
 * @throws TypeError / RangeError (ERR_TENSOR, ERR_SHAPE, ERR_NOT_FINITE, ERR_MEMORY).
 */
export const matmul = api.matmul;

/** C[m×n] = A[m×k]·Bᵀ with B stored [n×k] (what q·kᵀ is), without a transpose pass. */
export const matmulTransposed = api.matmulTransposed;

/**
 * A reusable attention plan for one shape and set of options: memory laid out once, zero-copy
 * `inputs` / `output` views, `run`, `runInPlace`, `setMask`, `dispose`. `options.kind`: 'nystrom'
 * (default) or 'softmax'; `options.build`.
 * @example
 * const plan = createAttention({ shape, landmarks: 64 });
 * plan.run(q, k, v, out);  plan.dispose();
 */
export const createAttention = api.createAttention;

/**
 * A matmul plan for one shape: `a`, `b`, `c` views in wasm memory, `run`, `runInPlace`, `setB`,
 * `dispose`. `constantB: true` packs B once and multiplies every later A by it (weights).
 */
export const createMatmul = api.createMatmul;

/**
 * Releases the memory of the shared one-shot engines (it grows to the largest call and is kept up to
 * 256 MiB). The next one-shot call starts a fresh engine; results are unchanged; plans are unaffected.
 */
export const release = api.release;

/**
 * A pool of workers over one shared wasm memory: the attention and matmul calls as Promises, on every
 * core, bit-identical to the synchronous calls. Where threads cannot exist it runs on the calling
 * thread and says why (`pool.threads === 1`, `pool.reason`).
 * @example
 * const pool = await createPool({ threads: 4 });
 * const out = await pool.nystromAttention(q, k, v, { shape, signal });
 * await pool.close();
 */
export const createPool = api.createPool;

/**
 * The Hugging Face Nyströmformer base model from safetensors: `fromSafetensors(bytes, config, options)`,
 * `fromPretrained(urlOrDir, options)`; `.forward(ids, options).lastHiddenState` [B, n, hidden].
 * `options.attention`: 'config' (HF's own choice: exact for the released checkpoints), 'nystrom' (O(n)), 'exact'.
 */
export const NystromformerModel = api.NystromformerModel;

/** The masked-LM model: `.forward(ids, options).logits` [B, n, vocab] (the decoder tied to the word embeddings unless the file has its own). */
export const NystromformerForMaskedLM = api.NystromformerForMaskedLM;

/** The sequence classifier: `.forward(ids, options).logits` [B, numLabels] from token 0. */
export const NystromformerForSequenceClassification = api.NystromformerForSequenceClassification;
