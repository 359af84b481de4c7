// Junk input: the error contract of every public function (tests/fuzz/junk-fuzz.mjs states it in
// full). Three parts:
//   1. the harness judges what it should (a coded TypeError passes; an uncoded one, a wasm
//      RuntimeError, a thrown Symbol, the user's own exception or a message of megabytes fail);
//   2. one explicit case per clause of the contract, in process, each followed by the reference
//      calls (bit-identical to before);
//   3. the fuzzer itself — JUNK_CALLS (4000) seeded calls in a child process of this build's
//      flags, so a call that hangs is killed (its reproducer printed) instead of stalling the suite;
//      every outcome must be a valid result or a coded error, no call over 2 s, and the reference
//      calls (one-shot Nyström, softmax, matmul, matmulTransposed, an attention plan and a matmul plan
//      made before the junk) bit-identical every 100 calls and at the end.
// Env: JUNK_CALLS, JUNK_SEED override the fuzz run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makeQKV, randn } from '../reference.js';
import { lib, tag, BUILD, assertBitsEqual } from './helpers.js';
import { J, JunkTrap, contractBreach, errorKind } from '../fuzz/junk-fuzz.mjs';

const FUZZ = fileURLToPath(new URL('../fuzz/junk-fuzz.mjs', import.meta.url));
const CALLS = Number(process.env.JUNK_CALLS ?? 4000);
const SEED = Number(process.env.JUNK_SEED ?? 20261201);

test(tag('junk harness: what counts as keeping the contract'), () => {
  const coded = (E, code) => Object.assign(new E('m'), { code });
  assert.equal(contractBreach(coded(TypeError, 'ERR_OPTION')), undefined);
  assert.equal(contractBreach(coded(RangeError, 'ERR_MEMORY')), undefined);
  assert.equal(contractBreach(coded(Error, 'ERR_DISPOSED')), undefined);
  assert.equal(contractBreach(coded(Error, 'ERR_UNSUPPORTED')), undefined);
  assert.match(contractBreach(new TypeError('m')), /code undefined/);
  assert.match(contractBreach(coded(Error, 'ERR_OPTION')), /plain Error/);
  assert.match(contractBreach(coded(TypeError, 'ERR_DISPOSED')), /expected one of/);
  assert.match(contractBreach(coded(TypeError, 'ERR_WHATEVER')), /expected one of/);
  assert.match(contractBreach(Object.assign(new WebAssembly.RuntimeError('unreachable'), { code: 'ERR_OPTION' })), /RuntimeError/);
  assert.match(contractBreach(new JunkTrap('x')), /user's own exception/);
  assert.match(contractBreach(Symbol('s')), /non-Error/);
  assert.match(contractBreach(Object.create(null)), /not TypeError/);
  assert.match(contractBreach(Object.assign(new RangeError('x'.repeat(200001)), { code: 'ERR_SHAPE' })), /characters/);
  assert.equal(errorKind(coded(RangeError, 'ERR_NOT_FINITE')), 'RangeError:ERR_NOT_FINITE');
});

// ---- 2. the clauses, one explicit case each --------------------------------------------------

const SHAPE = [2, 3, 20, 5];
const { q, k, v } = makeQKV(SHAPE, 41);
const OPTS = { shape: SHAPE, landmarks: 4, mask: [...Array(40)].map((_, i) => (i % 20 < 17 ? 1 : 0)) };
const MA = randn(4 * 6, 1, 42), MB = randn(6 * 5, 1, 43);
const PLAN = lib.createAttention({ shape: [1, 2, 9, 3], landmarks: 3, style: 'lucidrains' });
const PQ = makeQKV([1, 2, 9, 3], 44);
const REF = {
  nystromAttention: () => lib.nystromAttention(q, k, v, OPTS),
  softmaxAttention: () => lib.softmaxAttention(q, k, v, OPTS),
  matmul: () => lib.matmul(MA, MB, 4, 6, 5),
  'plan made before': () => PLAN.run(PQ.q, PQ.k, PQ.v),
};
const BASE = Object.fromEntries(Object.entries(REF).map(([name, f]) => [name, f().slice()]));

/** fn must throw `Class` with `code` and messages matching `patterns`; then the references are unchanged. */
function expectCoded(what, fn, Class, code, patterns = []) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err !== undefined, `${what}: did not throw [${BUILD}]`);
  const breach = contractBreach(err);
  assert.equal(breach, undefined, `${what}: ${breach} [${BUILD}]`);
  assert.equal(Object.getPrototypeOf(err), Class.prototype, `${what}: threw ${errorKind(err)} (${err.message}), expected ${Class.name} [${BUILD}]`);
  assert.equal(err.code, code, `${what}: code ${err.code} (${err.message}), expected ${code}`);
  for (const p of patterns) assert.match(err.message, p, `${what}: message`);
  for (const [name, f] of Object.entries(REF)) assertBitsEqual(f(), BASE[name], `${what}: ${name} afterwards`);
  return err;
}
const ny = (opts) => () => lib.nystromAttention(q, k, v, opts);

