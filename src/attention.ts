// Attention on an engine: the memory of one call (tensors, then the context record with the
// shared workspace and one thread's scratch, src/plan.ts), the kernel call, and the three outputs
// over the same core — attention (P·V), attention matrices, Nyström factors — plus reusable plans.
import { CTX, CTX_BYTES } from './abi.generated.js';
import { Engine } from './engine.js';
import { disposedError, guardMethods, rangeError } from './errors.js';
import {
  memoryError, memoryLimit, planCall, regionAddress, scratchBytes, sharedBytes, writeContext, type CallPlan, type Kind, type Mode,
} from './plan.js';
import { checkFloat32, checkLength, checkMask, type Checked } from './validate.js';
import type { AttentionPlan, NystromFactors } from './types.js';

/** Addresses of one call's regions in an engine's memory. */
export interface CallMemory {
  q: number; k: number; v: number; out: number; mask: number; conv: number; ctx: number;
  end: number;
  plan: CallPlan;
}

/** Floats of the output of a mode: [B,H,n,d] (attention), [B,H,n,n] (matrix), none (factors: regions). */
function outFloats(c: Checked, mode: Mode): number {
  return mode === 'attention' ? c.B * c.H * c.n * c.d : mode === 'matrix' ? c.B * c.H * c.n * c.n : 0;
}

/** Region sizes of one call: q, k, v, out, mask, conv, then the context with workspace and one thread's scratch. */
function callSizes(kind: Kind, c: Checked, mode: Mode, threads = 1): { plan: CallPlan; sizes: number[] } {
  const plan = planCall(kind, c, mode, threads);
  const t = c.B * c.H * c.n * c.d * 4;
  return {
    plan,
    sizes: [t, t, mode === 'attention' ? t : 0, outFloats(c, mode) * 4, c.B * c.n * 4, c.H * c.ks * 4,
      sharedBytes(plan) + threads * scratchBytes(plan)],
  };
}

/** Bytes of memory (from address 0) a call of this shape needs. */
export function callBytes(base: number, kind: Kind, c: Checked, mode: Mode): number {
  return Engine.offsets(base, callSizes(kind, c, mode).sizes).end;
}

