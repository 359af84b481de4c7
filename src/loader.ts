// Build choice and compilation. Two builds of the same kernels exist: 'relaxed' (relaxed SIMD,
// fused multiply-add) and 'simd' (plain 128-bit SIMD). The best one the engine validates is
// used; a module is compiled once per build and instantiated once per arena (one-shot calls share
// one instance, every plan has its own).
import type { BuildName } from './types.js';
import { describe, stateError, typeError } from './errors.js';

// A function `() -> v128` whose body is `v128.const 0`: validates where 128-bit SIMD is supported.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x0a, 0x16, 0x01, 0x14, 0x00, // code: one body of 20 bytes, no locals
  0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
  0x0b,
]);
// Three v128.const and f32x4.relaxed_madd (0xfd 0x105): validates where relaxed SIMD is on.
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x3d, 0x01, 0x3b, 0x00,
  0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0xfd, 0x85, 0x02, // f32x4.relaxed_madd
  0x0b,
]);

let support: { simd: boolean; relaxed: boolean } | undefined;

/** Which builds this engine can run (probed once with WebAssembly.validate). */
export function buildSupport(): { simd: boolean; relaxed: boolean } {
  if (!support) {
    if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') {
      support = { simd: false, relaxed: false };
    } else {
      const simd = WebAssembly.validate(SIMD_PROBE);
      support = { simd, relaxed: simd && WebAssembly.validate(RELAXED_PROBE) };
    }
  }
  return support;
}

/** The build to use when none is asked for: relaxed where it validates, else simd. */
export function bestBuild(): BuildName {
  const s = buildSupport();
  if (s.relaxed) return 'relaxed';
  if (s.simd) return 'simd';
  throw stateError('ERR_UNSUPPORTED',
    'nystrom-wasm needs WebAssembly with 128-bit SIMD (fixed-width SIMD proposal); ' +
      (typeof WebAssembly === 'object' ? 'this engine does not validate SIMD instructions' : 'this engine has no WebAssembly'),
  );
}

/** Throws unless `build` is a build name this engine validates. */
export function checkBuild(build: unknown): BuildName {
  if (build !== 'simd' && build !== 'relaxed') {
    throw typeError('ERR_OPTION', `build must be 'simd' or 'relaxed', got ${describe(build)}`);
  }
  const s = buildSupport();
  if (!s[build]) {
    throw stateError('ERR_UNSUPPORTED',
      build === 'relaxed'
        ? "build 'relaxed' needs relaxed SIMD, which this engine does not validate (Node 20: run with --experimental-wasm-relaxed-simd)"
        : "build 'simd' needs 128-bit WebAssembly SIMD, which this engine does not validate",
    );
  }
  return build;
}

/** Where the compiled modules come from: embedded bytes (index) or a fetched file (url). */
export interface ModuleSource {
  /** The compiled module of a build, synchronously; throws if it is not available yet. */
  module(build: BuildName): WebAssembly.Module;
  /** Makes the module of a build available (compiles asynchronously where that is possible). */
  load(build: BuildName): Promise<WebAssembly.Module>;
  /** The threads twin of a build (shared imported memory), for the worker pool, and its bytes. */
  threads(build: BuildName): Promise<{ module: WebAssembly.Module; bytes: Uint8Array<ArrayBuffer> }>;
}

/** Decodes base64 without Node's Buffer (atob exists in every runtime we target). */
export function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const bytes = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** A source over bytes known up front (embedded): compiles synchronously on first use. */
export function bytesSource(bytesOf: (build: BuildName) => Uint8Array<ArrayBuffer>,
                            threadsBytesOf: (build: BuildName) => Promise<Uint8Array<ArrayBuffer>>): ModuleSource {
  const modules: Partial<Record<BuildName, WebAssembly.Module>> = {};
  const threads: Partial<Record<BuildName, Promise<{ module: WebAssembly.Module; bytes: Uint8Array<ArrayBuffer> }>>> = {};
  return {
    threads(build) {
      return (threads[build] ??= threadsBytesOf(build).then(async (bytes) => ({ module: await WebAssembly.compile(bytes), bytes })));
    },
    module(build) {
      return (modules[build] ??= new WebAssembly.Module(bytesOf(build)));
    },
    async load(build) {
      return (modules[build] ??= await WebAssembly.compile(bytesOf(build)));
    },
  };
}
