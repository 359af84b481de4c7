// The named test cases of every suite, in one place: the host conformance grids
// (tests/host/conformance.test.js), the layout and factor suites (tests/host/layout.test.js,
// tests/host/factors.test.js), the runtime conformance cases (tests/runtimes/conformance-cases.js,
// run in Node, Deno, Bun, Chromium, a Web Worker and the installed tarball) and the attention shapes
// of the benchmark (bench/run.mjs).
//
// A case is plain data:
//   { name, suites: ['host' | 'layout' | 'factors' | 'runtime' | 'bench', …], group?,
//     kind: 'nystrom' | 'softmax' | 'nystrom-matrix' | 'softmax-matrix' | 'factors' | 'plan' | 'matmul',
//     shape: [B, H, n, d] (matmul: dims [m, k, n]), options: { style, landmarks, … } (no arrays),
//     mask: 'none' | 'trailing' | 'inner' | { drops: [...], type? }, maskSeg?, conv?: { ks, std, seed },
//     seed, expect?: 'RangeError', … }
// `group` is the title of the host test that runs the case (cases of one group run in one test).
// materialize(c) turns a case into arrays: q, k, v (makeQKV(shape, seed)), mask, convWeight and the
// options object to pass. select(suite, filter?) picks cases by suite tag; groups(cases) groups them.
//
// Plain ESM, runtime-neutral: the only import is the (itself import-free) reference, so a browser
// page, a Web Worker, Deno and Bun load this file as it is. No node: modules, no globals.

import { makeQKV, randn, STYLES, PINV_INITS, REMAINDERS } from './reference.js';

export { STYLES, PINV_INITS, REMAINDERS };
export const MASK_KINDS = ['none', 'trailing', 'inner'];
export const LAYOUTS = ['bhnd', 'bnhd'];

// ---------------------------------------------------------------------------------------------
// Masks and conv weights

/**
 * Masks [B, n] of a few kinds: 'none' (undefined), 'trailing' (batch b loses its last 3 + 4b tokens;
 * batch 0 keeps at least one), 'inner' (zeros inside the sequence, including a run long enough to
 * cover a whole landmark segment of length `seg`, so lucidrains sees an empty landmark).
 */
export function makeMask(kind, B, n, seg = 1) {
  if (kind === 'none' || kind === undefined) return undefined;
  const mask = new Float32Array(B * n).fill(1);
  for (let b = 0; b < B; b++) {
    const row = mask.subarray(b * n, (b + 1) * n);
    if (kind === 'trailing') {
      const cut = Math.min(n - 1, 3 + 4 * b);
      row.fill(0, n - cut);
    } else if (kind === 'inner') {
      if (n >= 3) row[1] = 0;
      const run = 2 * seg + 1;
      const start = Math.floor(n / 3) + b;
      if (start + run < n - 1) row.fill(0, start, start + run);
      if (n >= 4) row[n - 2] = 0;
    } else {
      throw new Error(`makeMask: unknown kind ${kind}`);
    }
  }
  return mask;
}

const MASK_TYPES = { Float32Array, Float64Array, Uint8Array, Int32Array };

/** [B, n] mask: row b keeps its first n − drops[b % drops.length] tokens (trailing padding). */
export function trailingMask(B, n, drops, Type = Float32Array) {
  const mask = new Type(B * n);
  for (let b = 0; b < B; b++) for (let i = 0; i < n - drops[b % drops.length]; i++) mask[b * n + i] = 1;
  return mask;
}

/** The landmark segment length an 'inner' mask is sized for: ⌈n / m⌉ (m = landmarks, default 64). */
function defaultSeg(c) {
  const n = c.shape[2];
  const m = c.options?.landmarks ?? 64;
  return Math.max(1, Math.ceil(n / m));
}

/** The mask of a case (undefined for none). */
export function maskOf(c) {
  const spec = c.mask ?? 'none';
  const [B, , n] = c.shape;
  if (typeof spec === 'string') return makeMask(spec, B, n, c.maskSeg ?? defaultSeg(c));
  return trailingMask(B, n, spec.drops, MASK_TYPES[spec.type ?? 'Float32Array']);
}

