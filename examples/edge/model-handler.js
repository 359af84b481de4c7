// A Nyströmformer MaskedLM checkpoint behind an edge / serverless fetch handler: the model is loaded
// once, on the first request, from a checkpoint directory URL (config.json + model.safetensors),
// then every POST runs a forward pass.
// In your own project import from 'nystrom-wasm' instead of the relative dist path.
//
//   const handler = createModelHandler({ checkpoint: 'https://…/nystromformer-512/', attention: 'config' });
//   export default handler;                     // { fetch(request) }
//
// POST application/json { "ids": [[...], ...], "attentionMask"?: [[0/1 ...], ...], "topK"?: 5 }
//   -> 200 { "shape": [B, n, vocab], "attention", "build", "ms",
//            "top": [B][n] of [{ "id", "logit" }, ...] (the topK highest logits of each position) }
// Malformed input (bad JSON, ids out of range, a ragged batch, too many tokens, unknown keys) -> 400
// { "error": message }; another method -> 405; anything unexpected -> 500.
import { NystromformerForMaskedLM } from '../../dist/index.js';

const json = (body, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });

export function createModelHandler({ checkpoint, attention = 'config', maxTopK = 50 }) {
  let loading = null; // the model, loaded once
  const model = () => (loading ??= NystromformerForMaskedLM.fromPretrained(checkpoint, { attention }));
  return {
    async fetch(request) {
      if (request.method !== 'POST') return json({ error: `use POST, not ${request.method}` }, 405);
      let body;
      try {
        body = await request.json();
      } catch (e) {
        return json({ error: `the body is not JSON: ${e.message}` }, 400);
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return json({ error: 'the body must be a JSON object { ids, attentionMask?, topK? }' }, 400);
      const unknown = Object.keys(body).filter((k) => !['ids', 'attentionMask', 'topK'].includes(k));
      if (unknown.length) return json({ error: `unknown field '${unknown[0]}' (fields: ids, attentionMask, topK)` }, 400);
      const topK = body.topK ?? 5;
      if (!Number.isInteger(topK) || topK < 1 || topK > maxTopK) return json({ error: `topK must be an integer in [1, ${maxTopK}], got ${JSON.stringify(topK)}` }, 400);
      let m;
      try {
        m = await model();
      } catch (e) {
        loading = null; // try again on the next request
        return json({ error: `the checkpoint could not be loaded: ${e.message}` }, 500);
      }
      let r;
      const t0 = performance.now();
      try {
        r = m.forward(body.ids, body.attentionMask === undefined ? {} : { attentionMask: body.attentionMask });
      } catch (e) {
        // The library's own errors carry a code: they are the client's mistake.
        if (e && typeof e.code === 'string' && (e instanceof TypeError || e instanceof RangeError)) return json({ error: e.message, code: e.code }, 400);
        return json({ error: String(e && e.message) }, 500);
      }
      const ms = performance.now() - t0;
      const [B, n, V] = r.logitsShape;
      const top = [];
      for (let b = 0; b < B; b++) {
        const row = [];
        for (let i = 0; i < n; i++) {
          const l = r.logits.subarray((b * n + i) * V, (b * n + i + 1) * V);
          const best = [...l.keys()].sort((x, y) => l[y] - l[x]).slice(0, topK);
          row.push(best.map((id) => ({ id, logit: l[id] })));
        }
        top.push(row);
      }
      return json({ shape: r.logitsShape, attention: m.attention, build: m.build, ms, top });
    },
  };
}
