// Tool folders with a package.json of their own (docs/: TypeDoc and esbuild; tests/runtimes/: Deno,
// Bun, playwright-core; bench/: the peers) are installed where they are used, on first use, so that
// installing the package (and running its demo) needs none of them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** `npm ci` (or `npm install` without a lock file) in `dir`; true when it succeeded. */
export function installTools(dir) {
  const npmCli = process.env.npm_execpath;
  const [cmd, pre] = npmCli && npmCli.endsWith('.js') ? [process.execPath, [npmCli]] : ['npm', []];
  const verb = existsSync(join(dir, 'package-lock.json')) ? 'ci' : 'install';
  const r = spawnSync(cmd, [...pre, verb, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: dir, stdio: 'inherit', shell: cmd === 'npm' && process.platform === 'win32',
  });
  if (r.status !== 0) console.error(`could not install the tools in ${dir} (npm ${verb} exited ${r.status})`);
  return r.status === 0;
}

/** Installs `dir`'s tools unless `probe` (a path under dir/node_modules) exists; exits 2 when that fails. */
export function ensureTools(dir, probe) {
  if (existsSync(join(dir, 'node_modules', probe))) return;
  if (!installTools(dir)) process.exit(2);
}
