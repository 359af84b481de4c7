// Runs as `prepare` after `npm install` / `npm ci` in a clone (never when the package is installed
// as a dependency): drops what the development install carries but never runs — binaryen's
// command-line tools (wasm-opt, wasm-as, …: about 80 MB of JavaScript-wrapped wasm). The
// AssemblyScript compiler uses binaryen's library (binaryen/index.js), which stays.
import { existsSync, readdirSync, rmSync, lstatSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const modules = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules');
const tools = join(modules, 'binaryen', 'bin');
let freed = 0;
if (existsSync(tools)) {
  for (const f of readdirSync(tools)) {
    if (f === 'package.json') continue;
    freed += lstatSync(join(tools, f)).size;
    rmSync(join(tools, f), { force: true });
  }
}
// Their links in node_modules/.bin now point nowhere: remove them too.
const links = join(modules, '.bin');
if (existsSync(links)) {
  for (const f of readdirSync(links)) {
    if (f.startsWith('wasm') && !existsSync(join(links, f))) rmSync(join(links, f), { force: true });
  }
}
if (freed) console.log(`trimmed binaryen's command-line tools (${(freed / 2 ** 20).toFixed(0)} MB; the compiler uses its library only)`);
