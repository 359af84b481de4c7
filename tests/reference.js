// Float64 reference of shared ALGORITHM.md (Nyström attention and exact softmax attention in the
// three PyTorch styles). Plain loops, no cleverness: every step is written the way the formulas
// read, so a disagreement with the library can be traced to one line here.
//
// Layout: q, k, v are [batch, heads, seqLen, headDim] row-major (any array-like of numbers);
// mask is [batch, seqLen] (1 = token, 0 = padding); convWeight is [heads, kernel] row-major.
// Results are Float64Array in the same layout as q; the attention-matrix functions
// (nystromMatrixRef, softmaxMatrixRef) return [batch, heads, seqLen, seqLen]; nystromFactorsRef returns
// the per-head factors k1, Z, k3. bhndToBnhd / bnhdToBhnd convert to and from the [B, n, H, d] layout.
//
// Runtime-neutral on purpose: plain ESM with no imports, so the same file serves the Node host
// tests and the runtime conformance cases in Node, Deno, Bun, a browser page and a Web Worker.
//
// Sources of the style rules (see ALGORITHM.md §2): the authors' NystromAttention
// (mlpen/Nystromformer), HuggingFace NystromformerSelfAttention, lucidrains' nystrom-attention.

/** torch.finfo(torch.float32).max, the fill value of lucidrains and the bias of hf. */
export const F32_MAX = 3.4028234663852886e38;
/** The authors' additive key bias for padding. */
export const AUTHORS_BIAS = -1e9;
/** lucidrains' eps in the masked mean. */
export const LUCIDRAINS_EPS = 1e-8;

export const STYLES = ['authors', 'hf', 'lucidrains'];
export const PINV_INITS = ['original', 'exact', 'abs_rowcol', 'paper'];
export const REMAINDERS = ['pad', 'uneven', 'error'];

// ---------------------------------------------------------------------------------------------
// Rounding. R is the identity (float64 reference); with `emulateF32: true` in the options every
// arithmetic result is rounded to float32 (sequential sums), which gives the error a plain float32
// implementation of the same formulas makes: a yardstick for how well-conditioned a case is.
const ident = (x) => x;
let R = ident;
function withRounding(options, fn) {
  const saved = R;
  R = options && options.emulateF32 ? Math.fround : ident;
  try {
    return fn();
  } finally {
    R = saved;
  }
}

// ---------------------------------------------------------------------------------------------
// Small dense helpers (row-major Float64Array matrices)

/** C[m×n] = A[m×k] · B[k×n]. */
export function matmulRef(a, b, m, k, n) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      if (aip === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] = R(c[i * n + j] + R(aip * b[p * n + j]));
    }
  }
  return c;
}

/** C[m×n] = A[m×k] · Bᵀ with B stored [n×k]. */
export function matmulTransposedRef(a, b, m, k, n) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s = R(s + R(a[i * k + p] * b[j * k + p]));
      c[i * n + j] = s;
    }
  }
  return c;
}

/** In place, per row: x ← softmax(x), max-subtracted like torch.softmax. */
function softmaxRowsInPlace(x, rows, cols) {
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j] > mx) mx = x[o + j];
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = R(Math.exp(R(x[o + j] - mx)));
      x[o + j] = e;
      s = R(s + e);
    }
    for (let j = 0; j < cols; j++) x[o + j] = R(x[o + j] / s);
  }
}

