// Child process of tests/host/dispose.test.js (not a test file itself: node --test does not pick up
// *.child.mjs). Measures whether memory is given back, with the resident set size of this process:
//   node --expose-gc [--experimental-wasm-relaxed-simd] tests/host/dispose.child.mjs <mode>
// modes:
//   plans    100 attention plans ([1, 1, 5000, 64], m = 64: ~8 MB each), inputs written and one run each (every page touched),
//            the plan objects KEPT referenced; dispose() all; gc → RSS must fall by most of their size
//   matmul   50 matmul plans (~10 MB each), a, b and c written; kept referenced; dispose() all; gc
//   oneshot  one big one-shot nystromAttention (the shared engine grows by ~170 MB); release(); gc
//   control  the same measurement on 20 bare WebAssembly.Memory objects that are dropped: shows
//            that this process's RSS does fall when wasm memory is freed (a check of the method)
// Prints one JSON line: { mode, ok: true, count, totalBytes, rss: { before, peak, after }, grown,
// dropped, notes }. Errors are reported in the JSON (ok: false), never as a crash.
import * as lib from '../../dist/index.js';

const mode = process.argv[2];
const notes = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function settle() {
  if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
  for (let i = 0; i < 6; i++) {
    globalThis.gc();
    await sleep(25);
  }
}
const rss = () => process.memoryUsage().rss;

async function measure(setup, free) {
  await settle();
  const before = rss();
  const info = await setup();
  await settle();
  const peak = rss();
  await free(info);
  await settle();
  const after = rss();
  return { count: info.count, totalBytes: info.totalBytes, rss: { before, peak, after }, grown: peak - before, dropped: peak - after, keep: info.keep };
}

const modes = {
  async plans() {
    const shape = [1, 1, 5000, 64]; // ~8 MiB per plan
    const plans = [];
    return measure(
      () => {
        let totalBytes = 0;
        for (let i = 0; i < 100; i++) {
          const p = lib.createAttention({ shape, landmarks: 64 });
          p.inputs.q.fill(0.25 + i * 1e-3);
          p.inputs.k.fill(-0.5);
          p.inputs.v.fill(1);
          p.runInPlace(); // output and workspace written too
          totalBytes += p.memoryBytes;
          plans.push(p);
        }
        globalThis.keepPlans = plans; // the plan objects stay referenced throughout
        return { count: plans.length, totalBytes, keep: plans };
      },
      (info) => {
        for (const p of info.keep) {
          if (typeof p.dispose === 'function') p.dispose();
          else if (!notes.length) notes.push('plan.dispose is not a function');
        }
      },
    );
  },
  async matmul() {
    const [m, k, n] = [1024, 512, 1024];
    const plans = [];
    return measure(
      () => {
        let totalBytes = 0;
        for (let i = 0; i < 50; i++) {
          const p = lib.createMatmul({ m, k, n });
          p.a.fill(1);
          p.b.fill(2);
          p.c.fill(3);
          totalBytes += p.memoryBytes;
          plans.push(p);
        }
        globalThis.keepPlans = plans;
        return { count: plans.length, totalBytes, keep: plans };
      },
      (info) => {
        for (const p of info.keep) {
          if (typeof p.dispose === 'function') p.dispose();
          else if (!notes.length) notes.push('plan.dispose is not a function');
        }
      },
    );
  },
  async oneshot() {
    // Inputs and out exist before the first measurement: the growth is the shared engine's.
    // ~170 MB of engine: below the size past which a one-shot engine is released right after the
    // call (256 MiB), so only release() can give it back.
    const big = [1, 1, 98304, 64];
    const len = big.reduce((a, b) => a * b, 1);
    const q = new Float32Array(len).fill(0.5);
    const k = new Float32Array(len).fill(-0.25);
    const v = new Float32Array(len).fill(1);
    const out = new Float32Array(len);
    // A small call, so the engine exists (and its base size is outside the figures).
    const small = [1, 1, 64, 64];
    const sq = q.subarray(0, 64 * 64);
    lib.nystromAttention(sq, sq, sq, { shape: small, landmarks: 8 });
    if (typeof lib.release !== 'function') notes.push('release() is not exported: nothing frees the shared engine');
    return measure(
      () => {
        lib.nystromAttention(q, k, v, { shape: big, landmarks: 64, out });
        return { count: 1, totalBytes: 0, keep: null };
      },
      () => {
        if (typeof lib.release === 'function') lib.release();
      },
    );
  },
  async control() {
    let mems = [];
    return measure(
      () => {
        for (let i = 0; i < 20; i++) {
          const mem = new WebAssembly.Memory({ initial: 130 }); // 8.125 MiB
          new Float32Array(mem.buffer).fill(1);
          mems.push(mem);
        }
        return { count: mems.length, totalBytes: mems.length * 130 * 65536, keep: null };
      },
      () => {
        mems = null;
      },
    );
  },
};

let result;
try {
  if (!modes[mode]) throw new Error(`unknown mode ${mode}; one of ${Object.keys(modes).join(', ')}`);
  const r = await modes[mode]();
  delete r.keep;
  result = { mode, ok: true, build: lib.activeBuild(), ...r, notes };
} catch (e) {
  result = { mode, ok: false, error: String((e && e.stack) || e), notes };
}
console.log(JSON.stringify(result));
