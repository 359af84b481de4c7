// nystrom-wasm with the wasm bytes embedded: no path, fetch or set-up call needed.
import { makeApi } from './api.js';
import { base64ToBytes, bytesSource } from './loader.js';
import { RELAXED_WASM_BASE64, SIMD_WASM_BASE64 } from './wasm/bytes.generated.js';

export type * from './types.js';
export { buildSupport } from './loader.js';
export { nystromAttentionRow } from './factors.js';
export { setMemoryLimit, memoryLimit } from './plan.js';
export { loadSafetensors, writeSafetensors, tensorAsFloat32 } from './model/safetensors.js';
export type { NystromformerConfig, ModelOptions, ForwardOptions, ModelOutput, NystromformerModelInstance, NystromformerHeadInstance, ModelClass, LoadProgress } from './model/model.js';
export type { ErrorCode } from './errors.js';
export type { Pool, PoolOptions, PoolCallOptions } from './pool.js';

const api = makeApi(bytesSource(
  (b) => base64ToBytes(b === 'relaxed' ? RELAXED_WASM_BASE64 : SIMD_WASM_BASE64),
  // The threads builds only load with the worker pool.
  async (b) => {
    const t = await import('./wasm/threads.generated.js');
    return base64ToBytes(b === 'relaxed' ? t.RELAXED_THREADS_WASM_BASE64 : t.SIMD_THREADS_WASM_BASE64);
  },
));

export const {
  init, activeBuild, selectBuild, nystromAttention, softmaxAttention, nystromAttentionMatrix,
  softmaxAttentionMatrix, nystromAttentionFactors, matmul, matmulTransposed, createAttention, createMatmul, release, createPool,
  NystromformerModel, NystromformerForMaskedLM, NystromformerForSequenceClassification,
} = api;
