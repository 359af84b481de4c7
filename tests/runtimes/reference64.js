// A small float64 reference of Nyström and exact softmax attention, written straight from the
// formulas (docs: ALGORITHM, sections 1-3), for the runtime conformance cases.
//
// Runtime-neutral on purpose: plain ESM, no imports, so the same file runs in Node, Deno, Bun,
// a browser page and a Web Worker. It is slow (triple loops) and only meant for small shapes.
//
// Layout: q, k, v are row-major [batch, heads, n, d] (any array-like of numbers); mask is
// [batch, n] of 0/1; convWeight is [heads, kernelSize]. Results are Float64Array.

const F32_MAX = 3.4028235e38;

/** Row-major dense matrix helpers (Float64Array, rows × cols). */
function matmulNT(a, b, rows, inner, cols) {
  // a: rows×inner, b: cols×inner  ->  a·bᵀ: rows×cols
  const c = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let t = 0; t < inner; t++) s += a[i * inner + t] * b[j * inner + t];
      c[i * cols + j] = s;
    }
  }
  return c;
}

function matmulNN(a, b, rows, inner, cols) {
  // a: rows×inner, b: inner×cols
  const c = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let t = 0; t < inner; t++) {
      const x = a[i * inner + t];
      if (x === 0) continue;
      for (let j = 0; j < cols; j++) c[i * cols + j] += x * b[t * cols + j];
    }
  }
  return c;
}

/** In place, max-subtracted row softmax (like torch.softmax). */
function softmaxRowsInPlace(x, rows, cols) {
  for (let i = 0; i < rows; i++) {
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) mx = Math.max(mx, x[i * cols + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) { const e = Math.exp(x[i * cols + j] - mx); x[i * cols + j] = e; s += e; }
    for (let j = 0; j < cols; j++) x[i * cols + j] /= s;
  }
  return x;
}

function transpose(a, rows, cols) {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

/** Newton–Schulz-like iteration of Razavi et al. 2014: Z ← 0.25·Z·(13I − AZ·(15I − AZ·(7I − AZ))). */
function pinvIterate(a, m, alpha, iters) {
  let z = transpose(a, m, m);
  for (let i = 0; i < m * m; i++) z[i] *= alpha;
  const withI = (c, x) => { // c·I − x
    const r = new Float64Array(m * m);
    for (let i = 0; i < m * m; i++) r[i] = -x[i];
    for (let i = 0; i < m; i++) r[i * m + i] += c;
    return r;
  };
  for (let it = 0; it < iters; it++) {
    const az = matmulNN(a, z, m, m, m);
    const t1 = matmulNN(az, withI(7, az), m, m, m);
    const t2 = matmulNN(az, withI(15, t1), m, m, m);
    const t3 = withI(13, t2);
    const zq = new Float64Array(m * m);
    for (let i = 0; i < m * m; i++) zq[i] = 0.25 * z[i];
    z = matmulNN(zq, t3, m, m, m);
  }
  return z;
}

function colSums(a, m, abs) {
  const s = new Float64Array(m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) s[j] += abs ? Math.abs(a[i * m + j]) : a[i * m + j];
  return s;
}
function rowSums(a, m, abs) {
  const s = new Float64Array(m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) s[i] += abs ? Math.abs(a[i * m + j]) : a[i * m + j];
  return s;
}
const maxOf = (arr) => { let x = -Infinity; for (const v of arr) x = Math.max(x, v); return x; };

/** Everything the algorithm needs that depends only on shape and options. */
function plan(options, nystrom) {
  const [B, H, n, d] = options.shape;
  const style = options.style ?? 'authors';
  if (!['authors', 'hf', 'lucidrains'].includes(style)) throw new TypeError(`unknown style ${style}`);
  const m = options.landmarks ?? 64;
  const remainder = options.remainder ?? 'pad';
  let pad = 0;
  let uneven = false;
  if (nystrom && n % m !== 0) {
    if (remainder === 'error') throw new RangeError(`landmarks ${m} does not divide ${n}`);
    if (remainder === 'uneven') {
      if (m > n) throw new RangeError(`uneven needs landmarks <= n`);
      uneven = true;
    } else pad = (m - (n % m)) % m;
  }
  const L = n + pad;
  const hasMask = options.mask != null;
  // Mask over the length the algorithm runs on (null = no masking at all).
  // authors/hf: the added rows are padding tokens even without a caller mask; lucidrains: only with one.
  let maskL = null;
  if (style !== 'lucidrains' || hasMask) {
    maskL = new Float64Array(B * L);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < n; i++) maskL[b * L + pad + i] = hasMask ? Number(options.mask[b * n + i]) : 1;
    }
  }
  // Segments: [start, size] per landmark.
  const segs = [];
  if (nystrom) {
    if (uneven) {
      const s = Math.floor(n / m);
      const small = (s + 1) * m - n;
      let at = 0;
      for (let j = 0; j < m; j++) { const sz = j < small ? s : s + 1; segs.push([at, sz]); at += sz; }
    } else {
      const s = L / m;
      for (let j = 0; j < m; j++) segs.push([j * s, s]);
    }
  }
  const exact = !nystrom || (style !== 'lucidrains' && m === L);
  const ks = options.convWeight ? options.convWeight.length / H : 0;
  const pinvInit = options.pinvInit ?? (style === 'lucidrains' ? 'abs_rowcol' : 'original');
  return { B, H, n, d, style, m, L, pad, maskL, hasMask, segs, exact, ks, pinvInit, iters: options.pinvIterations ?? 6 };
}

