// Rows of an attention matrix from its Nyström factors, without forming the n×n matrix:
// row i of head (b, h) is kernel1[pad + i] · Z · kernel3[:, pad + from .. pad + to), O(m² + m·(to − from)).
import { describe, guarded, rangeError, typeError } from './errors.js';
import { isFloat32Array, readOptions } from './validate.js';
import type { NystromFactors } from './types.js';

function checkIndex(x: unknown, name: string, lo: number, hi: number): number {
  if (typeof x !== 'number') throw typeError('ERR_OPTION', `${name} must be an integer in [${lo}, ${hi}], got ${describe(x)}`);
  if (!Number.isInteger(x) || x < lo || x > hi) throw rangeError('ERR_OPTION', `${name} must be an integer in [${lo}, ${hi}], got ${x}`);
  return x;
}

/** A snapshot of the factors' fields, each read once and checked against the others. */
function checkFactors(f: unknown): NystromFactors {
  if (typeof f !== 'object' || f === null) throw typeError('ERR_TENSOR', `factors must be what nystromAttentionFactors returns, got ${describe(f)}`);
  const x = f as NystromFactors;
  const kernel1 = x.kernel1, pinv = x.pinv, kernel3 = x.kernel3, shape = x.shape;
  const rows = x.rows, pad = x.pad, m = x.landmarks;
  if (!isFloat32Array(kernel1) || !isFloat32Array(pinv) || !isFloat32Array(kernel3) || !Array.isArray(shape) || shape.length !== 4) {
    throw typeError('ERR_TENSOR', `factors must be what nystromAttentionFactors returns (kernel1, pinv, kernel3 Float32Arrays and a 4-entry shape), got ${describe(f)}`);
  }
  const [B, H, n] = [shape[0], shape[1], shape[2]];
  const ints = { 'shape[0]': B, 'shape[1]': H, 'shape[2]': n, rows, pad, landmarks: m };
  for (const [k, v] of Object.entries(ints)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < (k === 'pad' ? 0 : 1)) throw rangeError('ERR_TENSOR', `factors.${k} must be an integer ≥ ${k === 'pad' ? 0 : 1}, got ${describe(v)}`);
  }
  if (rows !== n + pad) throw rangeError('ERR_TENSOR', `factors: rows (${rows}) must be seqLen (${n}) + pad (${pad})`);
  if (kernel1.length !== B * H * rows * m || pinv.length !== B * H * m * m || kernel3.length !== B * H * m * rows) {
    throw rangeError('ERR_TENSOR', `factors: kernel1, pinv and kernel3 must hold [B, H, ${rows}, ${m}], [B, H, ${m}, ${m}] and [B, H, ${m}, ${rows}] floats (B = ${B}, H = ${H})`);
  }
  return { kernel1, pinv, kernel3, rows, pad, landmarks: m, exact: x.exact, shape: [B, H, n, shape[3]] };
}

/**
 * Row `row` (a token index, 0 ≤ row < n) of the attention matrix of (batch, head), columns
 * [from, to) of the n real keys, computed from the factors in float64 and returned as float32.
 */
export const nystromAttentionRow: (factors: NystromFactors, batch: number, head: number, row: number,
                                   options?: { from?: number; to?: number; out?: Float32Array }) => Float32Array = guarded(attentionRow, 'nystromAttentionRow');

function attentionRow(factors: NystromFactors, batch: number, head: number, row: number,
                      options?: { from?: number; to?: number; out?: Float32Array }): Float32Array {
  const f = checkFactors(factors);
  const [B, H, n] = f.shape;
  const { rows: np, pad, landmarks: m } = f;
  checkIndex(batch, 'batch', 0, B - 1);
  checkIndex(head, 'head', 0, H - 1);
  checkIndex(row, 'row', 0, n - 1);
  const o = readOptions<{ from: number; to: number; out: Float32Array }>(options, ['from', 'to', 'out'], 'nystromAttentionRow options', false);
  const from = o.from === undefined ? 0 : checkIndex(o.from, 'options.from', 0, n);
  const to = o.to === undefined ? n : checkIndex(o.to, 'options.to', from, n);
  const out = o.out ?? new Float32Array(to - from);
  if (!isFloat32Array(out)) throw typeError('ERR_TENSOR', `options.out must be a Float32Array, got ${describe(out)}`);
  if (out.length !== to - from) throw rangeError('ERR_TENSOR', `options.out has ${out.length} elements; columns [${from}, ${to}) need ${to - from}`);
  const i = batch * H + head;
  // u = kernel1[pad + row] · Z
  const k1 = (i * np + pad + row) * m;
  const z = i * m * m;
  const u = new Float64Array(m);
  for (let l = 0; l < m; l++) {
    const a = f.kernel1[k1 + l];
    if (a === 0) continue;
    for (let j = 0; j < m; j++) u[j] += a * f.pinv[z + l * m + j];
  }
  // out[j − from] = u · kernel3[:, pad + j]
  const acc = new Float64Array(to - from);
  for (let l = 0; l < m; l++) {
    const ul = u[l];
    const base = (i * m + l) * np + pad;
    for (let j = from; j < to; j++) acc[j - from] += ul * f.kernel3[base + j];
  }
  out.set(acc);
  return out;
}
