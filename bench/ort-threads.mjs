// onnxruntime-web exact attention with a given numThreads, in its own process (ORT fixes its thread
// count when its wasm starts, so the bench runs each count in a child). Prints one JSON line
// { threads, n, d, medianMs, samples }.
//   node bench/ort-threads.mjs --threads 2 --n 4096 --d 64 --reps 5
import * as ort from 'onnxruntime-web';
import { attentionModel } from './onnx.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const threads = arg('threads', 1), n = arg('n', 4096), d = arg('d', 64), reps = arg('reps', 5);
ort.env.wasm.numThreads = threads;
ort.env.logLevel = 'error';
const session = await ort.InferenceSession.create(attentionModel(n, d), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
const rnd = (seed) => { let s = seed; return new Float32Array(n * d).map(() => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 2); };
const feeds = { Q: new ort.Tensor('float32', rnd(1), [n, d]), K: new ort.Tensor('float32', rnd(2), [n, d]), V: new ort.Tensor('float32', rnd(3), [n, d]) };
for (let i = 0; i < 2; i++) await session.run(feeds);
const samples = [];
for (let i = 0; i < reps; i++) {
  const t = performance.now();
  await session.run(feeds);
  samples.push(performance.now() - t);
}
samples.sort((a, b) => a - b);
console.log(JSON.stringify({ threads, n, d, medianMs: samples[samples.length >> 1], samples }));
await session.release();
process.exit(0);
