// The size users download: each package entry bundled and minified with esbuild (ESM, platform
// neutral; the threads builds and the pool's code are chunks of their own that only createPool loads), raw and
// gzipped, against a budget. Exits 1 when an entry is over its budget.
// esbuild comes from docs/ (the publication tools), installed on first use.
//   npm run size            (npm run build first; npm test runs it as a suite)
import { gzipSync } from 'node:zlib';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTools } from './tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureTools(join(root, 'docs'), 'esbuild');
const { buildSync } = createRequire(join(root, 'docs', 'package.json'))('esbuild');
/** Gzipped budgets in KiB. The embedded entry carries both wasm builds as base64 (most of its size; the
 *  fused exact-attention kernel added about 5 KiB of wasm to each build). */
export const BUDGET = { 'index.js': 55, 'url.js': 30, 'threads chunk': 30, 'pool chunk': 12, 'worker.js': 5 };

export function sizes() {
  const out = [];
  for (const entry of ['index.js', 'url.js', 'worker.js']) {
    const r = buildSync({
      entryPoints: [join(root, 'dist', entry)], bundle: true, minify: true, format: 'esm', platform: 'neutral',
      write: false, external: ['node:*'], splitting: true, outdir: join(root, 'build', 'size'), logLevel: 'silent',
      metafile: true, absWorkingDir: root,
    });
    const files = new Map(r.outputFiles.map((f) => [relative(root, f.path).split(sep).join('/'), f]));
    const outputs = r.metafile.outputs;
    // An output with the chunks it imports statically (they load with it; dynamic imports load later).
    const closure = (key, seen = new Set()) => {
      if (seen.has(key)) return seen;
      seen.add(key);
      for (const i of outputs[key]?.imports ?? []) if (i.kind === 'import-statement') closure(i.path, seen);
      return seen;
    };
    const entryKey = Object.keys(outputs).find((k) => k.endsWith(`/${entry}`));
    const loaded = closure(entryKey);
    const measure = (name, keys) => {
      const fs = [...keys].map((k) => files.get(k)).filter(Boolean);
      out.push({ name, entry, bytes: fs.reduce((a, f) => a + f.contents.length, 0),
        gzip: fs.reduce((a, f) => a + gzipSync(f.contents, { level: 9 }).length, 0), budgetKiB: BUDGET[name] });
    };
    measure(entry, loaded);
    // The chunks createPool loads (what they import beyond the entry's own files).
    for (const [name, prefix] of [['threads chunk', 'threads.generated'], ['pool chunk', 'pool-']]) {
      const key = Object.keys(outputs).find((k) => k.split('/').pop().startsWith(prefix));
      if (key && !out.some((x) => x.name === name)) measure(name, [...closure(key)].filter((k) => !loaded.has(k)));
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
