// nystrom-wasm loading its .wasm as a separate file by URL (for CSP rules or HTTP caching):
// `await init({ url })` first; the default URL is the file shipped beside this module.
import { makeApi } from './api.js';
import { bestBuild, checkBuild, type ModuleSource } from './loader.js';
import { describe, stateError, typeError } from './errors.js';
import { readOptions } from './validate.js';
import type { BuildName } from './types.js';

export type * from './types.js';
export { buildSupport } from './loader.js';
export { nystromAttentionRow } from './factors.js';
export { setMemoryLimit, memoryLimit } from './plan.js';
export { loadSafetensors, writeSafetensors, tensorAsFloat32 } from './model/safetensors.js';
export type { SafetensorsFile, SafetensorsTensor, SafetensorsRawTensor, SafetensorsDtype, LoadSafetensorsOptions, WriteTensor, WriteSafetensorsOptions, TensorData } from './model/safetensors.js';
export type { NystromformerConfig, ModelOptions, ForwardOptions, ModelOutput, NystromformerModelInstance, NystromformerHeadInstance, ModelClass, LoadProgress } from './model/model.js';
export type { ErrorCode } from './errors.js';
export type { Pool, PoolAttentionPlan, PoolOptions, PoolCallOptions } from './pool-api.js';

const compiled: Partial<Record<BuildName, WebAssembly.Module>> = {};
const threadModules: Partial<Record<BuildName, Promise<{ module: WebAssembly.Module; bytes: Uint8Array<ArrayBuffer> }>>> = {};
let urlOverride: string | URL | undefined;

function defaultUrl(build: BuildName): URL {
  return new URL(`./wasm/nystrom.${build}.wasm`, import.meta.url);
}

async function fetchBytes(url: URL): Promise<ArrayBuffer> {
  if (url.protocol === 'file:') {
    // Node's fetch rejects file: URLs; read the file instead (Deno and Bun take this path too).
    // (A computed specifier keeps bundlers for the browser from resolving a Node built-in.)
    const spec = 'node:fs/promises';
    const fs: { readFile(u: URL): Promise<Uint8Array> } = await import(spec);
    const buf = await fs.readFile(url);
    return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  }
  const res = await fetch(url);
  if (!res.ok) throw stateError('ERR_LOAD', `could not fetch ${url.href}: HTTP ${res.status}`);
  return res.arrayBuffer();
}

const source: ModuleSource = {
  module(build) {
    const m = compiled[build];
    if (!m) throw stateError('ERR_LOAD', `nystrom-wasm/url: call and await init() before the first call (the '${build}' build is not loaded)`);
    return m;
  },
  async load(build) {
    if (compiled[build]) return compiled[build];
    const url = urlOverride !== undefined ? new URL(String(urlOverride), typeof location === 'object' ? location.href : import.meta.url) : defaultUrl(build);
    return (compiled[build] = await WebAssembly.compile(await fetchBytes(url)));
  },
  threads(build) {
    // The threads twin beside the default file (or beside the given url: name.wasm → name-threads.wasm).
    const base = urlOverride !== undefined ? new URL(String(urlOverride), typeof location === 'object' ? location.href : import.meta.url) : defaultUrl(build);
    const url = new URL(base.href.replace(/\.wasm($|\?)/, '-threads.wasm$1'));
    return (threadModules[build] ??= fetchBytes(url).then(async (buf) => {
      const bytes = new Uint8Array(buf);
      return { module: await WebAssembly.compile(bytes), bytes };
    }));
  },
};

const api = makeApi(source);

/**
 * Loads and compiles the wasm. `url` points at a `.wasm` of the build chosen (default: the best
 * the engine validates); without it the file shipped beside this module is used.
 */
export async function init(opts: { url?: string | URL; build?: BuildName } = {}): Promise<BuildName> {
  const o = readOptions<{ url: string | URL; build: BuildName }>(opts, ['url', 'build'], 'init options', false);
  if (o.url !== undefined && typeof o.url !== 'string' && !(o.url instanceof URL)) {
    throw typeError('ERR_OPTION', `init: url must be a string or URL, got ${describe(o.url)}`);
  }
  const build = o.build === undefined ? bestBuild() : checkBuild(o.build);
  urlOverride = o.url;
  return api.init({ build });
}

export const {
  activeBuild, selectBuild, nystromAttention, softmaxAttention, nystromAttentionMatrix,
  softmaxAttentionMatrix, nystromAttentionFactors, matmul, matmulTransposed, createAttention, createMatmul, release, createPool,
  NystromformerModel, NystromformerForMaskedLM, NystromformerForSequenceClassification,
} = api;
