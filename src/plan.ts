// Memory planning, in JS numbers (exact to 2^53, so sizes past 4 GiB are computed, not wrapped):
// the bytes of every region a call needs — its tensors, the shared workspace and each thread's
// scratch — and the context record that tells the kernels where they are (field offsets from the
// generated interface, src/abi.generated.ts). The kernels allocate nothing and size nothing.
import { CONSTS, CTX, CTX_BYTES, MODE } from './abi.generated.js';
import { checkInt, type Checked } from './validate.js';
import { rangeError } from './errors.js';

export type Mode = (typeof MODE)[number];
export type Kind = 'nystrom' | 'softmax';

export const align16 = (x: number) => Math.ceil(x / 16) * 16;

/** wasm32: 65536 pages of 64 KiB. */
export const WASM32_BYTES = 2 ** 32;
let limit = WASM32_BYTES;

/**
 * Caps the linear memory of every later call and plan (default and maximum: the 4 GiB wasm32 can
 * address). A call that needs more is refused with a RangeError (code ERR_MEMORY) before any
 * memory is grown or written. Returns the previous limit.
 */
export function setMemoryLimit(bytes: number): number {
  const prev = limit;
  limit = checkInt(bytes, 'setMemoryLimit: bytes', 65536, WASM32_BYTES);
  return prev;
}

/** The current cap on a call's linear memory, in bytes. */
export function memoryLimit(): number {
  return limit;
}

