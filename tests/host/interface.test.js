// The host↔wasm interface is declared once (scripts/abi.mjs). These tests fail when the module,
// the generated sources or the host disagree with the declaration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EXPORTS, ENUMS, CTX, generate } from '../../scripts/abi.mjs';
import { checkExports } from '../../dist/engine.js';
import { gemmWorkBytes, pinvWorkBytes } from '../../dist/plan.js';
import { tag } from './helpers.js';

const root = new URL('../../', import.meta.url);
// Both builds where the engine compiles them (the relaxed one under --experimental-wasm-relaxed-simd
// on Node 20: the suite runs once that way too).
const modules = {};
for (const b of ['simd', 'relaxed']) {
  const bytes = readFileSync(new URL(`build/nystrom.${b}.wasm`, root));
  if (WebAssembly.validate(bytes)) modules[b] = new WebAssembly.Module(bytes);
}

test(tag('interface: each build exports exactly the declared names, each function with the declared arity'), () => {
  for (const [build, mod] of Object.entries(modules)) {
    const names = WebAssembly.Module.exports(mod).map((e) => e.name).sort();
    assert.deepEqual(names, Object.keys(EXPORTS).sort(), `${build}: export names`);
    const inst = new WebAssembly.Instance(mod, {}).exports;
    for (const [name, arity] of Object.entries(EXPORTS)) {
      if (arity === null) assert.ok(inst[name] instanceof WebAssembly.Memory, `${build}: ${name} is the memory`);
      else assert.equal(inst[name].length, arity, `${build}: ${name} takes ${arity} parameters`);
    }
    assert.doesNotThrow(() => checkExports(mod, inst), `${build}: the host's check accepts the module`);
  }
});

test(tag('interface: the host check fails when a declared arity, name or export changes'), () => {
  const mod = modules.simd;
  const inst = new WebAssembly.Instance(mod, {}).exports;
  const changed = [
    [{ ...EXPORTS, gemm: EXPORTS.gemm - 1 }, /'gemm' takes 11 parameters, declared 10/],
    [{ ...EXPORTS, nyRows: 4 }, /'nyRows' takes 5 parameters, declared 4/],
    [{ ...EXPORTS, notThere: 2 }, /missing export 'notThere'/],
    [Object.fromEntries(Object.entries(EXPORTS).filter(([k]) => k !== 'prepare')), /undeclared export 'prepare'/],
  ];
  for (const [declared, pattern] of changed) {
    assert.throws(() => checkExports(mod, inst, declared), pattern);
  }
});

test(tag('interface: the generated sources are current with scripts/abi.mjs'), () => {
  const g = generate();
  assert.equal(readFileSync(new URL('assembly/abi.generated.ts', root), 'utf8'), g.assembly, 'assembly/abi.generated.ts');
  assert.equal(readFileSync(new URL('src/abi.generated.ts', root), 'utf8'), g.host, 'src/abi.generated.ts');
  // Enum codes and context offsets are the positions in the declared lists.
  assert.match(g.assembly, new RegExp(`STYLE_LUCIDRAINS: i32 = ${ENUMS.STYLE.indexOf('lucidrains')};`));
  assert.match(g.assembly, new RegExp(`CTX_${CTX.at(-1)[0]}: usize = ${(CTX.length - 1) * 4};`));
});

test(tag("interface: the host's memory sizes equal the module's own (gemmWorkBytes, pinvWorkBytes)"), () => {
  const inst = new WebAssembly.Instance(modules.simd, {}).exports;
  const dims = [1, 2, 3, 7, 8, 9, 63, 64, 65, 255, 256, 1000, 1024, 4095, 4096, 4097, 5000, 8192, 12345, 65536];
  for (const N of dims) {
    for (const K of dims) {
      // The module computes in 32 bits: compare where that cannot wrap.
      if (Math.ceil(N / 8) * K * 32 + (1 << 20) >= 2 ** 31) continue;
      assert.equal(gemmWorkBytes(N, K), inst.gemmWorkBytes(N, K), `gemmWorkBytes(${N}, ${K})`);
    }
  }
  for (const m of [1, 2, 5, 16, 63, 64, 65, 128, 256, 1000]) assert.equal(pinvWorkBytes(m), inst.pinvWorkBytes(m), `pinvWorkBytes(${m})`);
});

test(tag('interface: the shipped builds import nothing (no clock: profiling is compiled out) and report no profile'), () => {
  assert.ok(Object.keys(modules).length > 0);
  for (const [b, module] of Object.entries(modules)) {
    assert.deepEqual(WebAssembly.Module.imports(module), [], `${b} imports`);
    const x = new WebAssembly.Instance(module, {}).exports;
    assert.equal(x.profileTimes(), 0, `${b}: profileTimes()`);
    x.profileReset();
  }
});
