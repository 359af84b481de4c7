// The portable benchmark command (`nystrom-wasm-bench`, dist/cli/bench.js) under Node, Bun and Deno:
// `--quick --json` prints a result with every case measured for 1 and 2 threads.
//   node tests/runtimes/bench-cli.test.mjs
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = (name) => join(root, 'tests', 'runtimes', 'node_modules', '.bin', name);
const cli = join(root, 'dist', 'cli', 'bench.js');
let passed = 0, failed = 0;
const report = (ok, name, msg = '') => { ok ? passed++ : failed++; console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${msg ? ': ' + msg : ''}`); };

for (const [label, cmd, args] of [
  ['node', process.execPath, [cli]],
  ['bun', bin('bun'), [cli]],
  ['deno --allow-read', bin('deno'), ['run', '--no-prompt', '--allow-read', cli]],
]) {
  const r = spawnSync(cmd, [...args, '--quick', '--json', '--threads', '1,2'], { cwd: root, encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0) { report(false, `${label}: exit ${r.status}`, (r.stderr || '').trim().split('\n').slice(-3).join(' | ')); continue; }
  let res;
  try {
    res = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
  } catch (e) {
    report(false, `${label}: JSON`, e.message);
    continue;
  }
  report(typeof res.build === 'string' && res.cores >= 1, `${label}: build ${res.build}, ${res.cores} cores, ${res.runtime}`);
  report(res.threads.includes(1) && res.threads.includes(2), `${label}: threads 1 and 2 measured`, JSON.stringify(res.threads) + (res.notes?.length ? ` ${res.notes.join('; ')}` : ''));
  const cases = new Set(res.rows.map((x) => `${x.case} ${x.n ?? ''}`));
  const complete = [...cases].every((c) => res.rows.filter((x) => `${x.case} ${x.n ?? ''}` === c).length === res.threads.length);
  report(cases.size >= 4 && complete && res.rows.every((x) => x.ms > 0), `${label}: ${cases.size} cases × ${res.threads.length} thread counts`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
