// `npm test`: every suite, in order, each in its own process, with one summary at the end.
//  1-2. kernel tests (as-pect) on the plain and the relaxed SIMD build;
//  3-4. host tests (node:test) against the float64 reference, without flags (plain SIMD build
//       chosen) and with --experimental-wasm-relaxed-simd (relaxed build chosen);
//  5.   big calls (tests/memory/): memory planned past 2^31 bytes, once; the API reference (docs/api)
//       regenerated and compared; the bundle size of each entry against its budget;
//  6.   runtimes: Node, Deno, Bun, headless Chromium, the edge handler, the worker, the tarball.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installTools } from '../scripts/tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const asp = join(root, 'node_modules', '@as-pect', 'cli', 'bin', 'asp.js');
const node = process.execPath;
const verbose = process.env.VERBOSE === '1';

const suites = [
  { name: 'kernels (simd)', cmd: [node, asp, '--config', 'as-pect.config.js', '--as-config', 'tests/assembly/as-pect.asconfig.json'], parse: parseAsp },
  { name: 'kernels (relaxed)', cmd: [node, asp, '--config', 'as-pect.config.js', '--as-config', 'tests/assembly/as-pect.relaxed.asconfig.json'], parse: parseAsp },
  { name: 'host (simd)', cmd: [node, '--test', 'tests/host/'], parse: parseNodeTest },
  { name: 'host (relaxed)', cmd: [node, '--experimental-wasm-relaxed-simd', '--test', 'tests/host/'], parse: parseNodeTest },
  { name: 'big calls', cmd: [node, '--test', 'tests/memory/'], parse: parseNodeTest },
  { name: 'api docs current', cmd: [node, 'scripts/api-docs.mjs', '--check'], parse: parsePlain },
  { name: 'bundle size', cmd: [node, 'scripts/size.mjs'], parse: parsePlain },
];
if (existsSync(join(root, 'tests', 'runtimes', 'run-all.mjs'))) {
  suites.push({ name: 'runtimes', cmd: [node, 'tests/runtimes/run-all.mjs'], parse: parsePlain, setup: installRuntimes });
}

/**
 * The runtime tests' own dependencies (Deno, Bun, playwright-core: tests/runtimes/package.json),
 * installed here so that installing the package needs none of them. Offline, the runtime suite then
 * reports what it skipped (or fails, under CI=true).
 */
function installRuntimes() {
  installTools(join(root, 'tests', 'runtimes'));
}

function strip(s) {
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}
function parseAsp(out) {
  // "[Tests]: 7 / 7" → passed 7 of 7
  const m = /\[Tests\]:\s*(\d+)\s*\/\s*(\d+)/.exec(strip(out));
  return m ? { passed: +m[1], failed: +m[2] - +m[1] } : null;
}
function parseNodeTest(out) {
  const p = /^# pass (\d+)/m.exec(out), f = /^# fail (\d+)/m.exec(out);
  return p && f ? { passed: +p[1], failed: +f[1] } : null;
}
function parsePlain(out) {
  const all = [...strip(out).matchAll(/^(\d+) passed, (\d+) failed/gm)];
  const m = all.at(-1);
  return m ? { passed: +m[1], failed: +m[2] } : null;
}

function run(s) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(s.cmd[0], s.cmd.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    // Quiet by default: a suite's output is printed in full only when it fails (VERBOSE=1: always).
    child.stdout.on('data', (b) => { out += b; if (verbose) process.stdout.write(b); });
    child.stderr.on('data', (b) => { out += b; if (verbose) process.stderr.write(b); });
    child.on('close', (code) => resolve({ code, out, secs: (Date.now() - t0) / 1000 }));
  });
}

const rows = [];
let passed = 0, failed = 0;
for (const s of suites) {
  if (verbose) console.log(`\n=== ${s.name}: ${s.cmd.slice(1).join(' ')}`);
  s.setup?.();
  const r = await run(s);
  const counts = s.parse(r.out);
  // A suite that exits non-zero, or whose counts cannot be read, counts as a failure.
  const ok = r.code === 0 && counts !== null && counts.failed === 0;
  const p = counts?.passed ?? 0;
  const f = counts ? counts.failed + (ok || counts.failed > 0 ? 0 : 1) : 1;
  passed += p;
  failed += f;
  rows.push({ suite: s.name, passed: p, failed: f, exit: r.code, seconds: r.secs.toFixed(1) });
  console.log(`${f ? 'FAIL' : 'ok  '} ${s.name.padEnd(18)} ${p} passed, ${f} failed (${r.secs.toFixed(1)} s)`);
  if (f && !verbose) console.log(`--- ${s.name}: ${s.cmd.slice(1).join(' ')}\n${r.out.trimEnd()}\n--- end of ${s.name}`);
}
console.log('\n=== summary');
console.table(rows);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
