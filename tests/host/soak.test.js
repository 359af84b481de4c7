// Soak, short: tests/fuzz/soak.mjs in a child process (node --expose-gc, this build's flags) —
// SOAK_CALLS (1000) one-shot calls of mixed shapes and both layouts, SOAK_PLANS (300) attention and
// matmul plans created, run and disposed, two huge one-shot calls (~300 MB of wasm memory each, past
// the 256 MiB retention threshold) and release() calls, with RSS sampled after collection. Asserts
// the soak's checks: final RSS ≤ initial + 2 × the largest plan's memoryBytes + 150 MB; no upward
// trend over the second half (≤ 48 MB projected, and between the quarter medians); each huge call's
// memory back within 100 MB once collected; every output finite and the reference calls (one-shot
// and two plans alive the whole run) bit-identical. The full run:
//   node --expose-gc tests/fuzz/soak.mjs --calls 10000 --plans 3000
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tag, BUILD } from './helpers.js';

const SOAK = fileURLToPath(new URL('../fuzz/soak.mjs', import.meta.url));
const CALLS = Number(process.env.SOAK_CALLS ?? 1000);
const PLANS = Number(process.env.SOAK_PLANS ?? 300);
const MB = 2 ** 20;

test(tag(`soak: ${CALLS} one-shot calls, ${PLANS} plans, 2 huge calls, release(): RSS bounded, no upward trend`), { timeout: 240000 }, async (t) => {
  const flags = process.execArgv.filter((a) => !a.startsWith('--test') && a !== '--expose-gc');
  const args = ['--expose-gc', ...flags, SOAK, '--calls', String(CALLS), '--plans', String(PLANS), '--big', '2', '--samples', '30', '--json'];
  const { error, stdout, stderr, ms } = await new Promise((resolve) => {
    const started = performance.now();
    execFile(process.execPath, args, { timeout: 200000, killSignal: 'SIGKILL', maxBuffer: 1 << 26 },
      (e, out, err) => resolve({ error: e, stdout: out, stderr: err, ms: performance.now() - started }));
  });
  let s;
  try {
    s = JSON.parse(stdout.trim().split('\n').pop());
  } catch {
    assert.fail(`the soak child did not finish (${error?.signal ?? error?.code ?? 'no JSON'} after ${(ms / 1000).toFixed(1)} s) [${BUILD}]\n${stderr.slice(-10000)}`);
  }
  assert.equal(s.build, BUILD, 'the child ran the same build');
  const f = (b) => `${(b / MB).toFixed(1)} MB`;
  t.diagnostic(`build=${BUILD} ${s.calls} calls, ${s.counts.plans.attention} attention + ${s.counts.plans.matmul} matmul plans, ${s.counts.big} big, ${s.counts.releases} release() in ${s.seconds.toFixed(1)} s`);
  t.diagnostic(`RSS initial ${f(s.rss.initial)} peak ${f(s.rss.peak)} final ${f(s.rss.final)} after release ${f(s.rss.afterRelease)}; largest plan ${f(s.largestPlan.bytes)}; bound ${f(s.bound)}; trend ${s.trend.projectedMB.toFixed(1)} MB / ${s.trend.quarterRiseMB.toFixed(1)} MB`);
  const failed = s.checks.filter((c) => !c.ok);
  assert.equal(failed.length, 0, `soak checks failed [${BUILD}]:\n${failed.map((c) => `${c.name}: ${c.detail}`).join('\n')}\nRSS series (step, MB): ${s.series.map(([st, r]) => `${st}:${(r / MB).toFixed(0)}`).join(' ')}`);
  assert.equal(s.counts.errors, 0, 'no call of the soak threw');
});
