// The HF Nyströmformer forward pass at the released shape (12 layers, hidden 768, 12 heads,
// intermediate 3072, conv 65, vocab 30000; random weights scaled like a trained model), B = 1:
// load time and memory, forward time on the 'config' (exact, as HF) and 'nystrom' (O(n)) paths, and
// what 'nystrom' changes: the relative difference of last_hidden_state against 'config'.
//   npm run build && node --expose-gc [--experimental-wasm-relaxed-simd] bench/model.mjs [--n 512,1024,4096] [--layers 12] [--threads T] [--ort] [--json PATH]
// --ort: the same model (exact attention) as an ONNX graph in onnxruntime-web, built here from the same
// weights (needs `npm run bench:peers`), timed beside ours and checked against it.
// --threads T: ours on a pool of T workers (forwardAsync), onnxruntime-web with numThreads = T (default 1:
// ours on the calling thread).
import fs from 'node:fs';
import { NystromformerModel, writeSafetensors, activeBuild, createPool } from '../dist/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const ns = arg('n', '512,1024,4096').split(',').map(Number);
const layers = Number(arg('layers', '12'));
const threads = Number(arg('threads', '1'));
const config = {
  vocab_size: 30000, hidden_size: 768, num_hidden_layers: layers, num_attention_heads: 12, intermediate_size: 3072,
  hidden_act: 'gelu_new', max_position_embeddings: Math.max(...ns), type_vocab_size: 2, layer_norm_eps: 1e-5,
  segment_means_seq_len: 64, num_landmarks: 64, conv_kernel_size: 65, inv_coeff_init_option: false,
};

/** Random weights with HF's names: LayerNorm ~1, biases small, matrices ~U·(1/√fan_in), embeddings ~0.5. */
function checkpoint() {
  let s = 1;
  const fill = (shape, scale, mean = 0) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      data[i] = mean + scale * (s / 2 ** 31 - 1);
    }
    return { dtype: 'F32', shape, data };
  };
  const H = 768, I = 3072, V = config.vocab_size;
  const w = {
    'embeddings.word_embeddings.weight': fill([V, H], 0.5),
    'embeddings.position_embeddings.weight': fill([config.max_position_embeddings + 2, H], 0.2),
    'embeddings.token_type_embeddings.weight': fill([2, H], 0.2),
    'embeddings.LayerNorm.weight': fill([H], 0.1, 1), 'embeddings.LayerNorm.bias': fill([H], 0.05),
  };
  for (let l = 0; l < layers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const [name, out, inp] of [['attention.self.query', H, H], ['attention.self.key', H, H], ['attention.self.value', H, H],
      ['attention.output.dense', H, H], ['intermediate.dense', I, H], ['output.dense', H, I]]) {
      w[`${p}${name}.weight`] = fill([out, inp], 1.7 / Math.sqrt(inp));
      w[`${p}${name}.bias`] = fill([out], 0.05);
    }
    w[`${p}attention.self.conv.weight`] = fill([12, 1, 65, 1], 0.05);
    for (const ln of ['attention.output.LayerNorm', 'output.LayerNorm']) {
      w[`${p}${ln}.weight`] = fill([H], 0.1, 1);
      w[`${p}${ln}.bias`] = fill([H], 0.05);
    }
  }
  return { bytes: writeSafetensors(w), w };
}

const rss = () => {
  globalThis.gc?.(); // with --expose-gc: what is still referenced, not garbage
  return process.memoryUsage().rss / 2 ** 20;
};
const rel = (a, b) => { let num = 0, den = 0; for (let i = 0; i < a.length; i++) { const d = a[i] - b[i]; num += d * d; den += b[i] * b[i]; } return Math.sqrt(num / den); };