/** The mask kind of a case as a short label. */
export function maskLabel(c) {
  const spec = c.mask ?? 'none';
  return typeof spec === 'string' ? spec : `drops=${spec.drops}`;
}

/** The convWeight of a case ([heads, ks] taps ~ N(0, std²) from seed), or undefined. */
export function convOf(c) {
  if (!c.conv) return undefined;
  return randn(c.shape[1] * c.conv.ks, c.conv.std, c.conv.seed);
}

/**
 * Arrays of a case: q, k, v ~ makeQKV(shape, seed), mask, convWeight, and `options` = the case's
 * options with shape, mask and convWeight (those two only when present).
 */
export function materialize(c) {
  const { q, k, v } = makeQKV(c.shape, c.seed);
  const mask = maskOf(c);
  const convWeight = convOf(c);
  const options = { ...c.options, shape: c.shape };
  if (mask !== undefined) options.mask = mask;
  if (convWeight !== undefined) options.convWeight = convWeight;
  return { q, k, v, mask, convWeight, options };
}

/** The RangeError ALGORITHM.md §3 requires for (remainder, n, m), or undefined. */
export function expectedError(remainder, n, m) {
  if (remainder === 'error' && n % m !== 0) return 'RangeError';
  if (remainder === 'uneven' && m > n) return 'RangeError';
  return undefined;
}

/** Leading padding rows and run length of Nyström (ALGORITHM.md §3) for (n, m, remainder). */
export function runLength(n, m, remainder = 'pad') {
  const pad = remainder === 'pad' ? (m - (n % m)) % m : 0;
  return { pad, rows: n + pad };
}

/** Whether a Nyström call takes the exact path (authors/hf with m equal to the run length). */
export function isExactPath(c) {
  const style = c.options?.style ?? 'authors';
  const m = c.options?.landmarks ?? 64;
  return style !== 'lucidrains' && m === runLength(c.shape[2], m, c.options?.remainder).rows;
}

/** The host conformance name of a Nyström case: style, shape, m, init, remainder, iterations, conv, mask. */
function nyName(o, shape, conv, maskKind) {
  const parts = [o.style, `[${shape}]`, `m=${o.landmarks ?? 64}`];
  if (o.pinvInit) parts.push(o.pinvInit);
  if (o.remainder) parts.push(o.remainder);
  if (o.pinvIterations !== undefined) parts.push(`it=${o.pinvIterations}`);
  if (conv) parts.push(`conv=${conv.ks}`);
  parts.push(`mask=${maskKind}`);
  return parts.join(' ');
}

/** A host Nyström case (the conformance grids): mask sized to ⌈n/m⌉, expect from the remainder rule. */
function ny(group, style, shape, opts, maskKind, seed, conv) {
  const options = { style, ...opts };
  const m = opts.landmarks ?? 64;
  const c = { name: nyName(options, shape, conv, maskKind), suites: ['host'], group, kind: 'nystrom', shape, options, mask: maskKind, seed };
  if (conv) c.conv = conv;
  const e = expectedError(opts.remainder ?? 'pad', shape[2], m);
  if (e) c.expect = e;
  return c;
}

// ---------------------------------------------------------------------------------------------
// Host conformance (tests/host/conformance.test.js). Seeds, shapes and order are those the README's
// accuracy table was measured on: do not renumber.

/** [shape, m] of the main grid: n % m ≠ 0 (pad 6, uneven 6×6 + 2×7, error throws), m | n, m > n. */
export const GRID_SHAPES = [
  { shape: [2, 3, 50, 7], m: 8 },
  { shape: [1, 2, 64, 5], m: 16 },
  { shape: [2, 1, 20, 4], m: 32 },
];