function transpose(a, rows, cols) {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

/**
 * The iteration of ALGORITHM.md §1.4 from Z0 = alpha·Aᵀ:
 * AZ = A·Z; Z ← 0.25·Z·(13I − AZ·(15I − AZ·(7I − AZ))).
 */
export function pinvIterateRef(a, m, iters, alpha) {
  let z = transpose(a, m, m);
  for (let i = 0; i < m * m; i++) z[i] = R(z[i] * alpha);
  const sub = (c, x) => {
    // c·I − x
    const r = new Float64Array(m * m);
    for (let i = 0; i < m * m; i++) r[i] = -x[i];
    for (let i = 0; i < m; i++) r[i * m + i] = R(r[i * m + i] + c);
    return r;
  };
  for (let it = 0; it < iters; it++) {
    const az = matmulRef(a, z, m, m, m);
    const t1 = sub(7, az);
    const t2 = sub(15, matmulRef(az, t1, m, m, m));
    const t3 = sub(13, matmulRef(az, t2, m, m, m));
    const zz = matmulRef(z, t3, m, m, m);
    for (let i = 0; i < m * m; i++) zz[i] = R(zz[i] * 0.25);
    z = zz;
  }
  return z;
}

function colSums(a, m) {
  const s = new Float64Array(m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) s[j] += a[i * m + j];
  return s;
}
function absColSums(a, m) {
  const s = new Float64Array(m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) s[j] += Math.abs(a[i * m + j]);
  return s;
}
function absRowSums(a, m) {
  const s = new Float64Array(m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) s[i] += Math.abs(a[i * m + j]);
  return s;
}
const maxOf = (arr) => {
  let mx = -Infinity;
  for (const x of arr) if (x > mx) mx = x;
  return mx;
};

/**
 * alpha of Z0 = alpha·k2ᵀ for every (b, h), from the list of all k2 matrices of the call
 * (ALGORITHM.md §1.4). 'original' and 'abs_rowcol' take their maxima over the whole call.
 */
export function pinvAlphas(k2s, m, init) {
  if (init === 'original') {
    let mx = -Infinity;
    for (const a of k2s) mx = Math.max(mx, maxOf(colSums(a, m)));
    return k2s.map(() => R(1 / mx));
  }
  if (init === 'exact') return k2s.map((a) => 1 / maxOf(colSums(a, m)));
  if (init === 'abs_rowcol') {
    let mr = -Infinity;
    let mc = -Infinity;
    for (const a of k2s) {
      mr = Math.max(mr, maxOf(absRowSums(a, m)));
      mc = Math.max(mc, maxOf(absColSums(a, m)));
    }
    return k2s.map(() => 1 / (mr * mc));
  }
  if (init === 'paper') return k2s.map((a) => 1 / (maxOf(absColSums(a, m)) * maxOf(absRowSums(a, m))));
  throw new TypeError(`reference: unknown pinvInit ${init}`);
}

// ---------------------------------------------------------------------------------------------
// Option handling

function checkShape(shape) {
  if (!shape || shape.length !== 4) throw new RangeError('reference: shape must be [batch, heads, seqLen, headDim]');
  const [B, H, n, d] = shape;
  for (const x of shape) if (!Number.isInteger(x) || x < 1) throw new RangeError(`reference: bad dim ${x}`);
  return [B, H, n, d];
}

function convKernel(convWeight, H) {
  if (convWeight == null) return 0;
  const ks = convWeight.length / H;
  if (!Number.isInteger(ks) || ks < 1 || ks % 2 === 0) {
    throw new RangeError(`reference: convWeight length ${convWeight.length} is not heads·odd`);
  }
  return ks;
}

/**
 * Segment boundaries [start, end) of the landmarks over a run of length L:
 * equal segments of L/m rows, or (uneven) the first (s+1)·m − L segments of s = ⌊L/m⌋ rows, the rest s+1.
 */
export function segments(L, m, uneven) {
  const seg = [];
  if (!uneven) {
    const l = L / m;
    for (let j = 0; j < m; j++) seg.push([j * l, (j + 1) * l]);
    return seg;
  }
  const s = Math.floor(L / m);
  const nShort = (s + 1) * m - L;
  let at = 0;
  for (let j = 0; j < m; j++) {
    const len = j < nShort ? s : s + 1;
    seg.push([at, at + len]);
    at += len;
  }
  return seg;
}

/** Copies the (b, h) slab of x [B,H,n,d] into a Float64Array of L = pad + n rows (pad zero rows first). */
function slab(x, b, h, H, n, d, pad) {
  const L = n + pad;
  const out = new Float64Array(L * d);
  const o = (b * H + h) * n * d;
  for (let i = 0; i < n * d; i++) out[pad * d + i] = x[o + i];
  return out;
}

/** Depthwise conv residual (ALGORITHM.md §1.6): out[i][c] += Σ_t w[t]·x[i + t − ⌊k/2⌋][c], zero outside. */
function convAdd(out, x, L, d, w, wOff, ks) {
  const half = (ks - 1) / 2;
  for (let i = 0; i < L; i++) {
    for (let t = 0; t < ks; t++) {
      const r = i + t - half;
      if (r < 0 || r >= L) continue;
      const wt = w[wOff + t];
      for (let c = 0; c < d; c++) out[i * d + c] = R(out[i * d + c] + R(wt * x[r * d + c]));
    }
  }
}

/**
 * Per-style preparation of one (b, h) slab of length L with run mask mk (Float64Array L, or null):
 * scaled Q and K, the V that enters the products, the conv input.
 */
function prepare(style, Q, K, V, L, d, mk) {
  const qs = new Float64Array(L * d);
  const ks = new Float64Array(L * d);
  let vv = V;
  let conv = V;
  if (style === 'authors' || style === 'hf') {
    const s = R(1 / Math.sqrt(Math.sqrt(d)));
    const useMask = style === 'authors' && mk;
    for (let i = 0; i < L; i++) {
      const w = useMask ? mk[i] : 1;
      for (let c = 0; c < d; c++) {
        qs[i * d + c] = R(Q[i * d + c] * w * s);
        ks[i * d + c] = R(K[i * d + c] * w * s);
      }
    }
    if (style === 'authors' && mk) {
      conv = new Float64Array(L * d);
      for (let i = 0; i < L; i++) for (let c = 0; c < d; c++) conv[i * d + c] = V[i * d + c] * mk[i];
    }
  } else {
    const s = R(Math.pow(d, -0.5));
    if (mk) {
      vv = new Float64Array(L * d);
      for (let i = 0; i < L; i++) for (let c = 0; c < d; c++) vv[i * d + c] = V[i * d + c] * mk[i];
      conv = vv;
    }
    for (let i = 0; i < L; i++) {
      const w = mk ? mk[i] : 1;
      for (let c = 0; c < d; c++) {
        qs[i * d + c] = R(Q[i * d + c] * w * s);
        ks[i * d + c] = K[i * d + c] * w;
      }
    }
  }
  return { qs, ks, vv, conv };
}

/**
 * Exact softmax attention on one prepared slab with the style's masking (ALGORITHM.md §2, "exact path").
 * For authors the V that is multiplied is V·mask (the conv input), for hf raw V, for lucidrains masked V.
 * With `matrix` the L×L attention weights are returned instead of their product with V.
 */
function exactSlab(style, p, L, d, mk, matrix) {
  const logits = matmulTransposedRef(p.qs, p.ks, L, d, L);
  if (mk) {
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L; j++) {
        const o = i * L + j;
        if (style === 'authors') logits[o] += AUTHORS_BIAS * (1 - mk[j]);
        else if (style === 'hf') logits[o] += (1 - mk[j]) * -F32_MAX;
        else if (!(mk[i] && mk[j])) logits[o] = -F32_MAX;
      }
    }
  }
  softmaxRowsInPlace(logits, L, L);
  if (matrix) return logits;
  const vUse = style === 'authors' ? p.conv : p.vv;
  return matmulRef(logits, vUse, L, L, d);
}

