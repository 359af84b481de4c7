// Where an attention call's time goes, measured. The call runs on a profile build of the same kernels
// (`node scripts/build-wasm.mjs --profile`, built here when missing): every kernel times its own work
// with the host's clock, exclusive of the kernels it calls (assembly/profile.ts), while this script
// times the copies of q, k, v into wasm memory and of the result out. Parts: copies, scan (the
// finiteness checks of the inputs and the result), gemm (packing included), softmax/exp, landmarks
// (segment means), pinv (the iteration's own work; its products are gemm), conv, other (the rest: the
// context, bookkeeping, what no kernel brackets). The shipped build's time for the same call is
// measured alternately, to show what the timing itself costs.
//   node [--experimental-wasm-relaxed-simd] bench/breakdown.mjs [--n 1024,4096] [--d 64] [--m 64] [--reps 9]
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ENUMS } from '../scripts/abi.mjs';

try { v8.setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (f) => import(pathToFileURL(path.join(root, 'dist', f)).href);
const [{ Engine }, { layoutCall, setupCall, checkResult, readOutput }, { checkCall }, lib] =
  await Promise.all([dist('engine.js'), dist('attention.js'), dist('validate.js'), dist('index.js')]);

/** The parts, in print order. */
export const PARTS = ['copies', 'scan', 'gemm', 'softmax', 'landmarks', 'pinv', 'conv', 'other'];

const modules = new Map();
function profileModule(build) {
  if (!modules.has(build)) {
    const file = path.join(root, 'build', `nystrom.${build}-profile.wasm`);
    const shipped = path.join(root, 'build', `nystrom.${build}.wasm`);
    // Built when missing or older than the shipped build (the kernels changed since).
    if (!fs.existsSync(file) || (fs.existsSync(shipped) && fs.statSync(file).mtimeMs < fs.statSync(shipped).mtimeMs)) {
      const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-wasm.mjs'), '--profile'], { cwd: root, stdio: 'inherit' });
      if (r.status !== 0) throw new Error('could not build the profile builds (node scripts/build-wasm.mjs --profile)');
    }
    modules.set(build, new WebAssembly.Module(fs.readFileSync(file)));
  }
  return modules.get(build);
}

function rand(len, seed) {
  let s = seed >>> 0;
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) { s = (s * 1103515245 + 12345) >>> 0; a[i] = (s / 2 ** 32 - 0.5) * 2; }
  return a;
}

/**
 * One attention call (one head unless `shape` says otherwise) on `build`: the mean ms per call of the
 * whole (copies included) and of each part, and the shipped build's median ms for the same call.
 */
export function breakdown({ kind, n, d = 64, m = 64, build = 'simd', reps = 9, shape = [1, 1, n, d] }) {
  const len = shape.reduce((a, b) => a * b, 1);
  const q = rand(len, 1), k = rand(len, 2), v = rand(len, 3);
  const call = kind === 'nystrom' ? 'nystromAttention' : 'softmaxAttention';
  // The result goes into a caller's array, as in the bench's rows (a fresh array per call would time
  // the allocator's page faults, not the copy).
  const out = new Float32Array(len);
  const options = kind === 'nystrom' ? { shape, landmarks: m, out } : { shape, out };
  const e = new Engine(profileModule(build), build);
  const c = checkCall(call, kind, [[q, 'q'], [k, 'k'], [v, 'v']], options, (x) => x.B * x.H * x.n * x.d);
  const M = layoutCall(e, kind, c, 'attention');
  const prev = lib.activeBuild();
  lib.selectBuild(build);
  const names = ENUMS.PROF;
  const sum = Object.fromEntries(PARTS.map((p) => [p, 0]));
  let total = 0;
  const shipped = [];
  try {
    for (let r = -2; r < reps; r++) { // two warm-up rounds
      e.k.profileReset();
      const t0 = performance.now();
      e.writeAll([[q, M.q], [k, M.k], [v, M.v]]);
      const t1 = performance.now();
      setupCall(e, kind, c, M);
      e.k.attention(M.ctx);
      checkResult(e, c, M);
      const t2 = performance.now();
      readOutput(e, c, M);
      const t3 = performance.now();
      const s0 = performance.now();
      lib[call](q, k, v, options);
      const s1 = performance.now();
      if (r < 0) continue;
      shipped.push(s1 - s0);
      total += t3 - t0;
      sum.copies += t1 - t0 + (t3 - t2);
      const times = new Float64Array(e.buffer, e.k.profileTimes(), names.length);
      let kernels = 0;
      names.forEach((name, i) => {
        kernels += times[i];
        sum[name] += times[i];
      });
      sum.other += t2 - t1 - kernels;
    }
  } finally {
    lib.selectBuild(prev);
    e.dispose();
  }
  shipped.sort((a, b) => a - b);
  const parts = Object.fromEntries(PARTS.map((p) => [p, sum[p] / reps]));
  return { kind, n, d, m: kind === 'nystrom' ? m : undefined, build, ms: total / reps, parts, shippedMs: shipped[shipped.length >> 1] };
}

/** "gemm 61 % · softmax 22 % · …" (parts under 0.5 % left out). */
export function formatParts(r) {
  return PARTS.filter((p) => r.parts[p] / r.ms >= 0.005)
    .map((p) => `${p === 'softmax' ? 'softmax/exp' : p} ${((100 * r.parts[p]) / r.ms).toFixed(0)} %`).join(' · ');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : dflt;
  };
  const ns = arg('n', '1024,4096').split(',').map(Number);
  const d = Number(arg('d', '64')), m = Number(arg('m', '64')), reps = Number(arg('reps', '9'));
  const builds = ['simd'];
  try { lib.selectBuild('relaxed'); builds.push('relaxed'); lib.selectBuild('simd'); } catch { /* no relaxed SIMD here */ }
  for (const build of builds) {
    for (const kind of ['nystrom', 'softmax']) {
      for (const n of ns) {
        const r = breakdown({ kind, n, d, m, build, reps: kind === 'softmax' && n > 2048 ? Math.min(reps, 3) : reps });
        console.log(`${kind === 'nystrom' ? `Nyström m=${m}` : 'exact'} n=${n} d=${d} (${build}): ${r.ms.toFixed(2)} ms timed (shipped build ${r.shippedMs.toFixed(2)} ms) — ${formatParts(r)}`);
      }
    }
  }
}