/** The largest seqLen that fits the memory limit with everything else of the call unchanged (0: none). */
export function largestSeqLen(base: number, kind: Kind, c: Checked, mode: Mode): number {
  const fits = (n: number) => callBytes(base, kind, { ...c, n }, mode) <= memoryLimit();
  if (!fits(1)) return 0;
  let lo = 1, hi = c.n;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const CALL_NAMES: Record<Mode, Record<Kind, string>> = {
  attention: { nystrom: 'nystromAttention', softmax: 'softmaxAttention' },
  matrix: { nystrom: 'nystromAttentionMatrix', softmax: 'softmaxAttentionMatrix' },
  factors: { nystrom: 'nystromAttentionFactors', softmax: 'nystromAttentionFactors' },
};

/**
 * Lays out (and grows memory for) one call of `kind` in `mode`. A call past the memory limit is
 * refused before anything is grown or written, naming the bytes, the limit and the largest seqLen
 * that fits.
 */
export function layoutCall(e: Engine, kind: Kind, c: Checked, mode: Mode, threads = 1, start = e.heapStart): CallMemory {
  const { plan, sizes } = callSizes(kind, c, mode, threads);
  const need = Engine.offsets(start, sizes).end;
  if (need > memoryLimit()) {
    const { B, H, n, d, m } = c;
    const what = `${CALL_NAMES[mode][kind]} with shape [${B}, ${H}, ${n}, ${d}]${kind === 'nystrom' ? `, landmarks ${m}` : ''}`;
    const most = largestSeqLen(start, kind, c, mode);
    const dims = `batch ${B}, heads ${H}, headDim ${d}${kind === 'nystrom' ? `, landmarks ${m}` : ''}`;
    throw memoryError(what, need, most > 0
      ? `the longest sequence that fits with ${dims} is seqLen ${most}`
      : `no seqLen fits with ${dims}${kind === 'nystrom' ? ' (fewer landmarks?)' : ''}`);
  }
  const { offsets: [q, k, v, out, mask, conv, ctx], end } = e.layout(sizes, undefined, start);
  return { q, k, v, out, mask, conv, ctx, end, plan };
}

/** Checks the inputs in memory are finite, writes mask, conv and the context: the call is ready to run. */
export function setupCall(e: Engine, kind: Kind, c: Checked, M: CallMemory, scan = true): void {
  const count = c.B * c.H * c.n * c.d;
  if (scan) {
    e.checkFinite(M.q, count, 'q');
    e.checkFinite(M.k, count, 'k');
    if (M.plan.mode === 'attention') e.checkFinite(M.v, count, 'v');
  }
  if (c.mask) e.write(M.mask, c.mask);
  if (c.conv) e.write(M.conv, c.conv);
  writeContext(e.buffer, M.ctx, kind, c, M.plan, M, c.layout === 1);
}

/** setupCall, then the whole call on this thread, then checkResult. */
export function compute(e: Engine, kind: Kind, c: Checked, M: CallMemory): void {
  setupCall(e, kind, c, M);
  e.k.attention(M.ctx);
  checkResult(e, c, M);
}

/**
 * The inputs were finite, so a non-finite result means float32 overflowed inside the call (logits
 * q·k past 3.4e38): a RangeError (ERR_NOT_FINITE), not a silently wrong answer.
 */
export function checkResult(e: Engine, c: Checked, M: CallMemory): void {
  const { mode } = M.plan;
  // Attention mode: the row ranges flagged what they wrote (context field BAD); the scan below only names the index.
  if (mode === 'attention' && new Int32Array(e.buffer, M.ctx, CTX_BYTES / 4)[CTX.BAD / 4] === 0) return;
  const parts: [number, number, string][] = mode === 'factors'
    ? (['F1', 'Z', 'F3'] as const).map((r) => [regionAddress(e.buffer, M.ctx, r), factorFloats(c, M, r), `the factors (${r})`])
    : [[M.out, outFloats(c, mode), 'the result']];
  for (const [at, count, what] of parts) {
    const i = e.k.firstNonFinite(at, count);
    if (i < 0) continue;
    // Which overflowed: the pseudo-inverse (a diverging iteration on a kernel 2 that is singular in
    // float32), or the logits.
    const { exact } = M.plan.geo;
    const zAt = exact ? 0 : regionAddress(e.buffer, M.ctx, 'Z');
    if (zAt && e.k.firstNonFinite(zAt, c.B * c.H * c.m * c.m) >= 0) {
      throw rangeError('ERR_NOT_FINITE', `${what} has a non-finite value at index ${i}: the pseudo-inverse iteration diverged in float32 (${c.iters} iterations on a kernel 2 that is singular to float32); use fewer pinvIterations (6, the default, is what the models were trained with)`);
    }
    throw rangeError('ERR_NOT_FINITE', `${what} has a non-finite value at index ${i}: the inputs overflow float32 inside the call (q·k past 3.4e38); scale q and k down`);
  }
}

function factorFloats(c: Checked, M: CallMemory, region: 'F1' | 'Z' | 'F3'): number {
  const { np, exact } = M.plan.geo;
  const m = exact ? np : c.m;
  const BH = c.B * c.H;
  return region === 'Z' ? BH * m * m : BH * np * m;
}

/** The output of a call that ran in attention or matrix mode, copied into c.out or a new array. */
export function readOutput(e: Engine, c: Checked, M: CallMemory): Float32Array {
  const len = outFloats(c, M.plan.mode);
  const result = c.out ?? new Float32Array(len);
  result.set(e.f32(M.out, len));
  return result;
}

/** The factors of a call that ran in factors mode, copied out of wasm memory. */
export function readFactors(e: Engine, c: Checked, M: CallMemory): NystromFactors {
  const { pad, np, exact } = M.plan.geo;
  const m = exact ? np : c.m;
  const BH = c.B * c.H;
  const mem = e.buffer;
  const copy = (name: 'F1' | 'Z' | 'F3', floats: number) => e.f32(regionAddress(mem, M.ctx, name), floats).slice();
  return {
    kernel1: copy('F1', BH * np * m),
    pinv: copy('Z', BH * m * m),
    kernel3: copy('F3', BH * m * np),
    rows: np,
    pad,
    landmarks: m,
    exact,
    shape: [c.B, c.H, c.n, c.d],
  };
}

/** One call with the inputs copied in and the output copied out (attention or matrix mode). */
export function runOnce(e: Engine, kind: Kind, c: Checked, mode: Mode, q: Float32Array, k: Float32Array, v: Float32Array | undefined): Float32Array {
  const M = layoutCall(e, kind, c, mode);
  e.writeAll(v ? [[q, M.q], [k, M.k], [v, M.v]] : [[q, M.q], [k, M.k]]);
  compute(e, kind, c, M);
  return readOutput(e, c, M);
}

/** The Nyström factors of one call. */
export function factorsOnce(e: Engine, c: Checked, q: Float32Array, k: Float32Array): NystromFactors {
  const M = layoutCall(e, 'nystrom', c, 'factors');
  e.writeAll([[q, M.q], [k, M.k]]);
  compute(e, 'nystrom', c, M);
  return readFactors(e, c, M);
}

/** A plan: one engine laid out once for one shape and options; disposing it drops the engine. */
export function attentionPlan(engine: Engine, kind: Kind, c: Checked): AttentionPlan {
  let e: Engine | null = engine;
  const M = layoutCall(engine, kind, c, 'attention');
  const len = c.B * c.H * c.n * c.d;
  let inputs: AttentionPlan['inputs'] | null = { q: engine.f32(M.q, len), k: engine.f32(M.k, len), v: engine.f32(M.v, len) };
  let output: Float32Array | null = engine.f32(M.out, len);
  const shape = [c.B, c.H, c.n, c.d] as const;
  const live = (): Engine => {
    if (!e) throw disposedError('this attention plan');
    return e;
  };
  return guardMethods({
    shape,
    build: engine.build,
    layout: c.layout === 1 ? 'bnhd' : 'bhnd',
    memoryBytes: M.end,
    get inputs() {
      live();
      return inputs!;
    },
    get output() {
      live();
      return output!;
    },
    run(q, k, v, out) {
      const en = live();
      const what = `the plan's shape [${shape.join(', ')}]`;
      for (const [t, name] of [[q, 'q'], [k, 'k'], [v, 'v']] as const) checkLength(checkFloat32(t, name), len, name, what);
      if (out !== undefined) checkLength(checkFloat32(out, 'out'), len, 'out', what);
      en.writeAll([[q, M.q], [k, M.k], [v, M.v]]);
      compute(en, kind, c, M);
      const result = out ?? new Float32Array(len);
      result.set(output!);
      return result;
    },
    runInPlace() {
      compute(live(), kind, c, M);
      return output!;
    },
    setMask(mask) {
      live();
      // Checked in full before it replaces the old one (the mask region is always laid out).
      c.mask = mask === undefined ? null : checkMask(mask, c.B, c.n);
    },
    dispose() {
      e?.dispose();
      e = null;
      inputs = null;
      output = null;
    },
  }, 'attention plan');
}