function runMaskFor(mask, b, n, pad) {
  const mk = new Float64Array(n + pad);
  for (let i = 0; i < n; i++) mk[pad + i] = mask ? Number(mask[b * n + i]) : 1;
  return mk;
}

/**
 * Writes the last n rows of an L×d slab result into out [B,H,n,d]; with `matrix`, the last n rows
 * and columns of an L×L matrix into out [B,H,n,n] (the added rows are keys as well as queries).
 */
function takeLast(out, slabOut, b, h, H, n, d, pad, matrix) {
  if (!matrix) {
    const o = (b * H + h) * n * d;
    for (let i = 0; i < n * d; i++) out[o + i] = slabOut[pad * d + i];
    return;
  }
  const L = n + pad;
  const o = (b * H + h) * n * n;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[o + i * n + j] = slabOut[(pad + i) * L + pad + j];
}

// ---------------------------------------------------------------------------------------------
// Public reference functions

/** Exact attention softmax(QKᵀ/√d + maskBias)·V (+ conv) with the style's conventions. */
export function softmaxRef(q, k, v, options) {
  return withRounding(options, () => softmaxImpl(q, k, v, options, false));
}

/** The exact softmax attention matrix of every head, [B, H, n, n] (the weights softmaxRef applies to V; no conv). */
export function softmaxMatrixRef(q, k, options) {
  // Matrix mode reads no V; q stands in for it so the per-head pipeline stays one.
  return withRounding(options, () => softmaxImpl(q, k, q, options, true));
}

