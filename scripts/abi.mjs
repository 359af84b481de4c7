// The host↔wasm interface, declared once. scripts/build-wasm.mjs generates from this file:
//   assembly/abi.generated.ts — the enum codes, constants and call-context field offsets the kernels use;
//   src/abi.generated.ts      — the same codes and offsets for the host, and the export table
//                               (name → parameter count) the host checks the compiled module against.
// Nothing else may spell an enum code, a context offset or an export's arity.

/** Option strings in code order: the code passed to wasm is the index. */
export const ENUMS = {
  STYLE: ['authors', 'hf', 'lucidrains'],
  INIT: ['original', 'exact', 'abs_rowcol', 'paper'],
  REMAINDER: ['pad', 'uneven', 'error'],
  LAYOUT: ['bhnd', 'bnhd'],
  /** What a call writes: attention (P·V), attention matrices [B,H,n,n], or the Nyström factors. */
  MODE: ['attention', 'matrix', 'factors'],
  /** Activations of a Hugging Face config's hidden_act (model.ts); 'linear' is the identity. */
  ACT: ['gelu_new', 'gelu', 'relu', 'gelu_fast', 'quick_gelu', 'silu', 'tanh', 'linear'],
  /** Time slots of the profile builds (assembly/profile.ts): what a kernel brackets its work as. */
  PROF: ['gemm', 'softmax', 'landmarks', 'pinv', 'conv', 'scan'],
};

/** Constants both sides size memory with. */
export const CONSTS = {
  /** Query rows per block of exact attention (its logits block is EXACT_ROWS × n'). */
  EXACT_ROWS: 64,
  /** Query rows per block of the fused exact attention (attention mode; a multiple of 4). */
  FLASH_ROWS: 64,
  /** Keys per block of the fused exact attention's online softmax (a multiple of 8). */
  FLASH_KEYS: 256,
  /** Query rows per block of the Nyström output rows (kernel 1 and k1·Z blocks are ROW_BLOCK × m). */
  ROW_BLOCK: 256,
  /** Keys per call of kernel 3's logits (Q~·Kᵀ by column blocks; a multiple of 8). */
  K3_COLS: 512,
  /** Floats per landmark-matrix statistics record: max column sum, ‖k2‖∞, ‖k2‖₁, α. */
  STATS: 4,
};

/**
 * The per-call context: one 4-byte field each (u32 pointer or i32), in this order, written by the
 * host into a region of the call's memory. Kernels read the call from it and keep nothing between
 * calls. Pointers are byte addresses; strides are in floats.
 */
