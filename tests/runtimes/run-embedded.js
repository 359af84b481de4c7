// Conformance cases on the embedded build (no file access, no permissions):
//   node [--experimental-wasm-relaxed-simd] tests/runtimes/run-embedded.js [--expect simd|relaxed]
//   deno run tests/runtimes/run-embedded.js        bun tests/runtimes/run-embedded.js
import * as api from '../../dist/index.js';
import { runAndExit } from './cli-common.js';

await runAndExit('embedded', api);