function softmaxImpl(q, k, v, options, matrix) {
  const [B, H, n, d] = checkShape(options.shape);
  const style = options.style ?? 'authors';
  if (!STYLES.includes(style)) throw new TypeError(`reference: unknown style ${style}`);
  const mask = options.mask ?? null;
  const ks = matrix ? 0 : convKernel(options.convWeight, H);
  const out = new Float64Array(B * H * n * (matrix ? n : d));
  for (let b = 0; b < B; b++) {
    const mk = mask ? runMaskFor(mask, b, n, 0) : null;
    for (let h = 0; h < H; h++) {
      const Q = slab(q, b, h, H, n, d, 0);
      const K = slab(k, b, h, H, n, d, 0);
      const V = slab(v, b, h, H, n, d, 0);
      const p = prepare(style, Q, K, V, n, d, mk);
      const o = exactSlab(style, p, n, d, mk, matrix);
      if (ks) convAdd(o, p.conv, n, d, options.convWeight, h * ks, ks);
      takeLast(out, o, b, h, H, n, d, 0, matrix);
    }
  }
  return out;
}

/**
 * Nyström attention per ALGORITHM.md, literally: pad (or split unevenly), compute on the run length,
 * return the last n rows. Options as NystromAttentionOptions (shape, mask, convWeight, style,
 * landmarks, pinvIterations, pinvInit, remainder).
 * With `options.trace = {}` the k1, k2, k3 matrices (after their softmax), alphas and Z of each (b, h)
 * are stored there (in b, h order), with pad, rows (= n + pad), landmarks and exactPath; in matrix
 * mode on the exact path, trace.exact holds each head's rows×rows softmax matrix instead.
 * With `options.emulateF32 = true` every operation rounds to float32 (see R above).
 */
export function nystromRef(q, k, v, options) {
  return withRounding(options, () => nystromImpl(q, k, v, options, false));
}

/**
 * The n×n matrix Nyström attention implies for every head, [B, H, n, n]: k1·Z·k3 (Z ≈ pinv(k2)) on
 * the run length, restricted to the last n queries and keys when padded; the exact softmax matrix
 * on the exact path. No conv. Options as nystromRef (convWeight is ignored).
 */
export function nystromMatrixRef(q, k, options) {
  // Matrix mode reads no V; q stands in for it so the per-head pipeline stays one.
  return withRounding(options, () => nystromImpl(q, k, q, options, true));
}