function* hostCases() {
  // The main grid: one test per style × pinvInit, each remainder × shape × mask (seeds from 100 in every test).
  for (const style of STYLES) {
    for (const pinvInit of PINV_INITS) {
      const group = `nystrom grid: ${style} ${pinvInit} × remainder × shape × mask`;
      let seed = 100;
      for (const remainder of REMAINDERS) {
        for (const { shape, m } of GRID_SHAPES) {
          for (const maskKind of MASK_KINDS) yield ny(group, style, shape, { landmarks: m, pinvInit, remainder }, maskKind, seed++);
        }
      }
    }
  }
  {
    const group = 'nystrom: pinvIterations 0 / 1 / 6 / 12 per style and init';
    let seed = 300;
    for (const style of STYLES) {
      for (const pinvInit of ['original', 'exact', 'abs_rowcol']) {
        for (const it of [0, 1, 6, 12]) {
          for (const maskKind of ['none', 'inner']) {
            yield ny(group, style, [2, 2, 96, 8], { landmarks: 12, pinvInit, pinvIterations: it }, maskKind, seed++);
          }
        }
      }
    }
  }
  {
    const group = 'nystrom: conv residual k = 1, 3, 5 per style, masks, pad and divisible';
    let seed = 400;
    for (const style of STYLES) {
      for (const ks of [1, 3, 5]) {
        const conv = { ks, std: 0.5, seed };
        for (const m of [9, 10]) {
          for (const maskKind of MASK_KINDS) yield ny(group, style, [2, 3, 45, 6], { landmarks: m }, maskKind, seed++, conv);
        }
        // conv on the exact path (m = n) too
        yield ny(group, style, [1, 3, 12, 5], { landmarks: 12 }, 'trailing', seed++, conv);
      }
    }
  }
  {
    const group = 'nystrom: headDim sweep 1, 2, 3, 5, 7, 8, 16, 33, 64';
    let seed = 500;
    for (const d of [1, 2, 3, 5, 7, 8, 16, 33, 64]) {
      for (const style of STYLES) {
        yield ny(group, style, [1, 2, 40, d], { landmarks: 8 }, 'inner', seed++);
        yield ny(group, style, [2, 1, 21, d], { landmarks: 4 }, 'none', seed++);
      }
    }
  }
  {
    const group = 'nystrom: landmark edge cases m = 1, m = n, m > n, n = 1, n % m ≠ 0';
    let seed = 600;
    for (const style of STYLES) {
      for (const maskKind of MASK_KINDS) {
        yield ny(group, style, [2, 2, 17, 5], { landmarks: 1 }, maskKind, seed++);
        yield ny(group, style, [2, 2, 24, 5], { landmarks: 24 }, maskKind, seed++);
        yield ny(group, style, [2, 2, 24, 5], { landmarks: 24, remainder: 'uneven' }, maskKind, seed++);
        yield ny(group, style, [2, 2, 24, 5], { landmarks: 24, remainder: 'error' }, maskKind, seed++);
        yield ny(group, style, [2, 2, 10, 3], {}, maskKind, seed++); // default m = 64 > n
        yield ny(group, style, [1, 2, 25, 5], { landmarks: 25, remainder: 'uneven' }, maskKind, seed++);
        yield ny(group, style, [1, 2, 26, 5], { landmarks: 25, remainder: 'uneven' }, maskKind, seed++);
        yield ny(group, style, [1, 2, 99, 5], { landmarks: 7, remainder: 'uneven' }, maskKind, seed++);
        yield ny(group, style, [1, 2, 99, 5], { landmarks: 10 }, maskKind, seed++);
      }
      yield ny(group, style, [1, 1, 1, 4], { landmarks: 1 }, 'none', seed++);
      yield ny(group, style, [2, 1, 1, 4], {}, 'none', seed++);
      yield ny(group, style, [3, 1, 2, 1], { landmarks: 1 }, 'none', seed++);
    }
  }
  {
    const group = 'nystrom: n = 300 with pad and uneven, heads > 1, batch > 1';
    let seed = 700;
    for (const style of STYLES) {
      for (const remainder of ['pad', 'uneven']) yield ny(group, style, [2, 2, 300, 32], { landmarks: 64, remainder }, 'trailing', seed++);
    }
  }
  {
    const group = 'nystrom: n = 1024, d = 64 (default options) and n = 1000 masked per style';
    yield ny(group, 'authors', [1, 2, 1024, 64], {}, 'none', 801);
    yield ny(group, 'lucidrains', [1, 1, 1000, 32], { landmarks: 64 }, 'trailing', 802);
    yield ny(group, 'hf', [1, 1, 1000, 32], { landmarks: 64, remainder: 'uneven' }, 'inner', 803);
  }
  {
    const group = 'softmaxAttention per style × mask × conv';
    let seed = 1000;
    for (const style of STYLES) {
      for (const shape of [[2, 2, 37, 5], [1, 3, 128, 16], [3, 1, 1, 7], [1, 2, 9, 64]]) {
        for (const maskKind of MASK_KINDS) {
          for (const ks of [0, 1, 3, 5]) {
            if (shape[2] === 1 && maskKind !== 'none') continue;
            const c = { name: `${style} [${shape}] mask=${maskKind} conv=${ks}`, suites: ['host'], group, kind: 'softmax', shape, options: { style }, mask: maskKind, maskSeg: 2, seed };
            if (ks) c.conv = { ks, std: 0.5, seed: seed + 7 };
            seed++;
            yield c;
          }
        }
      }
    }
  }
  {
    const group = 'softmaxAttention n = 1024 per style';
    for (const style of STYLES) {
      yield { name: `${style} n=1024`, suites: ['host'], group, kind: 'softmax', shape: [1, 1, 1024, 32], options: { style }, mask: 'trailing', maskSeg: 1, seed: 1100 };
    }
  }
  {
    // matmul / matmulTransposed on awkward sizes; a from seed, b from seed + 1.
    const group = 'matmul and matmulTransposed vs a float64 triple loop on awkward sizes';
    const sizes = [
      [1, 1, 1], [1, 7, 1], [3, 5, 7], [4, 4, 4], [5, 8, 9], [7, 3, 13], [8, 8, 8], [17, 33, 65],
      [63, 64, 65], [64, 64, 64], [65, 63, 1], [100, 3, 1], [1, 300, 1], [128, 257, 31], [2, 1, 300],
    ];
    let seed = 1200;
    for (const dims of sizes) {
      yield { name: `${dims.join('x')}`, suites: ['host'], group, kind: 'matmul', shape: dims, options: {}, seed };
      seed += 2;
    }
  }
  {
    // Plans (createAttention) against the one-shot calls; mask 'inner' (seg 3), conv k = 3 from seed + 50.
    const group = 'plan.run equals the one-shot call; run(out) returns out; runInPlace equals run';
    const plans = [
      { planKind: 'nystrom', shape: [2, 3, 50, 7], options: { landmarks: 8, style: 'authors' } },
      { planKind: 'nystrom', shape: [1, 2, 64, 5], options: { landmarks: 16, style: 'lucidrains', pinvInit: 'paper', remainder: 'uneven' } },
      { planKind: 'nystrom', shape: [2, 2, 45, 6], options: { landmarks: 10, style: 'hf', pinvIterations: 12, remainder: 'pad' } },
      { planKind: 'softmax', shape: [2, 2, 37, 5], options: { style: 'lucidrains' } },
      { planKind: 'softmax', shape: [1, 1, 20, 3], options: { style: 'hf' } },
    ];
    let seed = 1600;
    for (const p of plans) {
      yield { name: `plan ${p.planKind} ${p.options.style} [${p.shape}]`, suites: ['host'], group, kind: 'plan', ...p, mask: 'inner', maskSeg: 3, conv: { ks: 3, std: 0.5, seed: seed + 50 }, seed };
      seed++;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Layouts (tests/host/layout.test.js): 'bnhd' must be bit-identical to 'bhnd' on transposed data.
// B and H > 1 everywhere; d not a multiple of 4 (5, 7) and d = 64; n % m ≠ 0, m | n, m > n.

/** Shapes of the layout grid: pad 6 / uneven / error throws; m | n; m > n (exact path with pad); d = 64. */
export const LAYOUT_SHAPES = [
  { shape: [2, 3, 50, 7], m: 8 },
  { shape: [3, 2, 64, 5], m: 16 },
  { shape: [2, 2, 20, 5], m: 32 },
  { shape: [2, 2, 40, 64], m: 12 },
];

function* layoutCases() {
  let seed = 5000;
  for (const style of STYLES) {
    for (const pinvInit of PINV_INITS) {
      const group = `layout: nystromAttention ${style} ${pinvInit} × remainder × shape × mask × conv`;
      for (const remainder of REMAINDERS) {
        for (const { shape, m } of LAYOUT_SHAPES) {
          for (const maskKind of MASK_KINDS) {
            for (const ks of [0, 3]) {
              const conv = ks ? { ks, std: 0.5, seed: seed + 3 } : undefined;
              const c = ny(group, style, shape, { landmarks: m, pinvInit, remainder }, maskKind, seed++, conv);
              c.suites = ['layout'];
              yield c;
            }
          }
        }
      }
    }
  }
  // pinvIterations other than the default, and m = 1.
  {
    const group = 'layout: nystromAttention pinvIterations 0 / 12 and m = 1';
    for (const style of STYLES) {
      for (const it of [0, 12]) {
        const c = ny(group, style, [2, 2, 33, 6], { landmarks: 5, pinvIterations: it }, 'inner', seed++);
        c.suites = ['layout'];
        yield c;
      }
      const c = ny(group, style, [2, 3, 17, 5], { landmarks: 1 }, 'trailing', seed++);
      c.suites = ['layout'];
      yield c;
    }
  }
  {
    const group = 'layout: softmaxAttention per style × shape × mask × conv';
    for (const style of STYLES) {
      for (const shape of [[2, 3, 37, 5], [3, 2, 16, 7], [2, 2, 9, 64], [2, 3, 1, 5]]) {
        for (const maskKind of MASK_KINDS) {
          if (shape[2] === 1 && maskKind !== 'none') continue;
          for (const ks of [0, 3]) {
            const c = { name: `${style} [${shape}] mask=${maskKind} conv=${ks}`, suites: ['layout'], group, kind: 'softmax', shape, options: { style }, mask: maskKind, maskSeg: 2, seed };
            if (ks) c.conv = { ks, std: 0.5, seed: seed + 3 };
            seed++;
            yield c;
          }
        }
      }
    }
  }
  {
    // Matrix outputs are [B, H, n, n] in both layouts; only the inputs are transposed.
    const group = 'layout: nystromAttentionMatrix and softmaxAttentionMatrix per style × shape × mask';
    for (const style of STYLES) {
      for (const { shape, m, remainder } of [
        { shape: [2, 3, 45, 7], m: 8, remainder: 'pad' },
        { shape: [2, 2, 45, 5], m: 8, remainder: 'uneven' },
        { shape: [3, 2, 20, 5], m: 32, remainder: 'pad' },
        { shape: [2, 2, 24, 64], m: 6, remainder: 'error' },
      ]) {
        for (const maskKind of MASK_KINDS) {
          const options = { style, landmarks: m, remainder };
          yield { name: `nystrom matrix ${style} [${shape}] m=${m} ${remainder} mask=${maskKind}`, suites: ['layout'], group, kind: 'nystrom-matrix', shape, options, mask: maskKind, seed };
          yield { name: `softmax matrix ${style} [${shape}] mask=${maskKind}`, suites: ['layout'], group, kind: 'softmax-matrix', shape, options: { style }, mask: maskKind, maskSeg: 2, seed };
          seed++;
        }
      }
    }
  }
  {
    const group = 'layout: createAttention plans (run, run(out), runInPlace, setMask) in bnhd';
    const plans = [
      { planKind: 'nystrom', shape: [2, 3, 50, 7], options: { landmarks: 8, style: 'authors' }, mask: 'inner' },
      { planKind: 'nystrom', shape: [3, 2, 64, 5], options: { landmarks: 16, style: 'lucidrains', pinvInit: 'paper', remainder: 'uneven' }, mask: 'trailing' },
      { planKind: 'nystrom', shape: [2, 2, 45, 6], options: { landmarks: 10, style: 'hf', pinvIterations: 12 }, mask: 'inner' },
      { planKind: 'nystrom', shape: [2, 2, 20, 64], options: { landmarks: 32, style: 'authors' }, mask: 'trailing' },
      { planKind: 'softmax', shape: [2, 2, 37, 5], options: { style: 'lucidrains' }, mask: 'inner' },
      { planKind: 'softmax', shape: [2, 3, 20, 7], options: { style: 'hf' }, mask: 'trailing' },
    ];
    for (const p of plans) {
      yield { name: `plan ${p.planKind} ${p.options.style} [${p.shape}]`, suites: ['layout'], group, kind: 'plan', ...p, conv: { ks: 3, std: 0.5, seed: seed + 50 }, seed };
      seed++;
    }
  }
  {
    const group = 'layout: nystromAttentionFactors per style × remainder × mask';
    for (const style of STYLES) {
      for (const { shape, m, remainder } of [
        { shape: [2, 3, 50, 7], m: 8, remainder: 'pad' },
        { shape: [2, 2, 50, 5], m: 8, remainder: 'uneven' },
        { shape: [2, 2, 20, 5], m: 32, remainder: 'pad' },
        { shape: [2, 2, 40, 64], m: 10, remainder: 'error' },
      ]) {
        for (const maskKind of MASK_KINDS) {
          yield { name: `factors ${style} [${shape}] m=${m} ${remainder} mask=${maskKind}`, suites: ['layout'], group, kind: 'factors', shape, options: { style, landmarks: m, remainder }, mask: maskKind, seed: seed++ };
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Factors (tests/host/factors.test.js): kernel1 · pinv · kernel3 equals nystromAttentionMatrix.

/** [shape, m, remainder] of the factor grid: pad, uneven, error where m | n, the exact path (m ≥ n, m = n), m = 1. */
export const FACTOR_SHAPES = [
  { shape: [2, 3, 45, 7], m: 8, remainder: 'pad' },
  { shape: [2, 2, 45, 5], m: 8, remainder: 'uneven' },
  { shape: [2, 2, 48, 5], m: 8, remainder: 'error' },
  { shape: [2, 2, 20, 6], m: 32, remainder: 'pad' },
  { shape: [1, 2, 24, 5], m: 24, remainder: 'uneven' },
  { shape: [2, 1, 17, 4], m: 1, remainder: 'pad' },
];

function* factorCases() {
  let seed = 7000;
  for (const style of STYLES) {
    for (const pinvInit of PINV_INITS) {
      const group = `factors: ${style} ${pinvInit} × shape × remainder × mask`;
      for (const { shape, m, remainder } of FACTOR_SHAPES) {
        for (const maskKind of MASK_KINDS) {
          const c = ny(group, style, shape, { landmarks: m, pinvInit, remainder }, maskKind, seed++);
          c.suites = ['factors'];
          c.kind = 'factors';
          yield c;
        }
      }
    }
  }
  {
    const group = 'factors: pinvIterations 0 / 1 / 12, d = 64, n = 300, default landmarks';
    for (const style of STYLES) {
      for (const it of [0, 1, 12]) {
        const c = ny(group, style, [2, 2, 96, 8], { landmarks: 12, pinvIterations: it }, 'inner', seed++);
        yield { ...c, suites: ['factors'], kind: 'factors' };
      }
      for (const [shape, opts, maskKind] of [
        [[1, 2, 40, 64], { landmarks: 8 }, 'trailing'],
        [[1, 1, 300, 16], { landmarks: 64, remainder: 'uneven' }, 'inner'],
        [[2, 1, 10, 3], {}, 'trailing'], // default m = 64 > n: padded to 64 → exact path for authors/hf
      ]) {
        const c = ny(group, style, shape, opts, maskKind, seed++);
        yield { ...c, suites: ['factors'], kind: 'factors' };
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Runtime conformance (tests/runtimes/conformance-cases.js): the same small set in every runtime.
// Seeds 1000 + index; masks with explicit trailing drops; conv taps ~ N(0, 0.09).

const RUNTIME_CASES = [
  { name: 'authors basic', kind: 'nystrom', shape: [1, 1, 64, 16], options: { landmarks: 8 } },
  { name: 'authors mask+conv B2 H2', kind: 'nystrom', shape: [2, 2, 48, 16], options: { landmarks: 8 }, mask: { drops: [0, 10] }, conv: { ks: 5, std: 0.3, seed: 11 } },
  { name: 'authors pad n50 m8', kind: 'nystrom', shape: [1, 2, 50, 16], options: { landmarks: 8 } },
  { name: 'authors uneven n50 m8 mask', kind: 'nystrom', shape: [2, 1, 50, 12], options: { landmarks: 8, remainder: 'uneven' }, mask: { drops: [3, 0] } },
  { name: 'authors m==n exact path', kind: 'nystrom', shape: [1, 2, 16, 8], options: { landmarks: 16 }, mask: { drops: [4] } },
  { name: 'authors pad n<m exact path', kind: 'nystrom', shape: [1, 1, 12, 8], options: { landmarks: 16 } },
  { name: 'authors pinvInit exact iters10 B2', kind: 'nystrom', shape: [2, 2, 32, 16], options: { landmarks: 8, pinvInit: 'exact', pinvIterations: 10 } },
  { name: 'hf mask B2 H2', kind: 'nystrom', shape: [2, 2, 64, 16], options: { style: 'hf', landmarks: 8 }, mask: { drops: [5, 0], type: 'Uint8Array' } },
  { name: 'hf pad+conv n70 m16', kind: 'nystrom', shape: [1, 2, 70, 20], options: { style: 'hf', landmarks: 16 }, conv: { ks: 3, std: 0.3, seed: 12 } },
  { name: 'hf uneven pinvInit paper', kind: 'nystrom', shape: [1, 1, 45, 16], options: { style: 'hf', landmarks: 8, remainder: 'uneven', pinvInit: 'paper' } },
  { name: 'lucidrains basic', kind: 'nystrom', shape: [1, 1, 64, 16], options: { style: 'lucidrains', landmarks: 8 } },
  { name: 'lucidrains mask+pad+conv, empty landmarks', kind: 'nystrom', shape: [2, 3, 45, 16], options: { style: 'lucidrains', landmarks: 8 }, mask: { drops: [0, 13] }, conv: { ks: 5, std: 0.3, seed: 13 } },
  { name: 'lucidrains pad without mask', kind: 'nystrom', shape: [1, 2, 40, 8], options: { style: 'lucidrains', landmarks: 16 } },
  { name: 'hf tails n201 d36 m16', kind: 'nystrom', shape: [1, 2, 201, 36], options: { style: 'hf', landmarks: 16 } },
  { name: 'softmax authors mask+conv', kind: 'softmax', shape: [2, 1, 33, 12], options: {}, mask: { drops: [0, 7] }, conv: { ks: 3, std: 0.3, seed: 14 } },
  { name: 'softmax hf mask H2', kind: 'softmax', shape: [1, 2, 40, 16], options: { style: 'hf' }, mask: { drops: [6] } },
  { name: 'softmax lucidrains mask', kind: 'softmax', shape: [2, 1, 24, 8], options: { style: 'lucidrains' }, mask: { drops: [2, 0] } },
].map((c, i) => ({ suites: ['runtime'], seed: 1000 + i, ...c }));

const RUNTIME_EXTRA = [
  { name: 'softmaxAttentionMatrix authors mask', kind: 'softmax-matrix', shape: [2, 1, 24, 8], options: {}, mask: { drops: [0, 5] }, seed: 31 },
  { name: 'nystromAttentionMatrix lucidrains', kind: 'nystrom-matrix', shape: [1, 2, 32, 8], options: { landmarks: 8, style: 'lucidrains' }, seed: 32 },
  // The [B, n, H, d] layout and the factors (checked against the reference through the bhnd transpose).
  { name: 'authors bnhd mask+conv B2 H3 d7', kind: 'nystrom', shape: [2, 3, 45, 7], options: { landmarks: 8, layout: 'bnhd' }, mask: { drops: [0, 9] }, conv: { ks: 3, std: 0.3, seed: 15 }, seed: 33 },
  { name: 'softmax hf bnhd mask H2', kind: 'softmax', shape: [2, 2, 30, 5], options: { style: 'hf', layout: 'bnhd' }, mask: { drops: [4, 0] }, seed: 34 },
  { name: 'nystromAttentionFactors lucidrains bnhd, product = matrix', kind: 'factors', shape: [2, 2, 45, 6], options: { landmarks: 8, style: 'lucidrains', layout: 'bnhd' }, mask: { drops: [0, 7] }, seed: 35 },
].map((c) => ({ suites: ['runtime'], ...c }));

// ---------------------------------------------------------------------------------------------
// Benchmark attention shapes (bench/run.mjs). `bench` names the section; `quick` whether --quick keeps it.

const BENCH_CASES = [
  { name: 'bench attention n=1024', bench: 'attention', quick: false, shape: [1, 1, 1024, 64] },
  { name: 'bench attention n=4096', bench: 'attention', quick: true, shape: [1, 1, 4096, 64] },
  ...[4096, 16384].map((n) => ({ name: `bench nystrom-peer n=${n}`, bench: 'nystrom-peer', quick: true, shape: [1, 1, n, 64] })),
  ...[4096, 8192, 16384, 32768, 65536].map((n) => ({ name: `bench scaling n=${n}`, bench: 'scaling', quick: true, shape: [1, 1, n, 64] })),
  ...[1024, 4096, 8192, 16384, 32768, 65536].map((n) => ({ name: `bench memory n=${n}`, bench: 'memory', quick: true, shape: [1, 1, n, 64] })),
  ...[4096, 16384].map((n) => ({ name: `bench copies n=${n}`, bench: 'copies', quick: n === 4096, shape: [1, 1, n, 64] })),
].map((c) => ({ suites: ['bench'], kind: 'nystrom', options: { landmarks: 64, pinvIterations: 6 }, seed: 0, ...c }));

// ---------------------------------------------------------------------------------------------
// The catalogue and its selectors

export const CASES = Object.freeze([...hostCases(), ...layoutCases(), ...factorCases(), ...RUNTIME_CASES, ...RUNTIME_EXTRA, ...BENCH_CASES]);

{
  const seen = new Set();
  for (const c of CASES) {
    const key = `${c.suites.join(',')}|${c.group ?? ''}|${c.name}`;
    if (seen.has(key)) throw new Error(`tests/cases.js: duplicate case ${key}`);
    seen.add(key);
  }
}

/** The cases tagged with `suite` (and passing `filter`, a predicate or a partial case to match), in catalogue order. */
export function select(suite, filter) {
  const match = typeof filter === 'function'
    ? filter
    : filter
      ? (c) => Object.entries(filter).every(([key, val]) => c[key] === val)
      : () => true;
  return CASES.filter((c) => c.suites.includes(suite) && match(c));
}

/** Cases grouped by `group` (a Map title → cases, in first-seen order). */
export function groups(cases) {
  const out = new Map();
  for (const c of cases) {
    const g = c.group ?? c.name;
    if (!out.has(g)) out.set(g, []);
    out.get(g).push(c);
  }
  return out;
}

/** The one case of `suite` named `name` (throws if absent). */
export function byName(suite, name) {
  const c = CASES.find((x) => x.suites.includes(suite) && x.name === name);
  if (!c) throw new Error(`tests/cases.js: no ${suite} case named ${name}`);
  return c;
}
