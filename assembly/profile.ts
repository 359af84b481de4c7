// Where a call's time goes, for the bench's profile builds (asconfig targets *-profile, compiled with
// `--use PROFILE=1`; `node scripts/build-wasm.mjs --profile`). Kernels bracket their work with
// enter(slot) … leave(); each slot accumulates its exclusive time (a gemm inside the pseudo-inverse
// counts as gemm, not pinv) read by the host through profileTimes(). In the shipped builds PROFILE is
// not defined: enter/leave compile to nothing, the module imports nothing and profileTimes() is 0.
// Profile builds are single-threaded (the accumulators are static memory).

// @ts-ignore: decorator
@external("env", "now") declare function now(): f64;

// @ts-ignore: decorator
@inline const ON: bool = isDefined(PROFILE);

// Slots (ENUMS.PROF in scripts/abi.mjs): PROF_GEMM (packing included), PROF_SOFTMAX (logits, max,
// exp, sum, scale), PROF_LANDMARKS (segment means), PROF_PINV (the iteration's own work and the
// statistics; its products are gemm), PROF_CONV, PROF_SCAN (finiteness). The host counts the rest
// of a call as "other".
// @ts-ignore: decorator
@inline const SLOTS: i32 = 8;
// @ts-ignore: decorator
@inline const DEPTH: i32 = 16;

// [SLOTS] f64 exclusive ms, [SLOTS] f64 calls, then a stack of DEPTH (slot: f64, start: f64, children: f64).
const BUF: usize = ON ? memory.data(SLOTS * 16 + DEPTH * 24, 16) : 0;
let depth: i32 = 0;

// @ts-ignore: decorator
@inline export function enter(slot: i32): void {
  if (ON) {
    if (depth < DEPTH) {
      const f = BUF + <usize>(SLOTS * 16 + depth * 24);
      store<f64>(f, <f64>slot);
      store<f64>(f, 0, 16);
      store<f64>(f, now(), 8);
    }
    depth++;
  }
}

// @ts-ignore: decorator
@inline export function leave(): void {
  if (ON) {
    depth--;
    if (depth < DEPTH) {
      const t = now();
      const f = BUF + <usize>(SLOTS * 16 + depth * 24);
      const slot = <i32>load<f64>(f);
      const spent = t - load<f64>(f, 8);
      const self = BUF + (<usize>slot << 3);
      store<f64>(self, load<f64>(self) + spent - load<f64>(f, 16));
      const calls = BUF + (<usize>(SLOTS + slot) << 3);
      store<f64>(calls, load<f64>(calls) + 1);
      if (depth > 0) {
        const parent = BUF + <usize>(SLOTS * 16 + (depth - 1) * 24);
        store<f64>(parent, load<f64>(parent, 16) + spent, 16);
      }
    }
  }
}

/** Address of the accumulators ([SLOTS] f64 ms, then [SLOTS] f64 calls), 0 in a shipped build. */
export function profileTimes(): usize {
  return BUF;
}

/** Zeroes the accumulators. */
export function profileReset(): void {
  if (ON) {
    memory.fill(BUF, 0, SLOTS * 16);
    depth = 0;
  }
}
