// One wasm instance and its linear memory. Regions are laid out from the module's heap base up,
// 16-byte aligned; memory only grows (views over it are rebuilt after a grow). The instance's
// exports are checked once per module against the declared interface (src/abi.generated.ts).
import { EXPORTS } from './abi.generated.js';
import type { BuildName } from './types.js';
import { disposedError, rangeError, stateError } from './errors.js';
import { bytesText, memoryError, memoryLimit } from './plan.js';

type Fn<N extends number> = N extends 0 ? () => number
  : N extends 1 ? (a: number) => number
  : N extends 2 ? (a: number, b: number) => number
  : N extends 3 ? (a: number, b: number, c: number) => number
  : (...args: number[]) => number;

/** The module's exports, typed from the declared list. */
export type Kernels = { memory: WebAssembly.Memory } & {
  [K in Exclude<keyof typeof EXPORTS, 'memory'>]: (typeof EXPORTS)[K] extends number ? Fn<(typeof EXPORTS)[K]> : never;
};

const PAGE = 65536;

const checked = new WeakSet<WebAssembly.Module>();

/**
 * Throws unless the module exports exactly the declared names, each function with the declared
 * number of parameters (a drift between host and module would otherwise misbehave silently).
 */
export function checkExports(module: WebAssembly.Module, exports: Record<string, unknown>,
                             declared: Record<string, number | null> = EXPORTS): void {
  if (declared === EXPORTS && checked.has(module)) return;
  const problems: string[] = [];
  const names = WebAssembly.Module.exports(module).map((e) => e.name);
  for (const name of names) if (!(name in declared)) problems.push(`undeclared export '${name}'`);
  for (const [name, arity] of Object.entries(declared)) {
    const x = exports[name];
    if (x === undefined) problems.push(`missing export '${name}'`);
    else if (arity === null ? !(x instanceof WebAssembly.Memory) : typeof x !== 'function' || x.length !== arity) {
      problems.push(`export '${name}' takes ${typeof x === 'function' ? x.length : 'no'} parameters, declared ${arity}`);
    }
  }
  if (problems.length) throw stateError('ERR_LOAD', `nystrom-wasm: the wasm module does not match its declared interface: ${problems.join('; ')}`);
  if (declared === EXPORTS) checked.add(module);
}

export class Engine {
  readonly build: BuildName;
  private kernels: Kernels | null;
  private readonly base: number;

  /**
   * An instance of `module`: with its own memory, or (threads builds) on a given shared memory.
   * `reserve` bytes after the heap base are kept out of every layout (the pool's control block).
   */
  constructor(module: WebAssembly.Module, build: BuildName, opts: { memory?: WebAssembly.Memory; reserve?: number } = {}) {
    const env: Record<string, WebAssembly.ImportValue> = {};
    if (opts.memory) env.memory = opts.memory;
    // The bench's profile builds time their kernels with the host's clock.
    if (WebAssembly.Module.imports(module).some((i) => i.module === 'env' && i.name === 'now')) env.now = () => performance.now();
    const imports: WebAssembly.Imports = { env };
    const exports = new WebAssembly.Instance(module, imports).exports as Record<string, unknown>;
    checkExports(module, exports);
    this.kernels = exports as unknown as Kernels;
    this.build = build;
    this.base = ((this.kernels.heapBase() + 15) & ~15) + Math.ceil((opts.reserve ?? 0) / 16) * 16;
  }

  /** The first byte after the heap base (where a reserved block starts). */
  get reserved(): number {
    return (this.k.heapBase() + 15) & ~15;
  }

  /** The exports; throws once the engine is disposed. */
  get k(): Kernels {
    if (!this.kernels) throw disposedError('this engine');
    return this.kernels;
  }

  get disposed(): boolean {
    return this.kernels === null;
  }

  /** Drops the instance and its memory (reclaimed once nothing else references them). */
  dispose(): void {
    this.kernels = null;
  }

  get buffer(): ArrayBuffer {
    const b = this.k.memory.buffer;
    this.buffers.add(b);
    return b;
  }

  /** The buffer objects this memory has been seen through: a shared memory that grew gives a new
   *  object for the same bytes, and views made before are still live views of it. */
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  /** Whether `x` views this engine's memory (through any of its buffer objects). */
  views(x: ArrayBufferView): boolean {
    return x.buffer === this.buffer || this.buffers.has(x.buffer);
  }

  /** The first address regions are laid out from. */
  get heapStart(): number {
    return this.base;
  }

  /** Byte offsets of regions of the given sizes (each 16-byte aligned) and their end. */
  static offsets(base: number, sizes: number[]): { offsets: number[]; end: number } {
    let p = base;
    const offsets = sizes.map((s) => {
      const o = p;
      p += Math.ceil(s / 16) * 16;
      return o;
    });
    return { offsets, end: p };
  }

  /**
   * Regions of the given sizes from `start` (default the heap start: every layout reuses the same
   * memory), memory grown to hold them (checked against the limit first).
   */
  layout(sizes: number[], what = 'this call', start = this.base): { offsets: number[]; end: number } {
    const r = Engine.offsets(Math.max(start, this.base), sizes);
    this.ensure(r.end, what);
    return r;
  }

  /** Grows memory to at least `bytes`; a RangeError (ERR_MEMORY) past the limit or when the engine refuses. */
  ensure(bytes: number, what = 'this call'): void {
    const mem = this.k.memory;
    if (bytes > memoryLimit()) throw memoryError(what, bytes);
    const have = mem.buffer.byteLength;
    if (bytes <= have) return;
    const pages = Math.ceil((bytes - have) / PAGE);
    try {
      mem.grow(pages);
    } catch (e) {
      throw rangeError('ERR_MEMORY', `${what} needs ${bytesText(bytes)} of wasm memory, and the engine refused to grow it (${(e as Error).message})`);
    }
  }

  f32(byteOffset: number, length: number): Float32Array {
    return new Float32Array(this.buffer, byteOffset, length);
  }

  /** Copies src into memory at byteOffset (skipped when src already is that view). */
  write(byteOffset: number, src: Float32Array): void {
    if (src.byteOffset === byteOffset && this.views(src)) return;
    this.f32(byteOffset, src.length).set(src);
  }

  /**
   * Copies each source into its region, in order (`written(i)` after source i). Sources that are
   * other views of this memory (a plan's own buffers in another role, overlapping windows) are
   * read before anything is written.
   */
  writeAll(inputs: [Float32Array, number][], written?: (i: number) => void): void {
    const staged = inputs.map(([src, at]) => [src.byteOffset !== at && this.views(src) ? src.slice() : src, at] as const);
    staged.forEach(([src, at], i) => {
      this.write(at, src);
      written?.(i);
    });
  }

  /** Throws a RangeError naming the tensor and index of the first NaN/±Infinity. */
  checkFinite(byteOffset: number, length: number, name: string): void {
    const i = this.k.firstNonFinite(byteOffset, length);
    if (i >= 0) {
      const x = this.f32(byteOffset + i * 4, 1)[0];
      throw rangeError('ERR_NOT_FINITE', `${name} must be finite, got ${x} at index ${i}`);
    }
  }
}