function nystromImpl(q, k, v, options, matrix) {
  const [B, H, n, d] = checkShape(options.shape);
  const style = options.style ?? 'authors';
  if (!STYLES.includes(style)) throw new TypeError(`reference: unknown style ${style}`);
  const m = options.landmarks ?? 64;
  if (!Number.isInteger(m) || m < 1) throw new RangeError(`reference: bad landmarks ${m}`);
  const iters = options.pinvIterations ?? 6;
  if (!Number.isInteger(iters) || iters < 0) throw new RangeError(`reference: bad pinvIterations ${iters}`);
  const init = options.pinvInit ?? (style === 'lucidrains' ? 'abs_rowcol' : 'original');
  if (!PINV_INITS.includes(init)) throw new TypeError(`reference: unknown pinvInit ${init}`);
  const remainder = options.remainder ?? 'pad';
  if (!REMAINDERS.includes(remainder)) throw new TypeError(`reference: unknown remainder ${remainder}`);
  const mask = options.mask ?? null;
  const ks = matrix ? 0 : convKernel(options.convWeight, H);

  let pad = 0;
  if (remainder === 'pad') pad = (m - (n % m)) % m;
  else if (remainder === 'error' && n % m !== 0) throw new RangeError(`reference: ${n} % ${m} != 0`);
  else if (remainder === 'uneven' && m > n) throw new RangeError(`reference: landmarks ${m} > seqLen ${n}`);
  const L = n + pad;
  const uneven = remainder === 'uneven' && L % m !== 0;

  // Run mask: authors/hf treat added rows as padding even without a caller mask; lucidrains masks
  // only when the caller passed a mask.
  const hasRunMask = style === 'lucidrains' ? mask != null : mask != null || pad > 0;

  const out = new Float64Array(B * H * n * (matrix ? n : d));
  const exactPath = style !== 'lucidrains' && m === L;
  const seg = segments(L, m, uneven);

  // First pass: everything up to k2 for every (b, h) (alpha of 'original'/'abs_rowcol' needs all of them).
  const heads = [];
  for (let b = 0; b < B; b++) {
    const mk = hasRunMask ? runMaskFor(mask, b, n, pad) : null;
    for (let h = 0; h < H; h++) {
      const Q = slab(q, b, h, H, n, d, pad);
      const K = slab(k, b, h, H, n, d, pad);
      const V = slab(v, b, h, H, n, d, pad);
      const p = prepare(style, Q, K, V, L, d, mk);
      if (exactPath) {
        const o = exactSlab(style, p, L, d, mk, matrix);
        if (options.trace && matrix) (options.trace.exact ??= []).push(o);
        if (ks) convAdd(o, p.conv, L, d, options.convWeight, h * ks, ks);
        takeLast(out, o, b, h, H, n, d, pad, matrix);
        continue;
      }
      // Landmarks: segment means (lucidrains with a mask: sum / (count + eps)).
      const ql = new Float64Array(m * d);
      const kl = new Float64Array(m * d);
      const lmKeep = new Float64Array(m).fill(1);
      for (let j = 0; j < m; j++) {
        const [s0, s1] = seg[j];
        let divisor = s1 - s0;
        if (style === 'lucidrains' && mk) {
          let cnt = 0;
          for (let i = s0; i < s1; i++) cnt += mk[i];
          divisor = R(cnt + LUCIDRAINS_EPS);
          lmKeep[j] = cnt > 0 ? 1 : 0;
        }
        for (let c = 0; c < d; c++) {
          let sq = 0;
          let sk = 0;
          for (let i = s0; i < s1; i++) {
            sq = R(sq + p.qs[i * d + c]);
            sk = R(sk + p.ks[i * d + c]);
          }
          ql[j * d + c] = R(sq / divisor);
          kl[j * d + c] = R(sk / divisor);
        }
      }
      const k1 = matmulTransposedRef(p.qs, kl, L, d, m);
      const k2 = matmulTransposedRef(ql, kl, m, d, m);
      const k3 = matmulTransposedRef(ql, p.ks, m, d, L);
      if (mk) {
        if (style === 'authors') {
          for (let i = 0; i < m; i++) for (let j = 0; j < L; j++) k3[i * L + j] += AUTHORS_BIAS * (1 - mk[j]);
        } else if (style === 'hf') {
          for (let i = 0; i < m; i++) for (let j = 0; j < L; j++) k3[i * L + j] += (1 - mk[j]) * -F32_MAX;
        } else {
          for (let i = 0; i < L; i++) for (let j = 0; j < m; j++) if (!(mk[i] && lmKeep[j])) k1[i * m + j] = -F32_MAX;
          for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (!(lmKeep[i] && lmKeep[j])) k2[i * m + j] = -F32_MAX;
          for (let i = 0; i < m; i++) for (let j = 0; j < L; j++) if (!(lmKeep[i] && mk[j])) k3[i * L + j] = -F32_MAX;
        }
      }
      softmaxRowsInPlace(k1, L, m);
      softmaxRowsInPlace(k2, m, m);
      softmaxRowsInPlace(k3, m, L);
      heads.push({ b, h, p, k1, k2, k3 });
    }
  }
  if (options.trace) Object.assign(options.trace, { pad, rows: L, landmarks: m, exactPath });
  if (exactPath) return out;

  const alphas = pinvAlphas(heads.map((x) => x.k2), m, init);
  if (options.trace) {
    options.trace.k1 = [];
    options.trace.k2 = [];
    options.trace.k3 = [];
    options.trace.z = [];
    options.trace.alphas = alphas;
  }
  heads.forEach((hd, idx) => {
    const z = pinvIterateRef(hd.k2, m, iters, alphas[idx]);
    if (options.trace) {
      options.trace.k1.push(hd.k1);
      options.trace.k2.push(hd.k2);
      options.trace.k3.push(hd.k3);
      options.trace.z.push(z);
    }
    const left = matmulRef(hd.k1, z, L, m, m); // (k1·Z)
    if (matrix) {
      takeLast(out, matmulRef(left, hd.k3, L, m, L), hd.b, hd.h, H, n, d, pad, true); // (k1·Z)·k3
      return;
    }
    const right = matmulRef(hd.k3, hd.p.vv, m, L, d); // (k3·V)
    const o = matmulRef(left, right, L, m, d);
    if (ks) convAdd(o, hd.p.conv, L, d, options.convWeight, hd.h * ks, ks);
    takeLast(out, o, hd.b, hd.h, H, n, d, pad);
  });
  return out;
}

