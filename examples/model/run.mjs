// Run a Nyströmformer MaskedLM checkpoint: the top-5 tokens at each masked position.
//   node examples/model/run.mjs [CHECKPOINT_DIR_OR_URL] [--ids 2,10,4,31,3] [--mask-id 4] [--attention config|nystrom|exact]
// CHECKPOINT_DIR_OR_URL holds config.json and model.safetensors (a released uw-madison/nystromformer-*
// checkpoint works unchanged). Without one, a small random checkpoint is made here and used.
import { NystromformerForMaskedLM, writeSafetensors } from '../../dist/index.js';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const source = argv.find((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
const maskId = Number(opt('mask-id', '4'));
const attention = opt('attention', 'config');

/** A small random MaskedLM checkpoint with HF's key names (weights scaled like a trained model). */
function randomCheckpoint() {
  const config = {
    vocab_size: 200, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128,
    hidden_act: 'gelu_new', max_position_embeddings: 128, type_vocab_size: 2, layer_norm_eps: 1e-5,
    segment_means_seq_len: 16, num_landmarks: 16, conv_kernel_size: 9, inv_coeff_init_option: false,
  };
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 2;
  const t = (shape, scale, mean = 0) => ({ dtype: 'F32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => mean + scale * rand()) });
  const H = config.hidden_size, I = config.intermediate_size, V = config.vocab_size;
  const w = {
    'nystromformer.embeddings.word_embeddings.weight': t([V, H], 0.5),
    'nystromformer.embeddings.position_embeddings.weight': t([config.max_position_embeddings + 2, H], 0.2),
    'nystromformer.embeddings.token_type_embeddings.weight': t([2, H], 0.2),
    'nystromformer.embeddings.LayerNorm.weight': t([H], 0.1, 1), 'nystromformer.embeddings.LayerNorm.bias': t([H], 0.05),
    'cls.predictions.transform.dense.weight': t([H, H], 1 / Math.sqrt(H)), 'cls.predictions.transform.dense.bias': t([H], 0.05),
    'cls.predictions.transform.LayerNorm.weight': t([H], 0.1, 1), 'cls.predictions.transform.LayerNorm.bias': t([H], 0.05),
    'cls.predictions.bias': t([V], 0.05),
  };
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `nystromformer.encoder.layer.${l}.`;
    for (const [name, out, inp] of [['attention.self.query', H, H], ['attention.self.key', H, H], ['attention.self.value', H, H],
      ['attention.output.dense', H, H], ['intermediate.dense', I, H], ['output.dense', H, I]]) {
      w[`${p}${name}.weight`] = t([out, inp], 1.7 / Math.sqrt(inp));
      w[`${p}${name}.bias`] = t([out], 0.05);
    }
    w[`${p}attention.self.conv.weight`] = t([config.num_attention_heads, 1, config.conv_kernel_size, 1], 0.2);
    for (const ln of ['attention.output.LayerNorm', 'output.LayerNorm']) {
      w[`${p}${ln}.weight`] = t([H], 0.1, 1);
      w[`${p}${ln}.bias`] = t([H], 0.05);
    }
  }
  return { bytes: writeSafetensors(w), config };
}

const t0 = performance.now();
let model;
if (source) {
  let last = -1;
  model = await NystromformerForMaskedLM.fromPretrained(source, {
    attention,
    onProgress: ({ file, loaded, total }) => {
      const pct = total ? Math.floor((100 * loaded) / total) : -1;
      if (pct !== last && pct % 10 === 0) { last = pct; process.stderr.write(`loading ${file}: ${pct} %\n`); }
    },
  });
  console.log(`loaded ${source} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} else {
  const { bytes, config } = randomCheckpoint();
  model = NystromformerForMaskedLM.fromSafetensors(bytes, config, { attention });
  console.log(`no checkpoint given: a random one (${(bytes.length / 1024).toFixed(0)} KiB, hidden 64, 2 layers, vocab 200)`);
}
const ids = opt('ids', `2,17,${maskId},42,9,${maskId},88,3`).split(',').map(Number);
const t1 = performance.now();
const { logits, logitsShape } = model.forward([ids]);
const V = logitsShape[2];
console.log(`forward: ${ids.length} tokens, attention '${model.attention}', build '${model.build}', ${(performance.now() - t1).toFixed(1)} ms`);
ids.forEach((id, i) => {
  if (id !== maskId) return;
  const row = logits.subarray(i * V, (i + 1) * V);
  const top = [...row.keys()].sort((a, b) => row[b] - row[a]).slice(0, 5);
  console.log(`  position ${i} (mask): top-5 token ids ${top.map((t) => `${t} (${row[t].toFixed(2)})`).join(', ')}`);
});
model.dispose();
