// Shared by the fuzz and soak scripts: whether a module is the one node was started with.
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