/** Per (b, h): scaled, masked and padded Q, K, V (L×d) plus the V used by the convolution. */
function prepareHead(p, q, k, v, b, h) {
  const { H, n, d, L, pad, style, maskL } = p;
  const base = ((b * H + h) * n) * d;
  const Q = new Float64Array(L * d), K = new Float64Array(L * d), V = new Float64Array(L * d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) {
      Q[(pad + i) * d + c] = q[base + i * d + c];
      K[(pad + i) * d + c] = k[base + i * d + c];
      V[(pad + i) * d + c] = v[base + i * d + c];
    }
  }
  const mk = (i) => (maskL ? maskL[b * L + i] : 1);
  const Vmasked = new Float64Array(L * d);
  for (let i = 0; i < L; i++) for (let c = 0; c < d; c++) Vmasked[i * d + c] = V[i * d + c] * mk(i);
  if (style === 'lucidrains') {
    const sq = 1 / Math.sqrt(d);
    for (let i = 0; i < L; i++) {
      for (let c = 0; c < d; c++) { Q[i * d + c] *= mk(i) * sq; K[i * d + c] *= mk(i); }
    }
    return { Q, K, V: Vmasked, Vconv: Vmasked, mk };
  }
  const s4 = 1 / Math.sqrt(Math.sqrt(d));
  for (let i = 0; i < L * d; i++) { Q[i] *= s4; K[i] *= s4; }
  if (style === 'authors') {
    for (let i = 0; i < L; i++) for (let c = 0; c < d; c++) { Q[i * d + c] *= mk(i); K[i * d + c] *= mk(i); }
    return { Q, K, V, Vconv: Vmasked, mk };
  }
  return { Q, K, V, Vconv: V, mk }; // hf: nothing masked but the keys' bias
}

/** Exact attention matrix for one head over length L (rows × L), with the style's masking. */
function exactMatrix(p, hd) {
  const { L, d, style } = p;
  const logits = matmulNT(hd.Q, hd.K, L, d, L);
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      const at = i * L + j;
      if (style === 'authors') logits[at] += -1e9 * (1 - hd.mk(j));
      else if (style === 'hf') logits[at] += (1 - hd.mk(j)) * -F32_MAX;
      else if (p.maskL && !(hd.mk(i) && hd.mk(j))) logits[at] = -F32_MAX;
    }
  }
  return softmaxRowsInPlace(logits, L, L);
}

