/** Which of the three PyTorch implementations to reproduce (see README, "Styles"). */
export type Style = 'authors' | 'hf' | 'lucidrains';
/** Initialisation of the iterative pseudo-inverse: Z0 = alpha · k2ᵀ. */
export type PinvInit = 'original' | 'exact' | 'abs_rowcol' | 'paper';
/** What to do when landmarks does not divide seqLen. */
export type Remainder = 'pad' | 'uneven' | 'error';
/** Memory order of q, k, v and the attention output: [batch, heads, seqLen, headDim] or [batch, seqLen, heads, headDim]. */
export type Layout = 'bhnd' | 'bnhd';
/** The wasm build that runs: plain 128-bit SIMD, or relaxed SIMD (fused multiply-add). */
export type BuildName = 'simd' | 'relaxed';

/** A mask entry per (batch, token): 1 = token, 0 = padding. */
export type MaskLike = Float32Array | Float64Array | Uint8Array | Int8Array | Int32Array | Uint32Array | Uint16Array | Int16Array | ArrayLike<number>;

export interface SoftmaxAttentionOptions {
  /** [batch, heads, seqLen, headDim] of q, k, v (row-major). Required. */
  shape: readonly [number, number, number, number];
  /** batch·seqLen entries, 1 = token, 0 = padding. */
  mask?: MaskLike;
  /** heads·kernelSize taps of the depthwise convolution residual on V (kernelSize odd). */
  convWeight?: Float32Array;
  /** Default 'authors'. */
  style?: Style;
  /** Where to write the result (batch·heads·seqLen·headDim floats). */
  out?: Float32Array;
  /**
   * 'bhnd' (default): q, k, v and the output are [batch, heads, seqLen, headDim] row-major.
   * 'bnhd': [batch, seqLen, heads, headDim] — what x·Wᵀ reshaped to (B, n, H, d) is before
   * transpose(1, 2) — read and written in place, with the same numbers. `shape` stays
   * [batch, heads, seqLen, headDim]; attention matrices and factors are always [batch, heads, …].
   */
  layout?: Layout;
}

export interface NystromAttentionOptions extends SoftmaxAttentionOptions {
  /** Number of landmarks m. Default 64. */
  landmarks?: number;
  /** Iterations of the pseudo-inverse. Default 6. */
  pinvIterations?: number;
  /** Default: 'original' for authors and hf, 'abs_rowcol' for lucidrains. */
  pinvInit?: PinvInit;
  /** Default 'pad'. */
  remainder?: Remainder;
}

export interface PlanOptions extends NystromAttentionOptions {
  /** 'nystrom' (default) or 'softmax' (exact attention). */
  kind?: 'nystrom' | 'softmax';
  /** Force a build; default: the best the engine validates. */
  build?: BuildName;
}

/** A reusable plan for one shape and one set of options. Memory is laid out once. */
export interface AttentionPlan {
  readonly shape: readonly [number, number, number, number];
  readonly build: BuildName;
  readonly layout: Layout;
  /** Runs attention; q, k, v may be the plan's own views (zero copy) or any Float32Array of the right length. */
  run(q: Float32Array, k: Float32Array, v: Float32Array, out?: Float32Array): Float32Array;
  /** Runs on what the caller wrote into inputs.q / .k / .v; the result is in output (valid until the next run). */
  runInPlace(): Float32Array;
  /** Views of the plan's input buffers in wasm memory (fill them to skip the copy in). */
  readonly inputs: { readonly q: Float32Array; readonly k: Float32Array; readonly v: Float32Array };
  /** View of the plan's output buffer in wasm memory. */
  readonly output: Float32Array;
  /** Replaces the mask (batch·seqLen 0/1 entries) for the following runs; undefined removes it. */
  setMask(mask: MaskLike | undefined): void;
  /** Peak linear-memory bytes this plan uses. */
  readonly memoryBytes: number;
  /** Releases the plan's instance and memory; later use throws an Error with code 'ERR_DISPOSED'. */
  dispose(): void;
}

/**
 * The factors of Nyström attention, per head: kernel1·pinv·kernel3 is the attention matrix over
 * the `rows` positions the algorithm ran on; restricted to rows and columns pad.. it is what
 * nystromAttentionMatrix returns. On the exact path (authors/hf with landmarks equal to `rows`)
 * kernel1 is the exact softmax and pinv and kernel3 are identities.
 */
export interface NystromFactors {
  /** [batch, heads, rows, landmarks] */
  readonly kernel1: Float32Array;
  /** The iterative pseudo-inverse Z of kernel 2, [batch, heads, landmarks, landmarks]. */
  readonly pinv: Float32Array;
  /** [batch, heads, landmarks, rows] */
  readonly kernel3: Float32Array;
  /** n': the length the algorithm ran on (seqLen + pad). */
  readonly rows: number;
  /** Padding rows in front: token i is row pad + i of kernel1 and column pad + i of kernel3. */
  readonly pad: number;
  /** m as run (equal to rows on the exact path). */
  readonly landmarks: number;
  /** Whether the call took the exact path. */
  readonly exact: boolean;
  /** [batch, heads, seqLen, headDim] of the call. */
  readonly shape: readonly [number, number, number, number];
}

export interface MatmulPlanOptions {
  /** C[m×n] = A[m×k]·op(B); op(B) = B [k×n], or Bᵀ with B stored [n×k] when transB. */
  m: number;
  k: number;
  n: number;
  transB?: boolean;
  /**
   * Weight-stationary: pack B once and multiply every later A by the packed panels (the same bits as
   * a fresh multiply). B is packed on the first run, and again when `run` gets a different array as b
   * or after `setB()`; changing the contents of the same array (or of `plan.b`) needs `setB()`.
   */
  constantB?: boolean;
  build?: BuildName;
}

/** A reusable matmul for one shape, with its operands in wasm memory. */
export interface MatmulPlan {
  readonly build: BuildName;
  /** Views of A, B and C in wasm memory: fill a and b, call runInPlace(), read c (zero copy). */
  readonly a: Float32Array;
  readonly b: Float32Array;
  readonly c: Float32Array;
  readonly memoryBytes: number;
  /** Copies a and b in (unless they are the plan's own views) and the result out. */
  run(a: Float32Array, b: Float32Array, out?: Float32Array): Float32Array;
  /** Multiplies the plan's own a and b; returns the view c (valid until the next run). */
  runInPlace(): Float32Array;
  /** Replaces B (copies b into plan.b when given) and, with constantB, repacks it before the next run. */
  setB(b?: Float32Array): void;
  /** Releases the plan's instance and memory; later use throws an Error with code 'ERR_DISPOSED'. */
  dispose(): void;
}