/** "2812345678 bytes (2.62 GiB)" */
export function bytesText(b: number): string {
  const units: [number, string][] = [[2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB']];
  const u = units.find(([s]) => b >= s);
  return u ? `${b} bytes (${(b / u[0]).toFixed(2)} ${u[1]})` : `${b} bytes`;
}

/** The RangeError of a call that does not fit: what it needs, the limit, and a hint. */
export function memoryError(what: string, need: number, hint = '') {
  const cap = limit === WASM32_BYTES ? 'the 4 GiB a wasm32 module can address' : `the limit set by setMemoryLimit, ${bytesText(limit)}`;
  return rangeError('ERR_MEMORY', `${what} needs ${bytesText(need)} of wasm memory, more than ${cap}${hint ? `; ${hint}` : ''}`);
}

const f32s = (count: number) => align16(count * 4);

// gemm's blocking (assembly/gemm.ts: KC_MAX, A_BLOCK_BYTES, MC_MAX); a host test checks
// gemmWorkBytes against the module's own over a grid.
const KC_MAX = 4096;
const A_BLOCK_BYTES = 256 << 10;
const MC_MAX = 64;

/** Bytes of gemm's `work` for an N×K op(B): ⌈N/8⌉ panels of K·8 floats plus one packed A block. */
export function gemmWorkBytes(N: number, K: number): number {
  if (N <= 0 || K <= 0) return 0;
  const nkb = Math.ceil(K / KC_MAX);
  const kc = Math.ceil(K / nkb);
  const mc = Math.max(4, Math.min(MC_MAX, Math.floor(A_BLOCK_BYTES / (kc * 4)) & ~3));
  return Math.ceil(N / 8) * K * 32 + mc * kc * 4;
}

/** Bytes of the fused exact attention's `work` (assembly/flash.ts flashWorkBytes): the packed Q
 *  tiles and O accumulators of a block of FLASH_ROWS rows, one FLASH_KEYS × 4 block of p, and
 *  each row's running max and sum. */
export function flashWorkBytes(d: number): number {
  const R = CONSTS.FLASH_ROWS;
  return R * d * 4 + R * Math.ceil(d / 8) * 8 * 4 + CONSTS.FLASH_KEYS * 16 + R * 8;
}

/** Bytes of op(B) (N×K) packed by packB alone: ⌈N/8⌉ panels of K·8 floats (no packed A block). */
export function packedBBytes(N: number, K: number): number {
  return N <= 0 || K <= 0 ? 0 : Math.ceil(N / 8) * K * 32;
}

/** Bytes of pinvIterate's `work`: three m×m matrices and gemm scratch. */
export function pinvWorkBytes(m: number): number {
  return 3 * f32s(m * m) + gemmWorkBytes(m, m);
}

/** Rows of zero padding in front (remainder 'pad') so that m divides n + pad. */
export function padRows(n: number, m: number, remainder: number): number {
  return remainder === 0 ? (m - (n % m)) % m : 0;
}

/** The call's geometry: padded length, and whether it runs exact attention. */
export interface Geometry {
  pad: number;
  np: number;
  exact: boolean;
}

export function geometry(kind: Kind, c: Checked): Geometry {
  if (kind === 'softmax') return { pad: 0, np: c.n, exact: true };
  const pad = padRows(c.n, c.m, c.remainder);
  // Authors and hf run exact attention when m equals the length the algorithm runs on (unless the
  // caller asks for the Nyström formulas anyway: HF's model decides from its config, not the length).
  return { pad, np: c.n + pad, exact: c.style !== 2 && c.m === c.n + pad && !c.noShortcut };
}

/** A region name → bytes list; zero-size regions get an address but no memory. */
export type Regions = [name: string, bytes: number][];

/** The shared workspace and the per-thread scratch of one call (context field names). */
export interface CallPlan {
  geo: Geometry;
  mode: Mode;
  /** Nyström with fewer heads than threads: the threads split each head, so kernel 3 and the packed
   *  V of every head are shared regions (F3, PACK_V) instead of thread scratch (K3_SHARED). */
  k3Shared: boolean;
  /** Shared regions (context fields), in order. */
  shared: Regions;
  /** One thread's scratch slots (context fields T_*), in order. */
  scratch: Regions;
}

/** The plan of a call in `mode` run by `threads` threads (schedule.ts splits the heads across
 *  threads when there are enough of them, else each head's ranges). */
export function planCall(kind: Kind, c: Checked, mode: Mode, threads = 1): CallPlan {
  const geo = geometry(kind, c);
  const { B, H, n, d, m } = c;
  const BH = B * H;
  const { np } = geo;
  const k3Shared = !geo.exact && BH < threads;
  const shared: Regions = [['KEEP', f32s(B * np)], ['BIAS', f32s(B * np)]];
  let scratch: Regions;
  if (geo.exact) {
    scratch = [
      // Attention mode: the fused kernel reads Kᵀ and V packed by packB (panels only); the other
      // modes multiply by the packed Kᵀ with gemmPacked (which packs A blocks after the panels).
      ['T_S', mode === 'attention' ? align16(flashWorkBytes(d)) : f32s(CONSTS.EXACT_ROWS * np)],
      ['T_PACK_KT', mode === 'attention' ? packedBBytes(n, d) : gemmWorkBytes(n, d)],
      ['T_PACK_V', mode === 'attention' ? packedBBytes(d, n) : 0],
    ];
    if (mode === 'factors') {
      // kernel 1 is the exact softmax [np, np]; Z and kernel 3 the identity (m == np).
      shared.push(['F1', f32s(BH * np * np)], ['Z', f32s(BH * np * np)], ['F3', f32s(BH * np * np)]);
    }
  } else {
    // (lucidrains always gets its mask counts: a plan's mask may be set after it is laid out.)
    const lucid = c.style === 2;
    const attention = mode === 'attention';
    // Kernel 3 [m, np] and the packed V: per head in the shared workspace (factors and matrix modes
    // keep kernel 3 anyway; a split head is shared by its threads), else one head's in each thread's scratch.
    const k3 = f32s(m * np), packV = packedBBytes(d, n);
    shared.push(
      ['LMCOUNT', lucid ? f32s(BH * m) : 0],
      ['QL', f32s(BH * m * d)],
      ['KL', f32s(BH * m * d)],
      ['K2', f32s(BH * m * m)],
      ['STATS', f32s(BH * CONSTS.STATS)],
      ['Z', f32s(BH * m * m)],
      ['K3V', attention ? f32s(BH * m * d) : 0],
      ['ZV', attention ? f32s(BH * m * d) : 0],
      ['F1', attention ? 0 : f32s(BH * np * m)],
      ['F3', !attention || k3Shared ? f32s(BH * m * np) : 0],
      ['PACK_V', attention && k3Shared ? BH * packV : 0],
    );
    const rows = Math.min(CONSTS.ROW_BLOCK, n);
    // k1, k2 (B = K~ᵀ); k3's logits by blocks of K3_COLS keys (B = Kᵀ)
    let gemm = Math.max(gemmWorkBytes(m, d), gemmWorkBytes(Math.min(n, CONSTS.K3_COLS), d));
    // k3·V (V packed apart: gemm's A blocks only), Z·(k3V) and k1·ZV
    if (attention) gemm = Math.max(gemm, gemmWorkBytes(d, n) - packV, gemmWorkBytes(d, m));
    if (mode === 'matrix') gemm = Math.max(gemm, gemmWorkBytes(m, m), gemmWorkBytes(n, m)); // k1·Z, W·k3
    scratch = [
      ['T_K1', attention ? f32s(rows * m) : 0],
      ['T_W', mode === 'matrix' ? f32s(rows * m) : 0],
      ['T_K3', attention && !k3Shared ? k3 : 0],
      ['T_PACK_V', attention && !k3Shared ? packV : 0],
      ['T_PINV', pinvWorkBytes(m)],
      ['T_GEMM', align16(gemm)],
    ];
  }
  return { geo, mode, k3Shared, shared, scratch };
}

/** Bytes of one thread's scratch. */
export function scratchBytes(p: CallPlan): number {
  return p.scratch.reduce((s, [, b]) => s + align16(b), 0);
}

/** Bytes of the shared workspace (the context record included). */
export function sharedBytes(p: CallPlan): number {
  return align16(CTX_BYTES) + p.shared.reduce((s, [, b]) => s + align16(b), 0);
}

/** Addresses of the tensors a call reads and writes. */
export interface Tensors {
  q: number; k: number; v: number; out: number; mask: number; conv: number;
}

/**
 * Writes the context record at `ctx` (followed by the shared regions, then `threads` scratch
 * blocks, as sized by sharedBytes + threads·scratchBytes).
 */
export function writeContext(mem: ArrayBuffer, ctx: number, kind: Kind, c: Checked, p: CallPlan, t: Tensors, bnhd: boolean): void {
  const u = new Uint32Array(mem, ctx, CTX_BYTES / 4);
  u.fill(0);
  const set = (f: keyof typeof CTX, value: number) => {
    u[CTX[f] / 4] = value;
  };
  const { B, H, n, d } = c;
  const { geo } = p;
  set('Q', t.q); set('K', t.k); set('V', t.v); set('OUT', t.out);
  set('MASK', c.mask ? t.mask : 0);
  set('CONV', c.ks > 0 && t.conv !== 0 && p.mode === 'attention' ? t.conv : 0);
  set('KS', c.ks);
  set('B', B); set('H', H); set('N', n); set('D', d);
  set('M', geo.exact && kind === 'nystrom' ? geo.np : c.m);
  set('ITERS', c.iters); set('INIT', c.init); set('STYLE', c.style);
  set('UNEVEN', kind === 'nystrom' && c.remainder === 1 ? 1 : 0);
  set('PAD', geo.pad); set('NP', geo.np); set('EXACT', geo.exact ? 1 : 0);
  set('MODE', MODE.indexOf(p.mode));
  set('K3_SHARED', p.k3Shared ? 1 : 0);
  // q, k, v: [B, H, n, d] or [B, n, H, d]; the attention output has the same layout; matrices [B, H, n, n].
  const [sB, sH, ld] = bnhd ? [n * H * d, d, H * d] : [H * n * d, n * d, d];
  set('S_B', sB); set('S_H', sH); set('LD', ld);
  if (p.mode === 'matrix') {
    set('O_B', H * n * n); set('O_H', n * n); set('O_LD', n);
  } else {
    set('O_B', sB); set('O_H', sH); set('O_LD', ld);
  }
  let a = ctx + align16(CTX_BYTES);
  for (const [name, bytes] of p.shared) {
    set(name as keyof typeof CTX, a);
    a += align16(bytes);
  }
  set('SCRATCH', a);
  set('SCRATCH_BYTES', scratchBytes(p));
  let off = 0;
  for (const [name, bytes] of p.scratch) {
    set(name as keyof typeof CTX, off);
    off += align16(bytes);
  }
}

/** Address of a shared region (after writeContext). */
export function regionAddress(mem: ArrayBuffer, ctx: number, name: keyof typeof CTX): number {
  return new Uint32Array(mem, ctx, CTX_BYTES / 4)[CTX[name] / 4];
}