function landmarks(p, x, b) {
  const { m, d, L, segs, style, maskL } = p;
  const out = new Float64Array(m * d);
  const keep = new Uint8Array(m).fill(1);
  for (let j = 0; j < m; j++) {
    const [start, size] = segs[j];
    let div = size;
    if (style === 'lucidrains' && maskL) {
      let cnt = 0;
      for (let i = start; i < start + size; i++) cnt += maskL[b * L + i];
      div = cnt + 1e-8;
      keep[j] = cnt > 0 ? 1 : 0;
    }
    for (let i = start; i < start + size; i++) for (let c = 0; c < d; c++) out[j * d + c] += x[i * d + c];
    for (let c = 0; c < d; c++) out[j * d + c] /= div;
  }
  return { x: out, keep };
}

/** The three kernels of one head (k1: L×m, k2: m×m, k3: m×L). */
function kernels(p, hd, b) {
  const { L, d, m, style, maskL } = p;
  const lq = landmarks(p, hd.Q, b), lk = landmarks(p, hd.K, b);
  const keep = lq.keep;
  const k1 = matmulNT(hd.Q, lk.x, L, d, m);
  const k2 = matmulNT(lq.x, lk.x, m, d, m);
  const k3 = matmulNT(lq.x, hd.K, m, d, L);
  if (style === 'lucidrains' && maskL) {
    for (let i = 0; i < L; i++) for (let j = 0; j < m; j++) if (!(hd.mk(i) && keep[j])) k1[i * m + j] = -F32_MAX;
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (!(keep[i] && keep[j])) k2[i * m + j] = -F32_MAX;
    for (let i = 0; i < m; i++) for (let j = 0; j < L; j++) if (!(keep[i] && hd.mk(j))) k3[i * L + j] = -F32_MAX;
  } else {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < L; j++) {
        if (style === 'authors') k3[i * L + j] += -1e9 * (1 - hd.mk(j));
        else if (style === 'hf') k3[i * L + j] += (1 - hd.mk(j)) * -F32_MAX;
      }
    }
  }
  softmaxRowsInPlace(k1, L, m);
  softmaxRowsInPlace(k2, m, m);
  softmaxRowsInPlace(k3, m, L);
  return { k1, k2, k3 };
}

/** Z ≈ pinv(k2) for every head, with the α of pinvInit (some inits take maxima over the whole call). */
function pinvAll(p, k2s) {
  const { m, pinvInit, iters } = p;
  let global = 0;
  if (pinvInit === 'original') {
    global = 1 / Math.max(...k2s.map((a) => maxOf(colSums(a, m, false))));
  } else if (pinvInit === 'abs_rowcol') {
    const r = Math.max(...k2s.map((a) => maxOf(rowSums(a, m, true))));
    const c = Math.max(...k2s.map((a) => maxOf(colSums(a, m, true))));
    global = 1 / (r * c);
  } else if (pinvInit !== 'exact' && pinvInit !== 'paper') throw new TypeError(`unknown pinvInit ${pinvInit}`);
  return k2s.map((a) => {
    let alpha = global;
    if (pinvInit === 'exact') alpha = 1 / maxOf(colSums(a, m, false));
    if (pinvInit === 'paper') alpha = 1 / (maxOf(colSums(a, m, true)) * maxOf(rowSums(a, m, true)));
    return pinvIterate(a, m, alpha, iters);
  });
}

/** Adds the depthwise conv residual of one head to out (L×d). */
function addConv(p, out, Vc, h, w) {
  const { L, d, ks } = p;
  if (!ks) return;
  const half = Math.floor(ks / 2);
  for (let i = 0; i < L; i++) {
    for (let t = 0; t < ks; t++) {
      const r = i + t - half;
      if (r < 0 || r >= L) continue;
      const wt = w[h * ks + t];
      for (let c = 0; c < d; c++) out[i * d + c] += wt * Vc[r * d + c];
    }
  }
}

