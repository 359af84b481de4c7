// Conformance cases on the by-URL subpath (loads dist/wasm/nystrom.<build>.wasm):
//   node tests/runtimes/run-url.js      deno run --allow-read tests/runtimes/run-url.js      bun tests/runtimes/run-url.js
import * as api from '../../dist/url.js';
import { runAndExit } from './cli-common.js';

await runAndExit('url', api, () => api.init());
