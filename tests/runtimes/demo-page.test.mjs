// examples/browser (the attention-map demo) in headless Chromium: it loads without console errors,
// the three heatmaps are not blank, changing the landmark count redraws, pasted inputs run and
// malformed ones are reported on the page. Saves a screenshot to tests/artifacts/demo.png.
//   node tests/runtimes/demo-page.test.mjs
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withBrowser } from './browser.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const artifacts = join(root, 'tests', 'artifacts');
let passed = 0, failed = 0, build = 'none';
const report = (ok, name, msg = '') => { ok ? passed++ : failed++; console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${msg ? ': ' + msg : ''}`); };
const CANVASES = ['exact', 'nystrom', 'error'];

/**
 * Per canvas: size and luminance variance. The pixels stay in the page (window.__snapshots[tag])
 * so before/after comparisons need not ship them to Node.
 */
const readCanvases = (page, tag) => page.evaluate(([ids, tag]) => {
  window.__snapshots = window.__snapshots || {};
  const snap = (window.__snapshots[tag] = {});
  return ids.map((id) => {
    const c = document.getElementById(id);
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    snap[id] = px;
    let s = 0, s2 = 0;
    for (let i = 0; i < px.length; i += 4) {
      const y = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
      s += y; s2 += y * y;
    }
    const count = px.length / 4, mean = s / count;
    return { id, w: c.width, h: c.height, variance: s2 / count - mean * mean };
  });
}, [CANVASES, tag]);

/** Fraction of pixels of canvas id that differ between two snapshots. */
const changedFraction = (page, id, a, b) => page.evaluate(([id, a, b]) => {
  const x = window.__snapshots[a][id], y = window.__snapshots[b][id];
  if (x.length !== y.length) return 1;
  let changed = 0;
  for (let i = 0; i < x.length; i += 4) if (x[i] !== y[i] || x[i + 1] !== y[i + 1] || x[i + 2] !== y[i + 2]) changed++;
  return changed / (x.length / 4);
}, [id, a, b]);

const waitRuns = (page, count) => page.waitForFunction((c) => Number(document.body.dataset.runs || 0) >= c, count, { timeout: 30000 });

await withBrowser(async ({ server, newPage }) => {
  const page = await newPage();
  try {
    await checks(server, page);
  } catch (e) {
    report(false, 'demo page', String(e && e.message || e).split('\n').slice(0, 6).join(' | '));
  }
  report(page.errors.length === 0, 'no console errors', page.errors.join(' | '));
});
console.log(`build: ${build}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

async function checks(server, page) {
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.goto(server.pageUrl); // `/` of the server redirects to examples/browser/
  await waitRuns(page, 1);
  build = await page.evaluate(() => window.demo.build);
  const statusText = await page.textContent('#status');
  report(!(await page.$eval('#status', (e) => e.classList.contains('error'))), 'first run', statusText);
  const first = await readCanvases(page, 'first');
  for (const c of first) report(c.w > 0 && c.variance > 20, `canvas ${c.id} not blank`, `${c.w}×${c.h}, luminance variance ${c.variance.toFixed(0)}`);
  const last = await page.evaluate(() => window.demo.last);
  report(last.matRel > 0 && last.matRel < 1, 'relative error shown', `matrix ${last.matRel.toExponential(2)}, output ${last.outRel.toExponential(2)}; ${last.exactMs.toFixed(2)} ms exact, ${last.nysMs.toFixed(2)} ms Nyström`);
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'demo.png'), fullPage: true });
  report(true, 'screenshot', 'tests/artifacts/demo.png');

  // Changing the landmark count redraws the approximation and the error map.
  await page.evaluate(() => { const m = document.getElementById('m'); m.value = '8'; m.dispatchEvent(new Event('change')); });
  await waitRuns(page, 2);
  await readCanvases(page, 'second');
  for (const id of ['nystrom', 'error']) {
    const changed = await changedFraction(page, id, 'first', 'second');
    report(changed > 0.01, `landmarks 32 → 8 redraws ${id}`, `${(100 * changed).toFixed(1)}% of pixels changed`);
  }
  const m8 = await page.evaluate(() => window.demo.last);
  report(m8.m === 8 && m8.matRel > last.matRel, 'fewer landmarks, larger error', `${last.matRel.toExponential(2)} → ${m8.matRel.toExponential(2)}`);

  // The largest size: the maps are mean-pooled to 512 pixels.
  await page.selectOption('#n', '1024');
  await waitRuns(page, 3);
  const big = await readCanvases(page, 'big');
  const bigLast = await page.evaluate(() => window.demo.last);
  report(big.every((c) => c.w === 512 && c.variance > 20), 'n 1024 pooled to 512 px', `exact ${bigLast.exactMs.toFixed(1)} ms, Nyström ${bigLast.nysMs.toFixed(1)} ms, rel ${bigLast.matRel.toExponential(2)}`);

  // Pasted inputs: the current inputs round-trip through the JSON box; malformed JSON is reported.
  await page.selectOption('#n', '64');
  await waitRuns(page, 4);
  await page.click('#paste-box summary');
  await page.click('#fill');
  await page.selectOption('#inputs', 'paste');
  await waitRuns(page, 5);
  const pasted = await page.evaluate(() => ({ last: window.demo.last, error: document.getElementById('status').classList.contains('error') }));
  report(!pasted.error && pasted.last.n === 64, 'pasted inputs run', `n ${pasted.last.n}, d ${pasted.last.d}`);
  await page.fill('#paste', '{"q": [[1, 2], [3]], "k": []}');
  await page.click('#run');
  await page.waitForFunction(() => document.getElementById('status').classList.contains('error'), null, { timeout: 10000 });
  report(true, 'malformed paste reported', await page.textContent('#status'));
}
