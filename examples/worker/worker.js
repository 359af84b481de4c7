// Attention in a Web Worker (a module worker: `new Worker(url, { type: 'module' })`), so a long
// call does not block the page. Inputs and the output travel as transferred ArrayBuffers: no copy,
// and the sender's buffers are detached after postMessage.
// In your own project import from 'nystrom-wasm' (or a bundler's URL for it) instead.
//
// Request:  { id, kind?: 'nystrom' | 'softmax', options: { shape, ...NystromAttentionOptions },
//             q, k, v: ArrayBuffer (f32, B·H·n·d values each; mask / convWeight as arrays or typed arrays) }
// Reply:    { id, output: ArrayBuffer (transferred), build, ms }   or   { id, error: { name, message } }
import { nystromAttention, softmaxAttention, activeBuild } from '../../dist/index.js';

self.onmessage = (event) => {
  const { id, kind = 'nystrom', options, q, k, v } = event.data ?? {};
  try {
    for (const [name, x] of [['q', q], ['k', k], ['v', v]]) {
      if (!(x instanceof ArrayBuffer)) throw new TypeError(`${name}: expected an ArrayBuffer, received ${x === null ? 'null' : typeof x}`);
    }
    const f = (b) => new Float32Array(b);
    const t0 = performance.now();
    const out = kind === 'softmax'
      ? softmaxAttention(f(q), f(k), f(v), options)
      : nystromAttention(f(q), f(k), f(v), options);
    const ms = performance.now() - t0;
    // Copy if the result is a view of a larger buffer, so exactly the output is transferred.
    const buffer = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out.buffer : out.slice().buffer;
    self.postMessage({ id, output: buffer, build: activeBuild(), ms }, [buffer]);
  } catch (e) {
    self.postMessage({ id, error: { name: e && e.name, message: String((e && e.message) || e) } });
  }
};
