// The package as users get it: `npm pack` (of the already built dist/), installed from the
// tarball into a fresh project in a temp dir (offline: the package has no dependencies), then
// imported by name — 'nystrom-wasm' and 'nystrom-wasm/url' — and run on the conformance cases.
// Also checks the tarball's file list and that the published types compile against the exports map.
//   node tests/runtimes/tarball.test.mjs        (after npm run build)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let passed = 0, failed = 0, build = 'none';
const report = (ok, name, msg = '') => { ok ? passed++ : failed++; console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${msg ? ': ' + msg : ''}`); };
// Under `npm test` PATH starts with node_modules/.bin, where a dependency of as-pect installs an old
// npm (6.x) that cannot pack into a directory: use the npm that runs us (npm_execpath), else PATH's.
const npmCli = process.env.npm_execpath;
const npmCmd = npmCli && /npm-cli\.js$/.test(npmCli)
  ? [process.execPath, npmCli]
  : [process.platform === 'win32' ? 'npm.cmd' : 'npm'];
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', timeout: 90000, stdio: ['ignore', 'pipe', 'pipe'] });
const npm = (args, cwd) => run(npmCmd[0], [...npmCmd.slice(1), ...args], cwd);

const tmp = mkdtempSync(join(tmpdir(), 'nystrom-tarball-'));
try {
  if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/index.js is missing: run `npm run build` first');
  const packDir = join(tmp, 'pack');
  const app = join(tmp, 'app');
  mkdirSync(packDir);
  mkdirSync(app);
  // --ignore-scripts: prepack would rebuild; the caller has just built.
  const [info] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], root));
  const files = info.files.map((f) => f.path);
  report(true, 'npm pack', `${info.filename}, ${files.length} files, ${(info.size / 1024).toFixed(0)} kB`);
  const need = ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/url.js', 'dist/url.d.ts', 'dist/wasm/nystrom.simd.wasm', 'dist/wasm/nystrom.relaxed.wasm'];
  const missing = need.filter((f) => !files.includes(f));
  report(missing.length === 0, 'tarball has dist, types and both .wasm', missing.length ? `missing ${missing.join(', ')}` : '');
  const stray = files.filter((f) => /^(src|assembly|tests|bench|examples|scripts|build|node_modules)\//.test(f));
  report(stray.length === 0, 'tarball has no sources or tests', stray.slice(0, 5).join(', '));

  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'tarball-app', private: true, type: 'module' }, null, 2));
  npm(['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--cache', join(tmp, 'cache'), join(packDir, info.filename)], app);
  report(existsSync(join(app, 'node_modules', 'nystrom-wasm', 'dist', 'index.js')), 'npm install from the tarball (offline)');

  const cases = pathToFileURL(join(root, 'tests', 'runtimes', 'conformance-cases.js')).href;
  writeFileSync(join(app, 'main.mjs'), `
import * as embedded from 'nystrom-wasm';
import * as byUrl from 'nystrom-wasm/url';
import { runCases } from ${JSON.stringify(cases)};
const resolved = import.meta.resolve('nystrom-wasm');
await byUrl.init();
const a = runCases(embedded), b = runCases(byUrl);
console.log(JSON.stringify({ resolved, embedded: a, url: b }));
`);
  const out = JSON.parse(run(process.execPath, ['main.mjs'], app).trim().split('\n').pop());
  report(out.resolved.includes('/node_modules/nystrom-wasm/dist/index.js'), "'nystrom-wasm' resolves into node_modules", out.resolved.replace(pathToFileURL(tmp).href, '<tmp>'));
  for (const kind of ['embedded', 'url']) {
    const r = out[kind];
    build = r.build;
    for (const d of r.details.filter((x) => !x.ok)) console.log(`FAIL   ${kind} ${d.name}: ${d.message}`);
    report(r.failed === 0, `import ${kind === 'url' ? "'nystrom-wasm/url'" : "'nystrom-wasm'"}: cases`, `${r.passed} passed, ${r.failed} failed, build ${r.build}`);
  }

  // The published types, through the exports map, as a TypeScript user sees them.
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  if (existsSync(tsc)) {
    writeFileSync(join(app, 'check.ts'), `
import { nystromAttention, softmaxAttention, createAttention, activeBuild } from 'nystrom-wasm';
import { init } from 'nystrom-wasm/url';
import type { NystromAttentionOptions, BuildName } from 'nystrom-wasm';
const options: NystromAttentionOptions = { shape: [1, 1, 8, 4], landmarks: 4, style: 'hf' };
const x = new Float32Array(32);
const out: Float32Array = nystromAttention(x, x, x, options);
const ex: Float32Array = softmaxAttention(x, x, x, { shape: [1, 1, 8, 4] });
const plan = createAttention({ ...options, kind: 'nystrom' });
const b: BuildName = activeBuild();
const ready: Promise<unknown> = init();
export { out, ex, plan, b, ready };
`);
    try {
      run(tsc, ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', 'check.ts'], app);
      report(true, 'types compile against the installed package (tsc, nodenext)');
    } catch (e) {
      report(false, 'types compile against the installed package (tsc, nodenext)', `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(0, 8).join(' | '));
    }
  }
} catch (e) {
  report(false, 'tarball', `${e.message}${e.stderr ? '\n' + e.stderr : ''}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`build: ${build}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
