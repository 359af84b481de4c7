// A whole attention call on one thread: exactly the phase ranges a pool of workers would run
// (exact.ts, nystrom.ts), in sequence, over the context the host wrote (context.ts).
import {
  CTX_B, CTX_EXACT, CTX_F1, CTX_F3, CTX_H, CTX_M, CTX_MODE, CTX_N, CTX_NP, CTX_PAD, CTX_STYLE, CTX_Z,
  CTX_LMCOUNT, CTX_MASK, MODE_FACTORS, MODE_MATRIX, STYLE_LUCIDRAINS,
} from './abi.generated';
import { biasOf, field, keepOf, perHead, prepare, ptr } from './context';
import { exactRows } from './exact';
import { nyAlpha, nyKernel2, nyKernel3, nyLandmarks, nyMatrixRows, nyPinv, nyRows } from './nystrom';
import { softmaxRows } from './softmax';

export function attention(ctx: usize): void {
  prepare(ctx);
  const BH = field(ctx, CTX_B) * field(ctx, CTX_H);
  const n = field(ctx, CTX_N), m = field(ctx, CTX_M), mode = field(ctx, CTX_MODE);
  if (field(ctx, CTX_EXACT)) {
    for (let i = 0; i < BH; i++) {
      exactRows(ctx, 0, i, 0, n);
      if (mode == MODE_FACTORS) factorsFill(ctx, i);
    }
    return;
  }
  for (let i = 0; i < BH; i++) {
    nyLandmarks(ctx, 0, i, 0, m);
    nyKernel2(ctx, 0, i);
  }
  nyAlpha(ctx);
  for (let i = 0; i < BH; i++) {
    nyPinv(ctx, 0, i);
    nyKernel3(ctx, 0, i);
    nyRows(ctx, 0, i, 0, n);
    if (mode == MODE_FACTORS) factorsFill(ctx, i);
    else if (mode == MODE_MATRIX) nyMatrixRows(ctx, 0, i, 0, n);
  }
}

/**
 * Factors mode, head i: the kernel-1 rows of the PAD zero queries in front (the softmax of zero
 * logits under the same masking as the other rows), and on the exact path (where kernel 1 is the
 * exact softmax over NP keys and M == NP) Z = I and kernel 3 = I, so kernel1·Z·kernel3 is the
 * attention matrix in every case.
 */
export function factorsFill(ctx: usize, i: i32): void {
  const m = field(ctx, CTX_M), pad = field(ctx, CTX_PAD), np = field(ctx, CTX_NP);
  const f1 = perHead(ctx, CTX_F1, i, <usize>np * <usize>m);
  memory.fill(f1, 0, <usize>pad * <usize>m << 2);
  const exact = field(ctx, CTX_EXACT) != 0;
  if (exact) {
    // Exact path (authors, hf): zero logits plus the key bias (pad > 0 here means the bias applies).
    softmaxRows(f1, pad, m, m, 1, biasOf(ctx, i), 0, 0);
  } else {
    const lucidMask = field(ctx, CTX_STYLE) == STYLE_LUCIDRAINS && ptr(ctx, CTX_MASK) != 0;
    softmaxRows(f1, pad, m, m, 1, 0, lucidMask ? keepOf(ctx, i) : 0, lucidMask ? perHead(ctx, CTX_LMCOUNT, i, <usize>m) : 0);
  }
  if (!exact) return;
  identity(perHead(ctx, CTX_Z, i, <usize>m * <usize>m), m);
  identity(perHead(ctx, CTX_F3, i, <usize>m * <usize>np), m);
}

function identity(p: usize, m: i32): void {
  memory.fill(p, 0, <usize>m * <usize>m << 2);
  for (let r = 0; r < m; r++) store<f32>(p + ((<usize>r * <usize>m + <usize>r) << 2), 1);
}
