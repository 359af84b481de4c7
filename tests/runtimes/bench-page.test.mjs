// examples/bench (the device benchmark page) in headless Chromium, served cross-origin isolated:
// a quick run fills the table with every case for 1 and 2 threads, the plot is drawn, no console errors.
//   node tests/runtimes/bench-page.test.mjs
import { withBrowser } from './browser.mjs';

let passed = 0, failed = 0, build = 'none';
const report = (ok, name, msg = '') => { ok ? passed++ : failed++; console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${msg ? ': ' + msg : ''}`); };

await withBrowser(async ({ server, newPage }) => {
  const page = await newPage();
  await page.goto(`${server.url}/examples/bench/?quick`);
  await page.waitForFunction(() => window.__bench, null, { timeout: 60000 });
  const r = await page.evaluate(() => window.__bench);
  report(!r.error, 'the benchmark ran', r.error ?? '');
  if (r.error) return;
  build = r.build;
  report(r.threads.includes(1) && r.threads.includes(2), 'threads 1 and 2 measured (the page is cross-origin isolated)', JSON.stringify(r.threads));
  const cases = new Set(r.rows.map((x) => `${x.case}${x.n ? ` n=${x.n}` : ''}`));
  for (const c of cases) {
    const cells = r.rows.filter((x) => `${x.case}${x.n ? ` n=${x.n}` : ''}` === c);
    report(cells.length === r.threads.length && cells.every((x) => x.ms > 0 && Number.isFinite(x.ms)), `row ${c}`, cells.map((x) => x.ms.toFixed(2)).join(' / '));
  }
  const table = await page.evaluate(() => document.querySelectorAll('#table tr').length);
  report(table === cases.size + 1, 'the table has a row per case', String(table));
  const inked = await page.evaluate(() => {
    const c = document.getElementById('plot');
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < px.length; i += 4) if (px[i]) n++;
    return n;
  });
  report(inked > 500, 'the plot is drawn', `${inked} pixels`);
  report(page.errors.length === 0, 'no console errors', page.errors.join('; '));
});
console.log(`build: ${build}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
