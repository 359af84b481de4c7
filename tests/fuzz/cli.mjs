// Shared by the fuzz and soak scripts: whether a module is the one node was started with, argument
// parsing, per-case seeds.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function isMain(moduleUrl) {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** parse(argv) for this process's arguments; a parse error is printed and exits 2. */
export function argsOrExit(parse) {
  try {
    return parse(process.argv.slice(2));
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
}

/** 32-bit seed of case `index` under run seed `seed` (a murmur3-style finaliser of both): any case re-runs alone. */
export function caseSeed(seed, index) {
  let h = (seed >>> 0) ^ Math.imul(index >>> 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h ^ (index >>> 0), 0x27d4eb2d);
  return (h ^ (h >>> 15)) >>> 0;
}
