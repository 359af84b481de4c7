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
});
console.log(`build: ${[...builds].join('/')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