/**
 * The factors Nyström attention runs on, per head, in the shape of the library's
 * nystromAttentionFactors: kernel1 [B,H,rows,m], pinv [B,H,m,m], kernel3 [B,H,m,rows] (Float64Array),
 * rows = n + pad (pad leading padding rows), landmarks = m. On the exact path (authors/hf with
 * m == rows) kernel1 is the rows×rows exact softmax matrix and pinv, kernel3 are the identity.
 * Options as nystromMatrixRef (convWeight ignored); emulateF32 applies.
 */
export function nystromFactorsRef(q, k, options) {
  const trace = {};
  withRounding(options, () => nystromImpl(q, k, q, { ...options, trace }, true));
  const [B, H, n] = options.shape;
  const { pad, rows, landmarks: m, exactPath } = trace;
  const heads = B * H;
  const kernel1 = new Float64Array(heads * rows * m);
  const pinv = new Float64Array(heads * m * m);
  const kernel3 = new Float64Array(heads * m * rows);
  for (let i = 0; i < heads; i++) {
    if (exactPath) {
      kernel1.set(trace.exact[i], i * rows * m);
      for (let j = 0; j < m; j++) {
        pinv[i * m * m + j * m + j] = 1;
        kernel3[i * m * rows + j * rows + j] = 1;
      }
    } else {
      kernel1.set(trace.k1[i], i * rows * m);
      pinv.set(trace.z[i], i * m * m);
      kernel3.set(trace.k3[i], i * m * rows);
    }
  }
  return { kernel1, pinv, kernel3, rows, pad, landmarks: m, shape: [B, H, n, options.shape[3]] };
}

// ---------------------------------------------------------------------------------------------
// Layouts: [B, H, n, d] ('bhnd', the default) and [B, n, H, d] ('bnhd'); shape is [B, H, n, d] in both.

/** x stored [B,H,n,d] → a new array of the same type stored [B,n,H,d]. Exact copy (no arithmetic). */
export function bhndToBnhd(x, shape) {
  const [B, H, n, d] = shape;
  const y = new x.constructor(x.length);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < n; i++) {
        const src = ((b * H + h) * n + i) * d;
        const dst = ((b * n + i) * H + h) * d;
        for (let c = 0; c < d; c++) y[dst + c] = x[src + c];
      }
    }
  }
  return y;
}

/** x stored [B,n,H,d] → a new array of the same type stored [B,H,n,d]. Exact copy (no arithmetic). */
export function bnhdToBhnd(x, shape) {
  const [B, H, n, d] = shape;
  const y = new x.constructor(x.length);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < n; i++) {
        const src = ((b * n + i) * H + h) * d;
        const dst = ((b * H + h) * n + i) * d;
        for (let c = 0; c < d; c++) y[dst + c] = x[src + c];
      }
    }
  }
  return y;
}

/**
 * The n×n attention matrices [B, H, n, n] (Float64Array) that factors { kernel1, pinv, kernel3, rows,
 * pad, landmarks, shape } (nystromAttentionFactors, nystromFactorsRef) imply: (kernel1·pinv)·kernel3
 * in float64, restricted to the real rows pad.. and columns pad.. of each head.
 */
