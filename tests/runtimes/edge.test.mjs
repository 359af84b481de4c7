// The edge handler served by Deno (examples/edge/serve-deno.js) on 127.0.0.1, with real requests:
// valid JSON and binary requests (numbers checked against the float64 reference), and malformed
// ones (400 / 405 / 415). The same requests then go straight to handler.fetch in Node.
//   node tests/runtimes/edge.test.mjs
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import handler, { encodeBinaryRequest } from '../../examples/edge/handler.js';
import { makeInputs, relError, TOLERANCE } from './conformance-cases.js';
import { nystromRef, softmaxRef } from '../reference.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const deno = join(root, 'tests', 'runtimes', 'node_modules', '.bin', 'deno');

let passed = 0, failed = 0;
const builds = {};
const report = (ok, name, msg = '') => {
  ok ? passed++ : failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${msg ? ': ' + msg : ''}`);
};

/** Starts the Deno server; resolves { base, child } once it prints its address (bounded wait). */
function startDeno() {
  const child = spawn(deno, ['run', '--allow-net=127.0.0.1', join(root, 'examples/edge/serve-deno.js'), '--port', '0'], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '', err = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`deno server did not start in 20 s\n${out}${err}`)); }, 20000);
    child.stdout.on('data', (b) => {
      out += b;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) { clearTimeout(timer); resolve({ base: m[1], child }); }
    });
    child.stderr.on('data', (b) => { err += b; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`deno server exited (${code}) before listening\n${out}${err}`)); });
  });
}

const shape = [1, 2, 40, 16];
const inputs = makeInputs(shape, 77);
const mask = Array.from({ length: 40 }, (_, i) => (i < 34 ? 1 : 0));
const jsonBody = (extra = {}) => JSON.stringify({ shape, q: Array.from(inputs.q), k: Array.from(inputs.k), v: Array.from(inputs.v), ...extra });

/** Every request of the suite, through send(method, body, contentType) -> Response. */
async function suite(label, send) {
  const t = (name) => `${label}: ${name}`;
  const expectError = async (name, res, status) => {
    let body = null;
    try { body = await res.json(); } catch {}
    report(res.status === status && body && typeof body.error === 'string' && body.error.length > 0, t(name), `${res.status} ${body && body.error}`);
  };
  {
    const options = { landmarks: 8, style: 'hf', mask };
    const res = await send('POST', jsonBody({ options }), 'application/json');
    const body = await res.json();
    const want = nystromRef(inputs.q, inputs.k, inputs.v, { ...options, shape });
    const err = body.output ? relError(Float32Array.from(body.output), want, shape, mask) : NaN;
    builds[label] = body.build;
    report(res.status === 200 && err <= TOLERANCE, t('JSON nystrom hf+mask'), `${res.status} build ${body.build} rel ${err.toExponential(2)}`);
  }
  {
    const res = await send('POST', jsonBody({ kind: 'softmax', options: { style: 'lucidrains' } }), 'application/json; charset=utf-8');
    const body = await res.json();
    const want = softmaxRef(inputs.q, inputs.k, inputs.v, { shape, style: 'lucidrains' });
    const err = body.output ? relError(Float32Array.from(body.output), want, shape) : NaN;
    report(res.status === 200 && err <= TOLERANCE, t('JSON softmax lucidrains'), `${res.status} rel ${err.toExponential(2)}`);
  }
  {
    const options = { landmarks: 16, remainder: 'pad', convWeight: [0.1, -0.2, 0.3, 0.05, 0.5, -0.1] };
    const res = await send('POST', encodeBinaryRequest({ shape, options }, inputs.q, inputs.k, inputs.v), 'application/octet-stream');
    const bytes = new Uint8Array(await res.arrayBuffer());
    const got = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const want = nystromRef(inputs.q, inputs.k, inputs.v, { ...options, convWeight: Float32Array.from(options.convWeight), shape });
    const err = got.length === want.length ? relError(got, want, shape) : NaN;
    report(res.status === 200 && res.headers.get('content-type') === 'application/octet-stream' && res.headers.get('x-shape') === shape.join(',') && err <= TOLERANCE,
      t('binary nystrom pad+conv'), `${res.status} build ${res.headers.get('x-build')} ${got.length} floats rel ${err.toExponential(2)}`);
  }
  {
    const res = await send('POST', encodeBinaryRequest({ shape, kind: 'softmax' }, inputs.q, inputs.k, inputs.v), 'application/octet-stream');
    const got = new Float32Array(await res.arrayBuffer());
    const err = got.length ? relError(got, softmaxRef(inputs.q, inputs.k, inputs.v, { shape }), shape) : NaN;
    report(res.status === 200 && err <= TOLERANCE, t('binary softmax'), `${res.status} rel ${err.toExponential(2)}`);
  }
  // Malformed requests.
  await expectError('bad JSON', await send('POST', '{"shape": [1, 2', 'application/json'), 400);
  await expectError('JSON array body', await send('POST', '[1,2,3]', 'application/json'), 400);
  await expectError('shape of 3', await send('POST', JSON.stringify({ shape: [1, 2, 40], q: [], k: [], v: [] }), 'application/json'), 400);
  await expectError('q too short', await send('POST', jsonBody({ q: Array.from(inputs.q.subarray(1)) }), 'application/json'), 400);
  await expectError('string in v', await send('POST', jsonBody({ v: ['x', ...Array.from(inputs.v.subarray(1))] }), 'application/json'), 400);
  await expectError('unknown style', await send('POST', jsonBody({ options: { style: 'bert', landmarks: 8 } }), 'application/json'), 400);
  await expectError('unknown option', await send('POST', jsonBody({ options: { landmark: 8 } }), 'application/json'), 400);
  await expectError("remainder 'error'", await send('POST', jsonBody({ options: { landmarks: 16, remainder: 'error' } }), 'application/json'), 400);
  await expectError('mask wrong length', await send('POST', jsonBody({ options: { landmarks: 8, mask: [1, 0] } }), 'application/json'), 400);
  await expectError('unknown kind', await send('POST', jsonBody({ kind: 'linear' }), 'application/json'), 400);
  {
    const q = inputs.q.slice();
    q[5] = NaN;
    await expectError('NaN in binary q', await send('POST', encodeBinaryRequest({ shape, options: { landmarks: 8 } }, q, inputs.k, inputs.v), 'application/octet-stream'), 400);
  }
  {
    const good = encodeBinaryRequest({ shape }, inputs.q, inputs.k, inputs.v);
    await expectError('binary truncated', await send('POST', good.subarray(0, good.length - 4), 'application/octet-stream'), 400);
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(0, 1e6, true);
    await expectError('binary header length too big', await send('POST', bad, 'application/octet-stream'), 400);
    await expectError('binary empty', await send('POST', new Uint8Array(2), 'application/octet-stream'), 400);
  }
  await expectError('wrong content-type', await send('POST', 'hello', 'text/plain'), 415);
  await expectError('GET', await send('GET', null, null), 405);
  await expectError('PUT', await send('PUT', jsonBody(), 'application/json'), 405);
}

const fetchWithTimeout = (url, init) => fetch(url, { ...init, signal: AbortSignal.timeout(15000) });

let server;
try {
  server = await startDeno();
  report(true, 'deno server started', server.base);
  await suite('deno', (method, body, type) =>
    fetchWithTimeout(server.base + '/', { method, body: body ?? undefined, headers: type ? { 'content-type': type } : {} }));
} catch (e) {
  report(false, 'deno edge server', String(e && e.stack || e));
} finally {
  if (server) {
    const exited = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGTERM');
    const t = setTimeout(() => server.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

// The same handler in-process (Node's Request / Response), which is how other edge runtimes call it.
try {
  await suite('node in-process', (method, body, type) =>
    handler.fetch(new Request('http://127.0.0.1/', { method, body: body ?? undefined, headers: type ? { 'content-type': type } : {} })));
} catch (e) {
  report(false, 'node in-process handler', String(e && e.stack || e));
}

console.log(`builds: ${Object.entries(builds).map(([k, b]) => `${k} ${b}`).join(', ')}`);
console.log(`build: ${Object.values(builds).join('/')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
