// One wasm instance and its linear memory, laid out per call as a list of 16-byte-aligned
// regions from the module's heap base up. Memory only grows (never shrinks), and views over it
// are rebuilt after a grow. Kernels allocate nothing: every byte they touch is in a region.
import type { BuildName } from './types.js';

export interface Kernels {
  memory: WebAssembly.Memory;
  heapBase(): number;
  isRelaxed(): number;
  gemm(M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number, transB: number, c: number, ldc: number, work: number): void;
  gemmWorkBytes(N: number, K: number): number;
  firstNonFinite(p: number, count: number): number;
  softmaxWorkspaceBytes(n: number, d: number): number;
  nystromWorkspaceBytes(B: number, H: number, n: number, d: number, m: number, style: number, remainder: number, matrix: number): number;
  softmaxAttention(q: number, k: number, v: number, out: number, mask: number, conv: number, ks: number,
    B: number, H: number, n: number, d: number, style: number, matrix: number, ws: number): void;
  nystromAttention(q: number, k: number, v: number, out: number, mask: number, conv: number, ks: number,
    B: number, H: number, n: number, d: number, m: number, iters: number, init: number, style: number,
    remainder: number, matrix: number, ws: number): void;
}

const PAGE = 65536;
const MAX_BYTES = 4 * 1024 * 1024 * 1024; // wasm32

export class Engine {
  readonly k: Kernels;
  readonly build: BuildName;
  private readonly base: number;

  constructor(module: WebAssembly.Module, build: BuildName) {
    this.k = new WebAssembly.Instance(module, {}).exports as unknown as Kernels;
    this.build = build;
    this.base = (this.k.heapBase() + 15) & ~15;
  }

  /** Byte offsets of regions of the given sizes (each 16-byte aligned), memory grown to hold them. */
  layout(sizes: number[]): { offsets: number[]; end: number } {
    let p = this.base;
    const offsets = sizes.map((s) => {
      const o = p;
      p += Math.ceil(s / 16) * 16;
      return o;
    });
    this.ensure(p);
    return { offsets, end: p };
  }

  /** Grows memory to at least `bytes`, once, with a clear error when wasm32 cannot hold it. */
  ensure(bytes: number): void {
    const mem = this.k.memory;
    if (bytes > MAX_BYTES) {
      throw new RangeError(`this call needs ${bytes} bytes of wasm memory, more than the 4 GiB a wasm32 module can address`);
    }
    const have = mem.buffer.byteLength;
    if (bytes <= have) return;
    const pages = Math.ceil((bytes - have) / PAGE);
    try {
      mem.grow(pages);
    } catch (e) {
      throw new RangeError(`could not grow wasm memory to ${bytes} bytes (${(e as Error).message})`);
    }
  }

  f32(byteOffset: number, length: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, byteOffset, length);
  }

  write(byteOffset: number, src: Float32Array): void {
    this.f32(byteOffset, src.length).set(src);
  }

  /** Throws a RangeError naming the tensor and index of the first NaN/±Infinity. */
  checkFinite(byteOffset: number, length: number, name: string): void {
    const i = this.k.firstNonFinite(byteOffset, length);
    if (i >= 0) {
      const x = this.f32(byteOffset + i * 4, 1)[0];
      throw new RangeError(`${name} must be finite, got ${x} at index ${i}`);
    }
  }
}
