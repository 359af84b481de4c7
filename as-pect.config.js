// as-pect runner config for the kernel tests (tests/assembly/**/*.spec.ts).
// asp compiles each spec with the asconfig given by --as-config:
//   tests/assembly/as-pect.asconfig.json          plain SIMD build
//   tests/assembly/as-pect.relaxed.asconfig.json  relaxed SIMD build (ASC_FEATURE_RELAXED_SIMD)
// Both extend tests/assembly/asconfig.json, which holds only `enable`, so the package's real
// entries are not compiled into every test binary.
import v8 from 'node:v8';

// Node 20 validates relaxed-SIMD modules only behind this flag; asp runs in its own node process,
// so set it here, before any module is compiled. Harmless for the plain build and on Node 22+.
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

export default {
  entries: ['tests/assembly/**/*.spec.ts'],
  include: ['tests/assembly/**/*.include.ts'],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    return instantiate(binary, createImports({ env: { memory } }));
  },
  outputBinary: false,
};
