// The module's exports: exactly the list in scripts/abi.mjs (a host test compares them).
export function heapBase(): usize { return __heap_base; }
export function isRelaxed(): bool { return ASC_FEATURE_RELAXED_SIMD; }
export { gemm, gemmWorkBytes, packB, gemmPacked, gemmPackedB } from './gemm';
export { pinvWorkBytes } from './pinv';
export { firstNonFinite, scanRange } from './util';
export { prepare } from './context';
export { exactRows } from './exact';
export {
  nyLandmarks, nyQLandmarks, nyKLandmarks, nyKernel2, nyAlpha, nyPinv, nyKernel3, nyKernel3Logits, nyPackV, nyKernel3Rows,
  nyZV, nyRows, nyMatrixRows,
} from './nystrom';
export { attention, factorsFill } from './attention';
export { addBias, layerNorm, biasActivation, embed } from './model';
export { profileTimes, profileReset } from './profile';
