// Runs every runtime test in sequence (after `npm run build`), prints a summary table and a last
// line `N passed, N failed`; exits 1 on any failure.
//   node tests/runtimes/run-all.mjs [--verbose] [--only node,deno,...]
// Each runner prints `build: <name>` and `N passed, N failed`; a runner that crashes, times out or
// prints no summary counts as one failure.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = (name) => join(root, 'tests', 'runtimes', 'node_modules', '.bin', name);
const node = process.execPath;
const nodeMajor = Number(process.versions.node.split('.')[0]);
const argv = process.argv.slice(2);
const verbose = argv.includes('--verbose');
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? argv[onlyAt + 1].split(',') : null;

// Relaxed SIMD is on by default from Node 22; Node 20 needs the V8 flag. Deno 2.9 and Bun 1.4
// (the devDependencies) have it on by default, so they must pick the relaxed build; Chromium's
// build is reported, not asserted (it comes from the system package).
const plainNodeBuild = nodeMajor >= 22 ? 'relaxed' : 'simd';
const RUNNERS = [
  { name: 'node', label: `node ${process.version}`, cmd: node, args: ['tests/runtimes/run-embedded.js', '--expect', plainNodeBuild] },
  { name: 'node-relaxed', label: 'node --experimental-wasm-relaxed-simd', cmd: node, args: ['--experimental-wasm-relaxed-simd', 'tests/runtimes/run-embedded.js', '--expect', 'relaxed'] },
  { name: 'node-url', label: 'node, /url subpath', cmd: node, args: ['tests/runtimes/run-url.js', '--expect', plainNodeBuild] },
  { name: 'deno', label: 'deno, no permissions', cmd: bin('deno'), args: ['run', '--no-prompt', 'tests/runtimes/run-embedded.js', '--expect', 'relaxed'] },
  { name: 'deno-url', label: 'deno --allow-read, /url', cmd: bin('deno'), args: ['run', '--no-prompt', '--allow-read', 'tests/runtimes/run-url.js', '--expect', 'relaxed'] },
  { name: 'bun', label: 'bun', cmd: bin('bun'), args: ['tests/runtimes/run-embedded.js', '--expect', 'relaxed'] },
  { name: 'bun-url', label: 'bun, /url subpath', cmd: bin('bun'), args: ['tests/runtimes/run-url.js', '--expect', 'relaxed'] },
  { name: 'node-pool', label: 'node, worker pool', cmd: node, args: ['tests/runtimes/run-pool.js', '--expect-threads', '2'] },
  { name: 'deno-pool', label: 'deno --allow-read, worker pool', cmd: bin('deno'), args: ['run', '--no-prompt', '--allow-read', 'tests/runtimes/run-pool.js', '--expect-threads', '2'] },
  { name: 'deno-pool-1', label: 'deno, no permissions: pool falls back', cmd: bin('deno'), args: ['run', '--no-prompt', 'tests/runtimes/run-pool.js', '--expect-threads', '1'] },
  { name: 'bun-pool', label: 'bun, worker pool', cmd: bin('bun'), args: ['tests/runtimes/run-pool.js', '--expect-threads', '2'] },
  { name: 'chromium', label: 'chromium (embedded + /url)', cmd: node, args: ['tests/runtimes/chromium.test.mjs'] },
  { name: 'worker', label: 'chromium Web Worker', cmd: node, args: ['tests/runtimes/worker.test.mjs'] },
  { name: 'edge', label: 'edge handler (Deno.serve)', cmd: node, args: ['tests/runtimes/edge.test.mjs'] },
  { name: 'edge-model', label: 'model edge handler (Node, Deno.serve)', cmd: node, args: ['tests/runtimes/edge-model.test.mjs'] },
  { name: 'tarball', label: 'npm pack + install', cmd: node, args: ['tests/runtimes/tarball.test.mjs'] },
  { name: 'demo', label: 'demo page (chromium)', cmd: node, args: ['tests/runtimes/demo-page.test.mjs'] },
  { name: 'bench-page', label: 'device bench page (chromium)', cmd: node, args: ['tests/runtimes/bench-page.test.mjs'] },
  { name: 'bench-cli', label: 'nystrom-wasm-bench (node, bun, deno)', cmd: node, args: ['tests/runtimes/bench-cli.test.mjs'] },
].filter((r) => !only || only.includes(r.name));