/** Runs fn(b, h, headData) over every head, then writes the last n rows of each L×cols result. */
function perHead(p, q, k, v, cols, compute) {
  const { B, H, n, L, pad } = p;
  const heads = [];
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) heads.push({ b, h, hd: prepareHead(p, q, k, v ?? q, b, h) });
  const results = compute(heads);
  const out = new Float64Array(B * H * n * cols);
  results.forEach((r, idx) => {
    for (let i = 0; i < n; i++) for (let c = 0; c < cols; c++) out[(idx * n + i) * cols + c] = r[(pad + i) * r.cols + c + (r.colOffset ?? 0)];
  });
  return out;
}

function nystromHeads(p, heads, wantMatrix) {
  const { L, d, m } = p;
  if (p.exact) {
    return heads.map(({ h, hd }) => {
      const a = exactMatrix(p, hd);
      if (wantMatrix) return Object.assign(a, { cols: L, colOffset: p.pad });
      const o = matmulNN(a, hd.V, L, L, d);
      addConv(p, o, hd.Vconv, h, p.convWeight);
      return Object.assign(o, { cols: d });
    });
  }
  const ks = heads.map(({ b, hd }) => kernels(p, hd, b));
  const zs = pinvAll(p, ks.map((x) => x.k2));
  return heads.map(({ h, hd }, idx) => {
    const { k1, k3 } = ks[idx];
    const k1z = matmulNN(k1, zs[idx], L, m, m);
    if (wantMatrix) return Object.assign(matmulNN(k1z, k3, L, m, L), { cols: L, colOffset: p.pad });
    const k3v = matmulNN(k3, hd.V, m, L, d);
    const o = matmulNN(k1z, k3v, L, m, d);
    addConv(p, o, hd.Vconv, h, p.convWeight);
    return Object.assign(o, { cols: d });
  });
}

/** Nyström attention output [B, H, n, d] in float64. */
export function nystromReference(q, k, v, options) {
  const p = Object.assign(plan(options, true), { convWeight: options.convWeight });
  return perHead(p, q, k, v, p.d, (heads) => nystromHeads(p, heads, false));
}

/** Exact softmax attention output [B, H, n, d] in float64. */
export function softmaxReference(q, k, v, options) {
  const p = Object.assign(plan(options, false), { convWeight: options.convWeight });
  return perHead(p, q, k, v, p.d, (heads) => nystromHeads(p, heads, false));
}

/** The n×n matrix Nyström implies (k1·pinv(k2)·k3, last n rows and columns), [B, H, n, n]. */
export function nystromMatrixReference(q, k, options) {
  const p = plan(options, true);
  return perHead(p, q, k, null, p.n, (heads) => nystromHeads(p, heads, true));
}

/** The exact softmax attention matrix [B, H, n, n]. */
export function softmaxMatrixReference(q, k, options) {
  const p = plan(options, false);
  return perHead(p, q, k, null, p.n, (heads) => nystromHeads(p, heads, true));
}

/**
 * Relative Frobenius error ‖got − want‖ / ‖want‖ over the rows whose mask entry is 1
 * (rows of `cols` floats; layout [B, H, n, cols]; mask [B, n] or absent).
 */
export function relFrobenius(got, want, shape, cols, mask) {
  const [B, H, n] = shape;
  let num = 0, den = 0;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < n; i++) {
        if (mask && !Number(mask[b * n + i])) continue;
        const base = ((b * H + h) * n + i) * cols;
        for (let c = 0; c < cols; c++) {
          const e = got[base + c] - want[base + c];
          num += e * e;
          den += want[base + c] * want[base + c];
        }
      }
    }
  }
  return Math.sqrt(num) / Math.sqrt(den);
}
