// Shared helpers of the kernel specs (imported explicitly; the as-pect `include` glob also adds
// this file to every spec's compilation, which is harmless: nothing here is global).

/** Bit pattern of a quiet NaN with a payload, used as a sentinel: reading it into arithmetic
 *  poisons the result, and a write over it is seen by comparing bits. */
export const SENTINEL_BITS: u32 = 0x7fc0_1234;
/** Floats of sentinel placed before and after an output buffer. */
export const GUARD: i32 = 8;

let rngState: u32 = 0x2545f491;

export function reseed(s: u32): void {
  rngState = s == 0 ? 0x2545f491 : s;
}

/** xorshift32 → uniform in [-1, 1). */
export function rnd(): f32 {
  let s = rngState;
  s ^= s << 13; s ^= s >> 17; s ^= s << 5;
  rngState = s;
  return <f32>(<f64>(s >> 8) / 8388608.0 - 1.0);
}

/** Uniform in [0, 1). */
export function rnd01(): f32 {
  return <f32>((<f64>rnd() + 1.0) * 0.5);
}

/** Uniform integer in [0, k). */
export function rndInt(k: i32): i32 {
  return min(k - 1, <i32>(<f64>rnd01() * <f64>k));
}

/** 16-byte aligned block of `count` floats (at least one). */
export function allocF(count: i32): usize {
  return heap.alloc(<usize>max(count, 1) << 2);
}

/** Buffer of GUARD + count + GUARD floats, all sentinel; returns the buffer (the data starts at
 *  buf + GUARD floats, see inner()). */
export function allocGuarded(count: i32): usize {
  const total = GUARD + max(count, 0) + GUARD;
  const buf = allocF(total);
  for (let i = 0; i < total; i++) store<u32>(buf + (<usize>i << 2), SENTINEL_BITS);
  return buf;
}

export function inner(buf: usize): usize {
  return buf + (<usize>GUARD << 2);
}

/** Number of guard floats (before and after `count` floats of data) no longer holding the sentinel. */
export function guardDamage(buf: usize, count: i32): i32 {
  let bad = 0;
  const after = buf + (<usize>(GUARD + max(count, 0)) << 2);
  for (let i = 0; i < GUARD; i++) {
    if (load<u32>(buf + (<usize>i << 2)) != SENTINEL_BITS) bad++;
    if (load<u32>(after + (<usize>i << 2)) != SENTINEL_BITS) bad++;
  }
  return bad;
}

export function isSentinel(p: usize): bool {
  return load<u32>(p) == SENTINEL_BITS;
}

export function setSentinel(p: usize): void {
  store<u32>(p, SENTINEL_BITS);
}

@inline export function getF(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

@inline export function setF(p: usize, i: i32, v: f32): void {
  store<f32>(p + (<usize>i << 2), v);
}

/** |got − ref| ≤ max(abs, rel·|ref|), false for NaN. */
export function close(got: f64, ref: f64, rel: f64, abs: f64): bool {
  return Math.abs(got - ref) <= Math.max(abs, rel * Math.abs(ref));
}

export function str(x: i32): string {
  return x.toString();
}
