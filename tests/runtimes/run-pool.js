// The worker pool in a command-line runtime (Node, Deno, Bun): the runtime cases through
// createPool, bit-identical to the synchronous calls.
//   node|bun tests/runtimes/run-pool.js --threads 2 --expect-threads 2
//   deno run tests/runtimes/run-pool.js ...
import * as api from '../../dist/index.js';
import { runPoolCases, formatResult } from './conformance-cases.js';
import { option, runtimeName, exit } from './cli-common.js';

const threads = Number(option('threads', '2'));
const expectThreads = option('expect-threads', null);
const result = await runPoolCases(api, { threads });
if (expectThreads !== null && String(result.threads) !== expectThreads) {
  result.failed++;
  result.details.push({ name: 'threads', ok: false, message: `expected ${expectThreads} threads, the pool runs ${result.threads} (${result.reason})` });
}
console.log(`pool: ${result.threads} threads${result.reason ? ` (${result.reason})` : ''}`);
console.log(formatResult(`${runtimeName()} (pool)`, result));
exit(result.failed ? 1 : 0);
