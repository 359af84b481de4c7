export function heapBase(): usize { return __heap_base; }
export function isRelaxed(): bool { return ASC_FEATURE_RELAXED_SIMD; }
export * from './gemm';
export { softmaxRows } from './softmax';
export { segmentMeans } from './landmarks';
export { pinvIterate, pinvWorkBytes, matrixStats } from './pinv';
export { convResidualAdd } from './conv';
export { firstNonFinite } from './util';
export { softmaxAttention, softmaxWorkspaceBytes, nystromAttention, nystromWorkspaceBytes } from './attention';
