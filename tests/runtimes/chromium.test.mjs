// Conformance cases in headless Chromium: the embedded build, the /url subpath and the embedded
// build inside a module Web Worker, loaded as ES modules from the static server
// (tests/runtimes/pages/conformance.html).
//   node tests/runtimes/chromium.test.mjs
import { withBrowser } from './browser.mjs';
import { formatResult } from './conformance-cases.js';

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
