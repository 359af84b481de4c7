#!/usr/bin/env node
// nystrom-wasm-bench: a portable CPU benchmark of this package's kernels on this device and runtime.
//   npx nystrom-wasm-bench [--quick] [--json] [--threads 1,2,4]
//   bun node_modules/.bin/nystrom-wasm-bench
//   deno run --allow-read node_modules/nystrom-wasm/dist/cli/bench.js   (without --allow-read: one thread)
// Prints the build chosen, matmul GFLOP/s and Nyström / exact attention ms for 1, 2, … threads
// with a one-line machine summary; --json prints the numbers as JSON instead.
import { deviceBench } from './device-bench.js';

const g = globalThis as any;
const args: string[] = g.Deno ? g.Deno.args : g.process?.argv?.slice(2) ?? [];
if (args.includes('--help') || args.includes('-h')) {
  console.log('usage: nystrom-wasm-bench [--quick] [--json] [--threads 1,2,4]');
} else {
  const json = args.includes('--json');
  const ti = args.indexOf('--threads');
  const result = await deviceBench({
    quick: args.includes('--quick'),
    threads: ti >= 0 ? String(args[ti + 1]).split(',').map(Number) : undefined,
    log: json ? undefined : (line) => console.log(line),
  });
  if (json) console.log(JSON.stringify(result, null, 2));
}
