// Conformance cases in headless Chromium: the embedded build, the /url subpath and the embedded
// build inside a module Web Worker, loaded as ES modules from the static server
// (tests/runtimes/pages/conformance.html).
//   node tests/runtimes/chromium.test.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withBrowser } from './browser.mjs';
import { formatResult } from './conformance-cases.js';
import { smallConfig, randomCheckpoint, randomIds } from '../model/checkpoint.js';
import { referenceMaskedLM } from '../model/reference.js';

// A checkpoint directory the page fetches by URL (fromPretrained), and the float64 logits it must give.
const ckptDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts', 'checkpoint');
{
  const config = smallConfig({ num_landmarks: 4 });
  const { bytes, weights } = randomCheckpoint(config, { head: 'mlm', dtype: 'BF16', seed: 21 });
  const ids = randomIds(config, 2, 16, 4);
  const attentionMask = [Array(16).fill(1), [...Array(12).fill(1), 0, 0, 0, 0]];
  mkdirSync(ckptDir, { recursive: true });
  writeFileSync(join(ckptDir, 'config.json'), JSON.stringify(config));
  writeFileSync(join(ckptDir, 'model.safetensors'), bytes);
  writeFileSync(join(ckptDir, 'expected.json'), JSON.stringify({ ids, attentionMask, logits: Array.from(referenceMaskedLM(weights, config, ids, { attentionMask }).logits) }));
}

let failed = 0, passed = 0;
const builds = new Set();
await withBrowser(async ({ server, newPage }) => {
  const page = await newPage();
  await page.goto(`${server.url}/tests/runtimes/pages/conformance.html`);
  await page.waitForFunction(() => window.__conformance, null, { timeout: 30000 });
  const results = await page.evaluate(() => window.__conformance);
  const version = page.context().browser()?.version() ?? 'chromium';
  for (const kind of ['embedded', 'url', 'worker']) {
    console.log(formatResult(`chromium ${version} (${kind})`, results[kind]));
    passed += results[kind].passed;
    failed += results[kind].failed;
    builds.add(results[kind].build);
  }
  if (!results.crossOriginIsolated) { failed++; console.log('FAIL page is not crossOriginIsolated (COOP/COEP headers)'); } else passed++;
  if (page.errors.length) { failed++; console.log(`FAIL console errors:\n  ${page.errors.join('\n  ')}`); } else passed++;
  // The pool: threads on the cross-origin-isolated page, the calling thread (and why) on one that is not.
  const expectPool = (label, r, threads, reason) => {
    console.log(formatResult(`chromium ${version} (${label}: ${r.threads} threads${r.reason ? `, ${r.reason}` : ''})`, r));
    passed += r.passed;
    failed += r.failed;
    const ok = r.threads === threads && (reason ? reason.test(r.reason ?? '') : r.reason === undefined);
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}: ${r.threads} threads (expected ${threads})`);
    if (ok) passed++; else failed++;
  };
  expectPool('pool, isolated', results.pool, 2);
  // The model, fetched by URL with progress, against the float64 reference.
  const m = await page.evaluate(async () => {
    const api = await import('/dist/index.js');
    const base = new URL('/tests/artifacts/checkpoint/', location.href);
    const expected = await (await fetch(new URL('expected.json', base))).json();
    let progress = 0;
    const model = await api.NystromformerForMaskedLM.fromPretrained(base, { onProgress: (p) => { if (p.file === 'model.safetensors') progress = p.loaded; } });
    const { logits } = model.forward(expected.ids, { attentionMask: expected.attentionMask });
    model.dispose();
    let num = 0, den = 0;
    for (let i = 0; i < expected.logits.length; i++) { num += (logits[i] - expected.logits[i]) ** 2; den += expected.logits[i] ** 2; }
    return { err: Math.sqrt(num / den), progress };
  });
  const okModel = m.err <= 1e-5 && m.progress > 0;
  console.log(`${okModel ? 'ok  ' : 'FAIL'} model fetched by URL (fromPretrained, BF16 checkpoint): MaskedLM logits rel err ${m.err.toExponential(2)}, ${m.progress} bytes reported`);
  if (okModel) passed++; else failed++;
  const plain = await newPage();
  await plain.goto(`${server.url}/tests/runtimes/pages/conformance.html?no-isolation`);
  await plain.waitForFunction(() => window.__conformance, null, { timeout: 30000 });
  const r2 = await plain.evaluate(() => window.__conformance);
  if (r2.crossOriginIsolated) { failed++; console.log('FAIL the ?no-isolation page is cross-origin isolated'); } else passed++;
  expectPool('pool, not isolated', r2.pool, 1, /cross-origin isolated/);
});
console.log(`build: ${[...builds].join('/')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