test(tag('junk clauses: unknown option names are TypeError ERR_OPTION naming the key and a close valid name'), () => {
  expectCoded('num_landmarks', ny({ ...OPTS, num_landmarks: 8 }), TypeError, 'ERR_OPTION', [/'num_landmarks'/, /did you mean 'landmarks'/]);
  expectCoded('pinv_iterations', ny({ ...OPTS, pinv_iterations: 6 }), TypeError, 'ERR_OPTION', [/'pinv_iterations'/, /did you mean 'pinvIterations'/]);
  expectCoded('lanmarks', ny({ ...OPTS, lanmarks: 8 }), TypeError, 'ERR_OPTION', [/'lanmarks'/, /did you mean 'landmarks'/]);
  expectCoded('createMatmul transb', () => lib.createMatmul({ m: 2, k: 2, n: 2, transb: true }), TypeError, 'ERR_OPTION', [/'transb'/, /did you mean 'transB'/]);
  expectCoded('row form', () => lib.nystromAttentionRow(lib.nystromAttentionFactors(q, k, OPTS), 0, 0, 0, { form: 1 }), TypeError, 'ERR_OPTION', [/'form'/, /did you mean 'from'/]);
});

test(tag('junk clauses: BigInt is a TypeError saying BigInt; integers out of range a RangeError naming the range'), () => {
  expectCoded('landmarks 8n', ny({ ...OPTS, landmarks: 8n }), TypeError, 'ERR_OPTION', [/landmarks/, /BigInt/]);
  expectCoded('shape 20n', ny({ ...OPTS, shape: [2, 3, 20n, 5] }), TypeError, 'ERR_SHAPE', [/BigInt/]);
  expectCoded('matmul k 6n', () => lib.matmul(MA, MB, 4, 6n, 5), TypeError, 'ERR_SHAPE', [/BigInt/]);
  expectCoded('setMemoryLimit 2n**20n', () => lib.setMemoryLimit(2n ** 20n), TypeError, 'ERR_OPTION', [/BigInt/]);
  expectCoded('mask of BigInt', ny({ ...OPTS, mask: new BigInt64Array(40).fill(1n) }), TypeError, 'ERR_OPTION', [/mask/, /BigInt/]);
  expectCoded('landmarks 2**31', ny({ ...OPTS, landmarks: 2 ** 31 }), RangeError, 'ERR_OPTION', [/\[1, 2147483647\]/]);
  expectCoded('pinvIterations 1e300', ny({ ...OPTS, pinvIterations: 1e300 }), RangeError, 'ERR_OPTION', [/\[0, 10000\]/]);
  expectCoded('shape NaN', ny({ ...OPTS, shape: [2, 3, NaN, 5] }), RangeError, 'ERR_SHAPE', [/\[1, 2147483647\]/]);
  expectCoded('setMemoryLimit 2**32 + 1', () => lib.setMemoryLimit(2 ** 32 + 1), RangeError, 'ERR_OPTION', [/\[65536, 4294967296\]/]);
  expectCoded('row index', () => lib.nystromAttentionRow(lib.nystromAttentionFactors(q, k, OPTS), 2, 0, 0), RangeError, 'ERR_OPTION', [/\[0, 1\]/]);
});

test(tag('junk clauses: throwing getters and Proxy traps are TypeError ERR_OPTION, never the user\'s exception'), () => {
  expectCoded('getter', ny(J.getter(OPTS, 'landmarks')), TypeError, 'ERR_OPTION', [/landmarks/]);
  expectCoded('getter throwing a Symbol', ny(J.getter(OPTS, 'landmarks', 'symbol')), TypeError, 'ERR_OPTION');
  expectCoded('getter throwing a null-prototype object', ny(J.getter(OPTS, 'style', 'nullproto')), TypeError, 'ERR_OPTION');
  expectCoded('ownKeys trap', ny(J.trap(OPTS, 'ownKeys')), TypeError, 'ERR_OPTION');
  expectCoded('get trap', ny(J.trap(OPTS, 'get')), TypeError, 'ERR_OPTION');
  expectCoded('revoked Proxy options', ny(J.revoked(OPTS)), TypeError, 'ERR_OPTION');
  expectCoded('mask whose length getter throws', ny({ ...OPTS, mask: { get length() { throw new JunkTrap('length'); } } }), TypeError, 'ERR_OPTION', [/mask/]);
  expectCoded('shape Proxy with a throwing get trap', ny({ ...OPTS, shape: J.trap([2, 3, 20, 5], 'get') }), TypeError, 'ERR_OPTION');
});

