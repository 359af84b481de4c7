// The per-call context: every composition reads its call — tensors, shape, options, strides and
// the addresses of its workspace — from a context record the host writes into linear memory
// (fields and offsets declared once in scripts/abi.mjs, generated into abi.generated.ts). Kernels
// keep no state between calls, so any number of calls (and the threads of one call) can run on
// one memory as long as their contexts and scratch regions are distinct.
//
// Heads are numbered i = b·H + h. Element (b, h, r, c) of q, k, v sits at float offset
// b·S_B + h·S_H + r·LD + c ('bhnd' and 'bnhd' differ only in these strides); of the output at
// b·O_B + h·O_H + r·O_LD + c. Thread t's scratch is [SCRATCH + t·SCRATCH_BYTES, +SCRATCH_BYTES).
import {
  CTX_B, CTX_BIAS, CTX_H, CTX_KEEP, CTX_MASK, CTX_N, CTX_NP, CTX_O_B, CTX_O_H, CTX_PAD, CTX_S_B, CTX_S_H,
  CTX_SCRATCH, CTX_SCRATCH_BYTES, CTX_STYLE, STYLE_AUTHORS, STYLE_LUCIDRAINS,
} from './abi.generated';
import { NEG_MAX } from './util';

/** An i32 field of the context. */
// @ts-ignore: decorator
@inline export function field(ctx: usize, f: usize): i32 { return load<i32>(ctx + f); }
/** A pointer field of the context (0 = absent). */
// @ts-ignore: decorator
@inline export function ptr(ctx: usize, f: usize): usize { return <usize>load<u32>(ctx + f); }

/** Address of row 0 of head i of an input tensor (q, k or v) at `base`. */
export function inHead(ctx: usize, base: usize, i: i32): usize {
  const H = field(ctx, CTX_H);
  const b = i / H, h = i % H;
  return base + ((<usize>b * <usize>field(ctx, CTX_S_B) + <usize>h * <usize>field(ctx, CTX_S_H)) << 2);
}

/** Address of row 0 of head i of the output at `base`. */
export function outHead(ctx: usize, base: usize, i: i32): usize {
  const H = field(ctx, CTX_H);
  const b = i / H, h = i % H;
  return base + ((<usize>b * <usize>field(ctx, CTX_O_B) + <usize>h * <usize>field(ctx, CTX_O_H)) << 2);
}

/** Address of a per-thread scratch slot (`slot` is the context field holding its offset). */
export function scratch(ctx: usize, t: i32, slot: usize): usize {
  return ptr(ctx, CTX_SCRATCH) + <usize>t * ptr(ctx, CTX_SCRATCH_BYTES) + ptr(ctx, slot);
}

/** Address of record i of a per-head array of `floats` floats at the context field `f`. */
export function perHead(ctx: usize, f: usize, i: i32, floats: usize): usize {
  return ptr(ctx, f) + ((<usize>i * floats) << 2);
}

/** The keep vector (NP floats: 0 for pad rows and masked tokens) of head i's batch element. */
export function keepOf(ctx: usize, i: i32): usize {
  return perHead(ctx, CTX_KEEP, i / field(ctx, CTX_H), <usize>field(ctx, CTX_NP));
}

/** The additive key bias (NP floats) of head i's batch element. */
export function biasOf(ctx: usize, i: i32): usize {
  return perHead(ctx, CTX_BIAS, i / field(ctx, CTX_H), <usize>field(ctx, CTX_NP));
}

/** The caller's mask row (N floats) of head i's batch element, or 0 without a mask. */
export function maskOf(ctx: usize, i: i32): usize {
  const mask = ptr(ctx, CTX_MASK);
  return mask ? mask + ((<usize>(i / field(ctx, CTX_H)) * <usize>field(ctx, CTX_N)) << 2) : 0;
}

/** Authors and hf scale Q and K by d^(−1/4) each; lucidrains scales Q by d^(−1/2). */
export function qScale(style: i32, d: i32): f32 {
  return style == STYLE_LUCIDRAINS ? <f32>(1.0 / Math.sqrt(<f64>d)) : <f32>(1.0 / Math.sqrt(Math.sqrt(<f64>d)));
}
export function kScale(style: i32, d: i32): f32 {
  return style == STYLE_LUCIDRAINS ? <f32>1.0 : <f32>(1.0 / Math.sqrt(Math.sqrt(<f64>d)));
}

/**
 * KEEP and BIAS of every batch element: keep is 0 for the PAD rows in front and for masked tokens,
 * else 1; the key bias is the style's (authors −1e9·(1−keep), hf and lucidrains (1−keep)·(−3.4028235e38);
 * lucidrains masks by fills from keep instead and does not read it).
 */
export function prepare(ctx: usize): void {
  const B = field(ctx, CTX_B), n = field(ctx, CTX_N), pad = field(ctx, CTX_PAD), np = field(ctx, CTX_NP);
  const style = field(ctx, CTX_STYLE);
  const mask = ptr(ctx, CTX_MASK);
  let keep = ptr(ctx, CTX_KEEP), bias = ptr(ctx, CTX_BIAS);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < np; i++) {
      let kv: f32 = 1;
      if (i < pad) kv = 0;
      else if (mask) kv = load<f32>(mask + ((<usize>b * <usize>n + <usize>(i - pad)) << 2));
      store<f32>(keep, kv);
      store<f32>(bias, style == STYLE_AUTHORS ? <f32>-1e9 * (<f32>1 - kv) : (<f32>1 - kv) * NEG_MAX);
      keep += 4;
      bias += 4;
    }
  }
}
