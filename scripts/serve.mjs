// A small static file server for the browser examples and the Chromium tests.
//
//   node scripts/serve.mjs [page-dir] [--port N]
//
// Serves the repository root (so a page under examples/ can import ../../dist/index.js) on
// 127.0.0.1 only, on a free port unless --port is given, and prints the page's URL; `/` redirects
// to page-dir (default examples/browser). Headers: `.wasm` as application/wasm, `.js`/`.mjs` as
// text/javascript, no caching, and COOP/COEP so pages are cross-origin isolated
// (SharedArrayBuffer available; a page requested with ?no-isolation is served without them).
// Nothing outside the repository is served.
//
// Also importable: `const server = await startServer({ root, page }); server.url; await server.close()`.
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

/** The response headers; a document requested with ?no-isolation is served without COOP/COEP (not isolated). */
function headersFor(url) {
  if (!url.searchParams.has('no-isolation')) return ISOLATION;
  const { ['Cross-Origin-Opener-Policy']: _o, ['Cross-Origin-Embedder-Policy']: _e, ...rest } = ISOLATION;
  return rest;
}

function send(res, status, body, type = 'text/plain; charset=utf-8') {
  res.writeHead(status, { ...ISOLATION, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Starts the server. root: directory served (default the repository); page: path under root
 * that `/` redirects to; port: 0 for a free one. Resolves to { url, pageUrl, port, close() }.
 */
export function startServer({ root = REPO_ROOT, page = 'examples/browser', port = 0, log = false } = {}) {
  const base = resolve(root);
  const pagePath = '/' + page.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '') + '/';
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
      const url = new URL(req.url, 'http://127.0.0.1');
      if (url.pathname === '/') {
        res.writeHead(302, { ...ISOLATION, Location: pagePath });
        return res.end();
      }
      let rel;
      try { rel = decodeURIComponent(url.pathname); } catch { return send(res, 400, 'bad path\n'); }
      let file = resolve(join(base, rel));
      if (file !== base && !file.startsWith(base + sep)) return send(res, 403, 'forbidden\n');
      let info = await stat(file).catch(() => null);
      if (info && info.isDirectory()) {
        if (!url.pathname.endsWith('/')) {
          res.writeHead(301, { ...ISOLATION, Location: url.pathname + '/' + url.search });
          return res.end();
        }
        file = join(file, 'index.html');
        info = await stat(file).catch(() => null);
      }
      if (!info || !info.isFile()) return send(res, 404, `not found: ${url.pathname}\n`);
      if (log) console.log(`${req.method} ${url.pathname}`);
      res.writeHead(200, {
        ...headersFor(url),
        'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': info.size,
      });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).on('error', () => res.destroy()).pipe(res);
    } catch (e) {
      if (!res.headersSent) send(res, 500, `error: ${e && e.message}\n`);
      else res.destroy();
    }
  });
  return new Promise((resolveStart, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const actual = server.address().port;
      const url = `http://127.0.0.1:${actual}`;
      resolveStart({
        url,
        pageUrl: url + pagePath,
        port: actual,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const argv = process.argv.slice(2);
  const pi = argv.indexOf('--port');
  const port = pi >= 0 ? Number(argv[pi + 1]) : 0;
  const page = argv.find((a, i) => !a.startsWith('--') && argv[i - 1] !== '--port') ?? 'examples/browser';
  const server = await startServer({ page, port, log: argv.includes('--log') });
  console.log(`serving ${REPO_ROOT} on ${server.url}\nopen ${server.pageUrl}`);
  const stop = () => server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
