// Shared pieces of the host tests: the built library, the build that runs, tolerances, masks,
// and the comparison against the float64 reference that records the worst error per group.
import assert from 'node:assert/strict';
import * as lib from '../../dist/index.js';
import { relFrobenius, rowKeepFromMask, bitsEqual } from '../reference.js';

export { bitsEqual };

if (typeof lib.init === 'function') await lib.init();

export { lib };
/** The build every test reports: 'simd', or 'relaxed' under --experimental-wasm-relaxed-simd. */
export const BUILD = lib.activeBuild();
/** ALGORITHM.md §4: relative Frobenius error over unmasked rows. */
export const TOL = 1e-5;

/** Test-name prefix naming the build. */
export const tag = (name) => `[${BUILD}] ${name}`;

/** Worst relative error seen per group (style, 'softmax', 'matmul', …). */
export const worst = new Map();

export function record(group, err, name) {
  const w = worst.get(group);
  if (!w || err > w.err || Number.isNaN(err)) worst.set(group, { err, name });
}

export function worstTable() {
  return [...worst.entries()]
    .map(([g, { err, name }]) => `${g}: max rel err ${err.toExponential(2)} (${name})`)
    .join('\n');
}

/**
 * Compares a library result with the reference over unmasked rows. Returns the error, or a
 * failure text (so a grid can collect every failing case before asserting).
 */
export function compare(name, actual, expected, { mask, shape, group = 'misc', tol = TOL, emulate } = {}) {
  if (!(actual instanceof Float32Array)) return { err: NaN, fail: `${name}: result is not a Float32Array (${actual?.constructor?.name})` };
  if (actual.length !== expected.length) return { err: NaN, fail: `${name}: length ${actual.length}, expected ${expected.length}` };
  const keep = shape ? rowKeepFromMask(mask ?? null, shape) : undefined;
  const err = relFrobenius(actual, expected, keep);
  record(group, err, name);
  if (err <= tol) return { err };
  if (emulate && Number.isFinite(err)) {
    // Past the bar: is the case itself beyond float32? A plain float32 evaluation of the same
    // formulas (every operation rounded, sequential sums) is the yardstick; the library may be at
    // most EMULATION_FACTOR times worse than it, never worse than that.
    const e32 = relFrobenius(emulate(), expected, keep);
    if (err <= EMULATION_FACTOR * e32) {
      atFloat32Limit.push(`${name}: ${err.toExponential(2)} (plain float32 evaluation: ${e32.toExponential(2)})`);
      return { err };
    }
    return { err, fail: `${name}: rel Frobenius error ${err.toExponential(3)} > ${tol} and > ${EMULATION_FACTOR}× the plain float32 evaluation (${e32.toExponential(2)}) [${BUILD}]` };
  }
  return { err, fail: `${name}: rel Frobenius error ${err.toExponential(3)} > ${tol} [${BUILD}]` };
}

/**
 * Cases past TOL where a plain float32 evaluation of the formulas is itself past TOL (ill-conditioned
 * k2 with many pinv iterations): accepted up to EMULATION_FACTOR × that error and listed in the summary.
 */
export const EMULATION_FACTOR = 2;
export const atFloat32Limit = [];

/** Asserts a list of comparison outcomes, listing every failure, and reports the worst error. */
export function assertAll(t, outcomes) {
  const fails = outcomes.filter((o) => o.fail).map((o) => o.fail);
  const maxErr = outcomes.reduce((a, o) => (o.err > a || Number.isNaN(o.err) ? o.err : a), 0);
  t.diagnostic(`build=${BUILD} cases=${outcomes.length} maxRelErr=${Number(maxErr).toExponential(2)}`);
  assert.equal(fails.length, 0, `${fails.length} of ${outcomes.length} cases failed:\n${fails.join('\n')}`);
}

export function assertBitsEqual(a, b, what) {
  assert.equal(a.length, b.length, `${what}: lengths ${a.length} vs ${b.length}`);
  if (!bitsEqual(a, b)) {
    let i = 0;
    while (Object.is(a[i], b[i])) i++;
    assert.fail(`${what}: differ first at [${i}]: ${a[i]} vs ${b[i]} [${BUILD}]`);
  }
}

// Masks [B, n] ('none', 'trailing', 'inner'): one implementation, in tests/cases.js.
export { makeMask } from '../cases.js';

/** A·(V·mask) for A [B,H,n,n] and V [B,H,n,d]: the output the matrix implies. */
export function applyMatrix(A, v, mask, shape) {
  const [B, H, n, d] = shape;
  const out = new Float64Array(B * H * n * d);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const a = A[(bh * n + i) * n + j] * (mask ? mask[b * n + j] : 1);
          for (let c = 0; c < d; c++) out[(bh * n + i) * d + c] += a * v[(bh * n + j) * d + c];
        }
      }
    }
  }
  return out;
}

/** Runs fn with a fresh pool of lib.createPool(options), closed afterwards whatever happens. */
export async function withPool(options, fn) {
  const pool = await lib.createPool(options);
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}