export function factorsToMatrix(factors) {
  const { kernel1, pinv, kernel3, rows: L, pad, landmarks: m, shape } = factors;
  const [B, H, n] = shape;
  const out = new Float64Array(B * H * n * n);
  const left = new Float64Array(n * m);
  for (let bh = 0; bh < B * H; bh++) {
    const k1 = bh * L * m;
    const z = bh * m * m;
    const k3 = bh * m * L;
    left.fill(0);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < m; a++) {
        const x = kernel1[k1 + (pad + i) * m + a];
        if (x === 0) continue;
        for (let c = 0; c < m; c++) left[i * m + c] += x * pinv[z + a * m + c];
      }
    }
    const o = bh * n * n;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < m; c++) {
        const x = left[i * m + c];
        if (x === 0) continue;
        const r = k3 + c * L + pad;
        for (let j = 0; j < n; j++) out[o + i * n + j] += x * kernel3[r + j];
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Test helpers

/**
 * Relative Frobenius error ‖actual − expected‖ / ‖expected‖ over the rows whose rowKeep entry is
 * non-zero. rowKeep has one entry per output row (see rowKeepFromMask); absent = all rows.
 */
export function relFrobenius(actual, expected, rowKeep) {
  if (actual.length !== expected.length) {
    throw new RangeError(`relFrobenius: lengths differ (${actual.length} vs ${expected.length})`);
  }
  const rows = rowKeep ? rowKeep.length : 1;
  const d = actual.length / rows;
  let num = 0;
  let den = 0;
  for (let r = 0; r < rows; r++) {
    if (rowKeep && !rowKeep[r]) continue;
    for (let c = 0; c < d; c++) {
      const e = expected[r * d + c];
      const diff = actual[r * d + c] - e;
      num += diff * diff;
      den += e * e;
    }
  }
  if (!Number.isFinite(num)) return Infinity;
  if (den === 0) return Math.sqrt(num);
  return Math.sqrt(num / den);
}

/** One keep flag per output row of [B,H,n,d] from a [B,n] mask (absent mask = keep all). */
export function rowKeepFromMask(mask, shape) {
  const [B, H, n] = shape;
  const keep = new Uint8Array(B * H * n);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < n; i++) keep[(b * H + h) * n + i] = mask ? (mask[b * n + i] ? 1 : 0) : 1;
    }
  }
  return keep;
}

/** mulberry32: a small 32-bit seeded generator; returns a function giving floats in [0, 1). */
export function mulberry32(seed) {
  let s = seed >>> 0;
  return function next() {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box–Muller) from a [0,1) generator. */
export function gaussian(rng) {
  let spare = null;
  return function next() {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = rng();
    const w = rng();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * w);
    return r * Math.cos(2 * Math.PI * w);
  };
}

/** A Float32Array of `count` samples ~ N(0, std²) from seed (or from an existing gaussian()). */
export function randn(count, std = 1, seedOrGen = 1) {
  const g = typeof seedOrGen === 'function' ? seedOrGen : gaussian(mulberry32(seedOrGen));
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) a[i] = std * g();
  return a;
}

/** Fills an existing array with N(0, std²) samples; returns it. */
export function fillRandn(arr, std = 1, seedOrGen = 1) {
  const g = typeof seedOrGen === 'function' ? seedOrGen : gaussian(mulberry32(seedOrGen));
  for (let i = 0; i < arr.length; i++) arr[i] = std * g();
  return arr;
}

/** Q, K ~ N(0, 9), V ~ N(0, 1) for shape [B,H,n,d] (ALGORITHM.md §4). */
export function makeQKV(shape, seed = 1) {
  const count = shape[0] * shape[1] * shape[2] * shape[3];
  const g = gaussian(mulberry32(seed));
  return { q: randn(count, 3, g), k: randn(count, 3, g), v: randn(count, 1, g) };
}

/** Bitwise equality of two Float32Arrays (NaN-safe, −0 ≠ +0). */
export function bitsEqual(a, b) {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
