// examples/worker in headless Chromium: the worker's result equals the main thread's, the sent
// buffers are detached by the transfer, and an error in the worker comes back as a message.
//   node tests/runtimes/worker.test.mjs
import { withBrowser } from './browser.mjs';

let passed = 0, failed = 0, build = 'none';
const report = (ok, name, msg = '') => { ok ? passed++ : failed++; console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${msg ? ': ' + msg : ''}`); };

await withBrowser(async ({ server, newPage }) => {
  const page = await newPage();
  await page.goto(`${server.url}/examples/worker/index.html`);
  await page.waitForFunction(() => window.workerDemo, null, { timeout: 20000 });
  for (const args of [{ shape: [1, 4, 512, 64], landmarks: 32 }, { shape: [2, 2, 100, 24], landmarks: 16, style: 'lucidrains' }]) {
    const r = await page.evaluate((a) => window.workerDemo.check(a), args);
    const name = `worker ${args.shape.join('x')} m${args.landmarks}`;
    if (r.error) { report(false, name, r.error); continue; }
    build = r.workerBuild;
    report(r.length === r.expectedLength && r.maxAbsDiff === 0, `${name} equals main thread`, `max |diff| ${r.maxAbsDiff}, ${r.length} floats`);
    report(r.detached.every((x) => x === 0), `${name} sent buffers detached`, `byteLength ${r.detached.join(', ')}`);
    report(r.workerBuild === r.mainBuild, `${name} same build`, `${r.workerBuild} / ${r.mainBuild}`);
  }
  const err = await page.evaluate(() => window.workerDemo.checkError());
  report(!!err && /RangeError|TypeError/.test(err.name ?? '') , 'error in worker is reported', err ? `${err.name}: ${err.message}` : 'none');
  await page.click('#run');
  await page.waitForFunction(() => !/running|press/.test(document.getElementById('log').textContent), null, { timeout: 20000 });
  const text = await page.textContent('#log');
  report(/max \|worker − main\| = 0\b/.test(text), 'Run button', text.split('\n')[0]);
  report(page.errors.length === 0, 'no console errors', page.errors.join(' | '));
});
console.log(`build: ${build}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