const TIMEOUT_MS = 90000;

// Runners that need something a machine may lack. Without it the runner is skipped with one line,
// except under CI=true, where a missing runtime is a failure.
const BROWSER = new Set(['chromium', 'worker', 'demo', 'bench-page']);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ci = process.env.CI === 'true';
const PLAYWRIGHT = join(root, 'tests', 'runtimes', 'node_modules', 'playwright-core');
function missing(r) {
  if (!existsSync(r.cmd)) return `${r.cmd} is not installed (npm run runtimes:install)`;
  if (BROWSER.has(r.name) && !existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}`;
  if (BROWSER.has(r.name) && !existsSync(PLAYWRIGHT)) return 'playwright-core is not installed (npm run runtimes:install)';
  if ((r.name === 'edge' || r.name === 'bench-cli') && !existsSync(bin('deno'))) return 'deno is not installed (npm run runtimes:install)';
  if (r.name === 'bench-cli' && !existsSync(bin('bun'))) return 'bun is not installed (npm run runtimes:install)';
  return null;
}

/** Runs one runner with a bounded time; resolves { code, out, ms }. */
function runOne(r) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    if (!existsSync(r.cmd)) return resolve({ code: -1, out: `missing executable ${r.cmd} (npm install?)`, ms: 0 });
    const child = spawn(r.cmd, r.args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    child.stdout.on('data', (b) => { out += b; });
    child.stderr.on('data', (b) => { out += b; });
    const timer = setTimeout(() => { out += `\ntimed out after ${TIMEOUT_MS / 1000} s`; child.kill('SIGKILL'); }, TIMEOUT_MS);
    child.on('error', (e) => { out += `\n${e.message}`; });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code: code ?? signal, out, ms: Date.now() - t0 }); });
  });
}

if (!existsSync(join(root, 'dist', 'index.js'))) {
  console.error('dist/index.js is missing: run `npm run build` first');
  process.exit(1);
}

const rows = [];
const skipped = [];
for (const r of RUNNERS) {
  const why = missing(r);
  if (why && !ci) {
    console.log(`${r.name} … skipped: ${why}`);
    skipped.push(r.label);
    rows.push({ runtime: r.label, build: 'skipped', passed: 0, failed: 0, seconds: '0.0' });
    continue;
  }
  process.stdout.write(`${r.name} … `);
  const { code, out, ms } = await runOne(r);
  const sums = [...out.matchAll(/^(\d+) passed, (\d+) failed\s*$/gm)];
  const builds = [...out.matchAll(/^build: (\S+)\s*$/gm)];
  let passed = 0, failed = 1;
  if (sums.length) {
    const last = sums[sums.length - 1];
    passed = Number(last[1]);
    failed = Number(last[2]) + (code === 0 ? 0 : Number(last[2]) ? 0 : 1);
  }
  const pool = /^pool: (\d+) threads/m.exec(out);
  const row = { runtime: r.label, build: builds.length ? builds[builds.length - 1][1] + (pool ? ` ×${pool[1]}` : '') : '-', passed, failed, seconds: (ms / 1000).toFixed(1) };
  rows.push(row);
  console.log(`${failed ? 'FAIL' : 'ok'} (${row.seconds} s)`);
  if (verbose || failed) {
    const lines = out.trimEnd().split('\n');
    const shown = verbose ? lines : lines.filter((l) => !l.startsWith('ok  ')).slice(-40);
    console.log(shown.map((l) => `    ${l}`).join('\n'));
  }
}

const cols = ['runtime', 'build', 'passed', 'failed', 'seconds'];
const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
const line = (vals) => vals.map((v, i) => (i === 0 ? String(v).padEnd(width[i]) : String(v).padStart(width[i]))).join('  ');
console.log('\n' + line(cols));
console.log(width.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(cols.map((c) => r[c])));
const passed = rows.reduce((s, r) => s + r.passed, 0);
const failed = rows.reduce((s, r) => s + r.failed, 0);
if (skipped.length) console.log(`\nskipped (not on this machine): ${skipped.join('; ')}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
