// The machine's own ceiling for T threads: T independent synchronous calls at once, each on a thread
// of its own with its own memory (no pool, nothing shared), against one alone. On a machine whose
// cores slow each other down (shared caches and memory, a shared physical core under a hypervisor,
// a lower all-core clock), T threads cannot give T×; this measures what they can give, in the same
// run as the pool, so the pool's speedup can be read against it.
//   startCeiling(spec, build, T, calls) → { solo(), together(), close() }: time the two as tasks
// spec: { kind: 'nystrom' | 'softmax', shape, landmarks } | { kind: 'matmul', M, K, N }; build: 'simd' | 'relaxed'.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomArray } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

if (!isMainThread && workerData?.ceiling) {
  const { spec, build } = workerData;
  const O = await import(pathToFileURL(path.join(here, '..', 'dist', 'index.js')).href);
  let run;
  if (spec.kind === 'matmul') {
    const plan = O.createMatmul({ m: spec.M, k: spec.K, n: spec.N, build });
    plan.a.set(randomArray(spec.M * spec.K, 34));
    plan.b.set(randomArray(spec.K * spec.N, 35));
    run = () => plan.runInPlace();
  } else {
    const [B, H, n, d] = spec.shape;
    const len = B * H * n * d;
    const x = [31, 32, 33].map((s) => randomArray(len, s));
    const out = new Float32Array(len);
    const o = { shape: spec.shape, landmarks: spec.landmarks, out };
    O.selectBuild(build);
    const fn = spec.kind === 'nystrom' ? O.nystromAttention : O.softmaxAttention;
    run = () => fn(x[0], x[1], x[2], o);
  }
  for (let i = 0; i < 3; i++) run();
  parentPort.on('message', ({ calls }) => {
    const times = [];
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      run();
      times.push(performance.now() - t);
    }
    parentPort.postMessage(times);
  });
  parentPort.postMessage('ready');
}

/**
 * T workers, each with its own memory and inputs for `spec`, ready to run `calls` synchronous calls
 * per batch: solo() runs a batch on one of them, together() a batch on every one at once (timed as
 * tasks in the same rounds as the pool, so both see the same machine); the ceiling is
 * T × (solo time) ÷ (together time).
 */
export async function startCeiling(spec, build, T, calls) {
  const workers = await Promise.all(Array.from({ length: T }, () => new Promise((resolve, reject) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: { ceiling: true, spec, build } });
    w.once('message', () => resolve(w));
    w.once('error', reject);
  })));
  const batch = (w) => new Promise((resolve) => { w.once('message', resolve); w.postMessage({ calls }); });
  return {
    solo: () => batch(workers[0]),
    together: () => Promise.all(workers.map(batch)),
    close: () => Promise.all(workers.map((w) => w.terminate())),
  };
}
