// The MaskedLM model behind an edge fetch handler (examples/edge/model-handler.js), called directly and
// served by Deno.serve, loading a random checkpoint by URL from a local static server: the top-k logits of each position equal the float64
// reference's, bad requests are 400 with a message, and the next valid request still works.
//   node tests/runtimes/edge-model.test.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { startServer } from '../../scripts/serve.mjs';
import { createModelHandler } from '../../examples/edge/model-handler.js';
import { smallConfig, randomCheckpoint, randomIds } from '../model/checkpoint.js';
import { referenceMaskedLM } from '../model/reference.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let passed = 0, failed = 0, build = 'none';
const report = (ok, name, msg = '') => { ok ? passed++ : failed++; console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${msg ? ': ' + msg : ''}`); };

const dir = join(root, 'tests', 'artifacts', 'edge-checkpoint');
const config = smallConfig({ num_landmarks: 4 });
const { bytes, weights } = randomCheckpoint(config, { head: 'mlm', dtype: 'F16', seed: 31 });
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
writeFileSync(join(dir, 'model.safetensors'), bytes);

/** The same handler served by Deno.serve (examples/edge/serve-deno.js --model URL); resolves { base, child }. */
function startDeno(checkpoint) {
  const deno = join(root, 'tests', 'runtimes', 'node_modules', '.bin', 'deno');
  const child = spawn(deno, ['run', '--allow-net=127.0.0.1', join(root, 'examples/edge/serve-deno.js'), '--port', '0', '--model', checkpoint], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`deno did not start in 20 s: ${out}`)); }, 20000);
    child.stdout.on('data', (b) => {
      out += b;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) { clearTimeout(timer); resolve({ base: m[1], child }); }
    });
    child.stderr.on('data', (b) => { out += b; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`deno exited (${code}): ${out}`)); });
  });
}

const server = await startServer();
const checkpointUrl = `${server.url}/tests/artifacts/edge-checkpoint/`;
let denoServer = null;
try {
  denoServer = await startDeno(checkpointUrl);
} catch (e) {
  report(false, 'Deno.serve starts', e.message);
}
try {
  // The handler called directly (its fetch, in Node), then the same handler behind Deno.serve over HTTP.
  const direct = createModelHandler({ checkpoint: checkpointUrl });
  const ways = [['fetch handler in Node', (req) => direct.fetch(req)]];
  if (denoServer) {
    ways.push(['Deno.serve', (req) => fetch(new URL('/', denoServer.base), { method: req.method, body: req.method === 'POST' ? req.body : undefined, headers: req.headers, duplex: 'half' })]);
  }
  for (const [label, fetchOne] of ways) {
  const post = (body) => fetchOne(new Request('http://edge.test/', { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }));
  const ids = randomIds(config, 2, 12, 8);
  const attentionMask = [Array(12).fill(1), [...Array(9).fill(1), 0, 0, 0]];
  const want = referenceMaskedLM(weights, config, ids, { attentionMask }).logits;
  const check = async (label) => {
    const res = await post({ ids, attentionMask, topK: 3 });
    const body = await res.json();
    build = body.build ?? build;
    let worst = 0;
    let sameIds = true;
    const V = config.vocab_size;
    body.top?.forEach((row, b) => row.forEach((cells, i) => {
      const l = want.subarray((b * 12 + i) * V, (b * 12 + i + 1) * V);
      const best = [...l.keys()].sort((x, y) => l[y] - l[x]).slice(0, 3);
      cells.forEach((c, r) => {
        if (c.id !== best[r]) sameIds = false;
        worst = Math.max(worst, Math.abs(c.logit - l[c.id]) / Math.max(1, Math.abs(l[c.id])));
      });
    }));
    report(res.status === 200 && body.top?.length === 2 && sameIds && worst <= 1e-5, label, `${res.status} ${body.attention} top-3 ids ${sameIds ? 'equal' : 'differ'}, worst logit error ${worst.toExponential(2)}`);
  };
  const tag = (x) => `${label}: ${x}`;
  await check(tag('first request loads the checkpoint by URL and answers'));
  const bad = [
    ['not JSON', '{nope', 400],
    ['an unknown field', { ids, mask: [] }, 400],
    ['ids out of range', { ids: [[1, 2, 50]] }, 400],
    ['a ragged batch', { ids: [[1, 2, 3], [1]] }, 400],
    ['too many tokens', { ids: [Array(65).fill(3)] }, 400],
    ['a bad topK', { ids, topK: 0 }, 400],
  ];
  for (const [name, body, status] of bad) {
    const res = await post(body);
    const b = await res.json().catch(() => ({}));
    report(res.status === status && typeof b.error === 'string', tag(`bad request: ${name}`), `${res.status} ${b.error}`);
  }
  const get = await fetchOne(new Request('http://edge.test/'));
  report(get.status === 405, tag('GET is 405'), String(get.status));
  await check(tag('the next valid request after the errors'));
  }
} finally {
  denoServer?.child.kill('SIGTERM');
  await server.close();
}
console.log(`build: ${build}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