test(tag('junk clauses: setMemoryLimit caps memory; a call past the cap is RangeError ERR_MEMORY before anything is written'), () => {
  const big = [1, 2, 300, 16]; // q, k, v and out alone: 4 · 38 400 bytes > 64 KiB
  const x = makeQKV(big, 45);
  const out = new Float32Array(x.q.length).fill(-7.25);
  const call = () => lib.nystromAttention(x.q, x.k, x.v, { shape: big, landmarks: 8, out });
  try {
    assert.equal(lib.setMemoryLimit(65536), 2 ** 32, 'setMemoryLimit returns the previous limit');
    expectCoded('one-shot past the cap', call, RangeError, 'ERR_MEMORY', [/setMemoryLimit/]);
    assert.ok(out.every((x) => x === -7.25), 'out untouched by the refused call');
    expectCoded('plan past the cap', () => lib.createAttention({ shape: [1, 4, 4096, 64] }), RangeError, 'ERR_MEMORY', [/setMemoryLimit/]);
    expectCoded('matmul plan past the cap', () => lib.createMatmul({ m: 512, k: 512, n: 512 }), RangeError, 'ERR_MEMORY');
  } finally {
    lib.setMemoryLimit(2 ** 32);
  }
  assert.equal(lib.memoryLimit(), 2 ** 32);
  expectCoded('shape past wasm32', () => lib.createAttention({ shape: [64, 64, 65536, 64] }), RangeError, 'ERR_MEMORY', [/4 GiB/]);
  assert.equal(call(), out, 'the same call runs once the limit is restored');
  assert.ok(out.every(Number.isFinite));
});

// ---- 3. the fuzzer -------------------------------------------------------------------------

function runChild(args, timeoutMs) {
  return new Promise((resolve) => {
    const started = performance.now();
    execFile(process.execPath, [...process.execArgv.filter((a) => !a.startsWith('--test')), FUZZ, ...args],
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 28 },
      (error, stdout, stderr) => resolve({ error, stdout, stderr, ms: performance.now() - started }));
  });
}

test(tag(`junk fuzz: ${CALLS} seeded calls (seed ${SEED}) keep the contract; reference calls bit-identical`), { timeout: 180000 }, async (t) => {
  const { error, stdout, stderr, ms } = await runChild(['--calls', String(CALLS), '--seed', String(SEED), '--json', '--hang-limit', '20000'], 150000);
  const line = stdout.trim().split('\n').pop();
  let summary;
  try {
    summary = JSON.parse(line);
  } catch {
    assert.fail(`the fuzz child did not finish (${error?.signal ?? error?.code ?? 'no JSON'} after ${(ms / 1000).toFixed(1)} s) [${BUILD}]\n${stderr.slice(-20000)}`);
  }
  assert.equal(summary.build, BUILD, 'the child ran the same build');
  const tally = Object.entries(summary.tally).sort((a, b) => b[1] - a[1]).map(([kk, n]) => `${kk} ${n}`).join(', ');
  t.diagnostic(`build=${BUILD} calls=${summary.calls} seed=${SEED} fuzz ${(summary.ms / 1000).toFixed(1)} s (child ${(ms / 1000).toFixed(1)} s) slowest ${summary.maxMs.toFixed(0)} ms (case ${summary.slowest?.index}, ${summary.slowest?.family}) RSS peak ${(summary.rss.peak / 2 ** 20).toFixed(0)} MB`);
  t.diagnostic(`outcomes: ${tally}`);
  if (summary.violations.length) {
    const groups = new Map();
    for (const vv of summary.violations) {
      const sig = `${vv.family}: ${vv.reason.replace(/\d+/g, '#').slice(0, 140)}`;
      if (!groups.has(sig)) groups.set(sig, []);
      groups.get(sig).push(vv);
    }
    const shown = [...groups.entries()].slice(0, 30);
    const text = shown.map(([sig, list]) => `${list.length}× ${sig}\n${list[0].reproducer}`).join('\n\n');
    assert.fail(`${summary.violations.length} of ${summary.calls} junk calls broke the contract, ${groups.size} kinds; one reproducer per kind` +
      `${groups.size > shown.length ? ` (the first ${shown.length}; node tests/fuzz/junk-fuzz.mjs --calls ${CALLS} --seed ${SEED} lists all)` : ''}` +
      ` — save one as a .mjs file in the repository root and run it [${BUILD}]:\n\n${text}`);
  }
});