export const CTX = [
  // tensors
  ['Q', 'q: [B,H,n,d] through the input strides'],
  ['K', 'k'],
  ['V', 'v (attention mode)'],
  ['OUT', 'attention output (output strides) or attention matrices [B,H,n,n] (matrix mode)'],
  ['MASK', 'f32 [B, n] 0/1, or 0'],
  ['CONV', 'f32 [H, ks] taps, or 0'],
  ['KS', 'conv kernel size'],
  // shape and options
  ['B', 'batch'], ['H', 'heads'], ['N', 'seqLen'], ['D', 'headDim'],
  ['M', 'landmarks'], ['ITERS', 'pinv iterations'], ['INIT', 'INIT code'], ['STYLE', 'STYLE code'],
  ['UNEVEN', '1: uneven segments (remainder uneven)'],
  ['PAD', 'zero rows in front (remainder pad)'],
  ['NP', 'N + PAD: the length the algorithm runs on'],
  ['EXACT', '1: exact softmax attention over NP keys (softmaxAttention, or Nyström with M == NP for authors/hf)'],
  ['MODE', 'MODE code'],
  // strides (floats): element (b, h, i, c) of q/k/v at b·S_B + h·S_H + i·LD + c; of out at O_B, O_H, O_LD
  ['S_B', ''], ['S_H', ''], ['LD', ''],
  ['O_B', ''], ['O_H', ''], ['O_LD', ''],
  // factors ([B·H] heads each, contiguous): kernel 1 [NP, M], Z [M, M], kernel 3 [M, NP]
  ['F1', 'kernel 1 of every head (factors and matrix modes)'],
  ['F3', 'kernel 3 of every head (factors and matrix modes; attention mode when K3_SHARED)'],
  // workspace shared by the threads of a call
  ['KEEP', 'f32 [B, NP]: 0 for pad rows and masked tokens, else 1'],
  ['BIAS', 'f32 [B, NP]: the style\'s additive key bias'],
  ['LMCOUNT', 'f32 [B·H, M]: mask count per landmark (lucidrains)'],
  ['QL', 'f32 [B·H, M, D]: Q landmarks'],
  ['KL', 'f32 [B·H, M, D]: K landmarks'],
  ['K2', 'f32 [B·H, M, M]: kernel 2'],
  ['STATS', 'f32 [B·H, STATS]: statistics of kernel 2 and α'],
  ['Z', 'f32 [B·H, M, M]: pinv(kernel 2) (the factors\' pinv in factors/matrix modes)'],
  ['K3V', 'f32 [B·H, M, D]: kernel 3 · V'],
  ['ZV', 'f32 [B·H, M, D]: Z · (kernel 3 · V), what the output rows multiply kernel 1 by'],
  ['K3_SHARED', '1: kernel 3 [M, NP] and the packed V of each head live in the shared workspace (F3, PACK_V: a call whose heads are split across threads), else in each thread\'s scratch (T_K3, T_PACK_V)'],
  ['PACK_V', 'V of every head packed by packB (panels only), when K3_SHARED'],
  ['BAD', 'i32 set to 1 by a range that wrote a non-finite attention output (attention mode); the host zeroes it'],
  // per-thread scratch: thread t owns [SCRATCH + t·SCRATCH_BYTES, + SCRATCH_BYTES)
  ['SCRATCH', 'base of thread 0\'s scratch'],
  ['SCRATCH_BYTES', 'bytes per thread'],
  ['T_K1', 'offset in a thread\'s scratch: ROW_BLOCK × M kernel-1 block'],
  ['T_W', 'ROW_BLOCK × M: k1·Z block (matrix mode)'],
  ['T_K3', 'M × NP: kernel 3 (attention mode, unless K3_SHARED)'],
  ['T_PINV', 'pinvWorkBytes(M)'],
  ['T_GEMM', 'gemm packing scratch'],
  ['T_S', 'EXACT_ROWS × NP: a block of exact logits (matrix, factors modes); flashWorkBytes(D) (attention mode)'],
  ['T_PACK_KT', 'Kᵀ packed: packB\'s panels (attention mode), gemmWorkBytes(N, D) (matrix, factors)'],
  ['T_PACK_V', 'V packed: packB\'s panels (attention mode; Nyström: unless K3_SHARED)'],
];

/**
 * Every export of the module and its parameter count. `head` is b·H + h; `t` the index of the
 * thread whose scratch a range uses; ranges are half-open.
 */