const { bytes, w: weights } = checkpoint();
const pool = threads > 1 ? await createPool({ threads }) : undefined;
if (pool && pool.threads !== threads) throw new Error(`the pool runs ${pool.threads} threads (${pool.reason})`);
console.log(`nystrom-wasm model bench: ${layers} layers × hidden 768, 12 heads, intermediate 3072, conv 65, vocab 30000; checkpoint ${(bytes.length / 2 ** 20).toFixed(0)} MiB (F32); build '${activeBuild()}'; ${threads} thread${threads > 1 ? 's (a pool)' : ''}`);
const rss0 = rss();
let t = performance.now();
const exact = NystromformerModel.fromSafetensors(bytes, config, { pool });
const loadMs = performance.now() - t;
const rssLoaded = rss();
const nys = NystromformerModel.fromSafetensors(bytes, config, { attention: 'nystrom', pool });
console.log(`load: ${(loadMs / 1000).toFixed(2)} s; RSS with the checkpoint bytes held ${rss0.toFixed(0)} MiB → ${rssLoaded.toFixed(0)} MiB with the model loaded: +${(rssLoaded - rss0).toFixed(0)} MiB for ${(bytes.length / 2 ** 20).toFixed(0)} MiB of weights (the packed weights in wasm memory; no second copy kept)`);
const rows = [];
for (const n of ns) {
  const ids = [Array.from({ length: n }, (_, i) => (i * 7919 + 11) % 30000)];
  const reps = n <= 1024 ? 3 : 1;
  const time = async (m) => {
    for (let i = 0; i < (n <= 1024 ? 3 : 1); i++) await m.forwardAsync(ids); // warm-up: the optimising tier, and the plan of this shape
    const s = [];
    let out;
    for (let r = 0; r < reps; r++) { const t0 = performance.now(); out = await m.forwardAsync(ids); s.push(performance.now() - t0); }
    s.sort((a, b) => a - b);
    return { ms: s[s.length >> 1], out };
  };
  const a = await time(exact), b = await time(nys);
  const diff = rel(b.out.lastHiddenState, a.out.lastHiddenState);
  rows.push({ n, exactMs: a.ms, nystromMs: b.ms, speedup: a.ms / b.ms, relDiff: diff, peakRssMiB: rss() });
  console.log(`n = ${n}: 'config' (exact) ${a.ms.toFixed(0)} ms, 'nystrom' ${b.ms.toFixed(0)} ms (${(a.ms / b.ms).toFixed(2)}×); ‖nystrom − config‖/‖config‖ of last_hidden_state = ${diff.toExponential(2)}; RSS ${rss().toFixed(0)} MiB`);
}
if (process.argv.includes('--ort')) {
  const ort = await import('onnxruntime-web');
  const { nystromformerExactModel } = await import('./onnx.mjs');
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  const get = (name) => weights[name].data;
  for (const row of rows) {
    const { n } = row;
    const session = await ort.InferenceSession.create(nystromformerExactModel(get, { n, layers, vocab: config.vocab_size, maxPos: config.max_position_embeddings }),
      { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const idsArr = Array.from({ length: n }, (_, i) => (i * 7919 + 11) % 30000);
    const feeds = {
      ids: new ort.Tensor('int64', BigInt64Array.from(idsArr.map(BigInt)), [1, n]),
      positions: new ort.Tensor('int64', BigInt64Array.from(idsArr.map((_, i) => BigInt(i + 2))), [1, n]),
    };
    const reps = n <= 1024 ? 3 : 1;
    for (let i = 0; i < (n <= 1024 ? 2 : 1); i++) await session.run(feeds);
    const s = [];
    let out;
    for (let r = 0; r < reps; r++) { const t0 = performance.now(); out = await session.run(feeds); s.push(performance.now() - t0); }
    s.sort((a, b) => a - b);
    const ortMs = s[s.length >> 1];
    const ours = (await exact.forwardAsync([idsArr])).lastHiddenState;
    const diff = rel(out.last_hidden_state.data, ours);
    row.ortExactMs = ortMs;
    row.oursVsOrt = ortMs / row.exactMs;
    row.nystromVsOrt = ortMs / row.nystromMs;
    console.log(`n = ${n}: onnxruntime-web exact (${threads} thread${threads > 1 ? 's' : ''}) ${ortMs.toFixed(0)} ms — ours 'config' ${row.oursVsOrt.toFixed(2)}× faster, ours 'nystrom' ${row.nystromVsOrt.toFixed(2)}×; ‖ours − ort‖/‖ort‖ = ${diff.toExponential(2)}`);
    await session.release();
  }
}
const json = arg('json', null);
if (json) fs.writeFileSync(json, JSON.stringify({ layers, threads, build: activeBuild(), loadMs, rss0, rssLoaded, rows }, null, 2));
exact.dispose();
nys.dispose();
await pool?.close();
