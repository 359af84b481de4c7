// The size users download: each package entry bundled and minified with esbuild (ESM, platform
// neutral; the threads builds are a chunk of their own that only createPool loads), raw and
// gzipped, against a budget. Exits 1 when an entry is over its budget.
// esbuild comes from docs/ (the publication tools), installed on first use.
//   npm run size            (npm run build first; npm test runs it as a suite)
import { gzipSync } from 'node:zlib';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTools } from './tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureTools(join(root, 'docs'), 'esbuild');
const { buildSync } = createRequire(join(root, 'docs', 'package.json'))('esbuild');
/** Gzipped budgets in KiB. The embedded entry carries both wasm builds as base64 (most of its size; the
 *  fused exact-attention kernel added about 5 KiB of wasm to each build). */
export const BUDGET = { 'index.js': 55, 'url.js': 30, 'threads chunk': 30, 'worker.js': 5 };

export function sizes() {
  const out = [];
  for (const entry of ['index.js', 'url.js', 'worker.js']) {
    const r = buildSync({
      entryPoints: [join(root, 'dist', entry)], bundle: true, minify: true, format: 'esm', platform: 'neutral',
      write: false, external: ['node:*'], splitting: true, outdir: join(root, 'build', 'size'), logLevel: 'silent',
    });
    for (const f of r.outputFiles) {
      const name = f.path.endsWith(entry) ? entry : f.path.includes('threads.generated') ? 'threads chunk' : null;
      if (!name || out.some((x) => x.name === name)) continue;
      out.push({ name, entry, bytes: f.contents.length, gzip: gzipSync(f.contents, { level: 9 }).length, budgetKiB: BUDGET[name] });
    }
  }
  return out;
}

/** Bytes of the files under dir (links not followed), and the packages in it. */
export function installSize(dir = join(root, 'node_modules')) {
  let bytes = 0, packages = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        // a package: a folder with a package.json right in node_modules or in a node_modules/@scope
        const inModules = /node_modules$/.test(d) || /node_modules[\\/]@[^\\/]+$/.test(d);
        if (inModules && existsSync(join(p, 'package.json'))) packages++;
        walk(p);
      } else bytes += lstatSync(p).size;
    }
  };
  if (existsSync(dir)) walk(dir);
  return { bytes, packages };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dev = installSize();
  console.log(`development install (node_modules: the compilers and test runner only): ${(dev.bytes / 1e6).toFixed(0)} MB, ${dev.packages} packages`);
  let over = 0;
  const all = sizes();
  console.log('entry            minified     gzipped   budget (gzipped)');
  for (const s of all) {
    const ok = s.gzip <= s.budgetKiB * 1024;
    if (!ok) over++;
    console.log(`${s.name.padEnd(15)} ${(s.bytes / 1024).toFixed(1).padStart(7)} KiB ${(s.gzip / 1024).toFixed(1).padStart(7)} KiB   ${s.budgetKiB} KiB ${ok ? '' : ' OVER'}`);
  }
  console.log(`${all.length - over} passed, ${over} failed`);
  process.exit(over ? 1 : 0);
}