export const EXPORTS = {
  memory: null,
  heapBase: 0,
  isRelaxed: 0,
  // matmul
  gemm: 11, // (M, N, K, a, lda, b, ldb, transB, c, ldc, work)
  gemmWorkBytes: 2, // (N, K)
  packB: 6, // (N, K, b, ldb, transB, work)
  gemmPacked: 8, // (M, N, K, a, lda, work, c, ldc)
  gemmPackedB: 9, // (M, N, K, a, lda, bpack, apack, c, ldc): a B packed once (weights)
  pinvWorkBytes: 1, // (m)
  firstNonFinite: 2, // (p, count)
  scanRange: 4, // (p, dst, i0, i1): stores 1 at dst when floats [i0, i1) at p hold a NaN/±Infinity (a pool task)
  // attention: the whole call on one thread
  attention: 1, // (ctx)
  // attention: the ranges a worker runs (attention(ctx) is exactly these, in sequence)
  prepare: 1, // (ctx): KEEP and BIAS of every batch element
  exactRows: 5, // (ctx, t, head, r0, r1): exact attention of query rows [r0, r1)
  factorsFill: 2, // (ctx, head): kernel-1 rows of the pad queries; on the exact path Z = I, kernel 3 = I
  nyLandmarks: 5, // (ctx, t, head, j0, j1): landmark segments [j0, j1) of Q and K
  nyQLandmarks: 5, // (ctx, t, head, j0, j1): of Q only (and lucidrains' mask counts)
  nyKLandmarks: 5, // (ctx, t, head, j0, j1): of K only
  nyKernel2: 3, // (ctx, t, head): kernel 2 and its statistics (needs all landmarks of the head)
  nyAlpha: 1, // (ctx): α of every head (needs kernel 2 of every head: a barrier)
  nyPinv: 3, // (ctx, t, head): Z
  nyKernel3: 3, // (ctx, t, head): kernel 3 of the head and its product with V (the three below and nyZV, in sequence)
  nyKernel3Logits: 5, // (ctx, t, head, c0, c1): columns [c0, c1) of Q~·Kᵀ (needs the landmarks)
  nyPackV: 5, // (ctx, t, head, p0, p1): 8-column panels [p0, p1) of V packed (attention mode)
  nyKernel3Rows: 5, // (ctx, t, head, j0, j1): softmax of kernel-3 rows [j0, j1), their products with V (needs every logit and the packed V)
  nyZV: 3, // (ctx, t, head): Z·(k3·V) of the head (attention mode; needs every row of K3V)
  nyRows: 5, // (ctx, t, head, r0, r1): kernel-1 rows and output rows [r0, r1) (attention mode: needs ZV of the head)
  nyMatrixRows: 5, // (ctx, t, head, r0, r1): rows of kernel1·Z·kernel3 (matrix mode, after the factors)
  // transformer layers (model.ts)
  addBias: 5, // (x, rows, cols, bias, res)
  layerNorm: 7, // (x, rows, cols, gamma, beta, eps, out)
  biasActivation: 5, // (x, rows, cols, bias, act)
  embed: 9, // (dst, word, types, pos, ids, tts, poss, count, cols)
  // profile builds only (the bench's time breakdown); 0 / nothing in the shipped builds
  profileTimes: 0, // (): address of [PROF] f64 ms, then [PROF] f64 calls
  profileReset: 0,
};

const HEADER = '// Generated by scripts/build-wasm.mjs from scripts/abi.mjs: do not edit.\n';
const upper = (s) => s.toUpperCase();

/** The two generated sources: { assembly: 'assembly/abi.generated.ts', host: 'src/abi.generated.ts' }. */
export function generate() {
  let as = HEADER;
  let ts = HEADER;
  for (const [group, names] of Object.entries(ENUMS)) {
    names.forEach((name, i) => {
      as += `// @ts-ignore: decorator\n@inline export const ${group}_${upper(name)}: i32 = ${i};\n`;
    });
    ts += `export const ${group} = ${JSON.stringify(names)} as const;\n`;
  }
  for (const [name, value] of Object.entries(CONSTS)) {
    as += `// @ts-ignore: decorator\n@inline export const ${name}: i32 = ${value};\n`;
  }
  ts += `export const CONSTS = ${JSON.stringify(CONSTS)} as const;\n`;
  as += '// Call-context field byte offsets.\n';
  CTX.forEach(([name, what], i) => {
    as += `// @ts-ignore: decorator\n@inline export const CTX_${name}: usize = ${i * 4};${what ? ` // ${what}` : ''}\n`;
  });
  as += `// @ts-ignore: decorator\n@inline export const CTX_BYTES: usize = ${CTX.length * 4};\n`;
  ts += `/** Call-context field byte offsets. */\nexport const CTX = ${JSON.stringify(Object.fromEntries(CTX.map(([n], i) => [n, i * 4])))} as const;\n`;
  ts += `export const CTX_BYTES = ${CTX.length * 4};\n`;
  ts += `/** Every export of the module: parameter count (null: the memory). */\nexport const EXPORTS = ${JSON.stringify(EXPORTS)} as const;\n`;
  return { assembly: as, host: ts };
}
