// Shared by the command-line entries run-embedded.js and run-url.js (Node, Deno, Bun).
// Entries import the package statically: Deno lets a script load its static imports without
// --allow-read, but a dynamic import() of a local file needs the permission.
//   --expect simd|relaxed   fail unless that build ran
//   --label name            runtime label in the output
import { runCases, formatResult } from './conformance-cases.js';

const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
export const option = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
export const runtimeName = () =>
  globalThis.Deno ? `deno ${Deno.version.deno}` : globalThis.Bun ? `bun ${Bun.version}` : `node ${process.version}`;
export const exit = (code) => (globalThis.Deno ? Deno.exit(code) : process.exit(code));

/** Runs the cases on api (after `await prepare()`), prints them and exits 0/1. */
export async function runAndExit(kind, api, prepare) {
  let result;
  try {
    if (prepare) await prepare();
    result = runCases(api);
  } catch (e) {
    result = { passed: 0, failed: 1, build: 'none', details: [{ name: `load ${kind}`, ok: false, message: String((e && e.stack) || e) }] };
  }
  const expect = option('expect', null);
  if (expect && result.build !== expect) {
    result.failed++;
    result.details.push({ name: 'expected build', ok: false, message: `expected build '${expect}', received '${result.build}'` });
  }
  console.log(formatResult(`${option('label', runtimeName())} (${kind})`, result));
  exit(result.failed ? 1 : 0);
}
