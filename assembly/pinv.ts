// Iterative Moore–Penrose pseudo-inverse (Razavi et al. 2014), as used by Nyströmformer (eq. 16):
//   Z0 = α·Aᵀ;  repeat: AZ = A·Z;  Z ← 0.25·Z·(13I − AZ·(15I − AZ·(7I − AZ)))
// with α chosen by the caller from matrixStats (the four `pinvInit` rules live in attention.ts).
// a, z are m×m row-major; z receives the result. work holds pinvWorkBytes(m) bytes.
// z must not overlap a or work.
import { gemm, gemmWorkBytes } from './gemm';
import { enter, leave } from './profile';
import { PROF_PINV } from './abi.generated';

export function pinvWorkBytes(m: i32): usize {
  const mm = <usize>m * <usize>m << 2;
  return 3 * ((mm + 15) & ~15) + gemmWorkBytes(m, m);
}

/** dst = c·I − src (m×m); dst may equal src. c − x is computed as c + (−x), which is the same float. */
function identityMinus(dst: usize, src: usize, m: i32, c: f32): void {
  const count = m * m;
  const count4 = count & ~3;
  let i = 0;
  for (; i < count4; i += 4) {
    const off = <usize>i << 2;
    v128.store(dst + off, f32x4.neg(v128.load(src + off)));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    store<f32>(dst + off, -load<f32>(src + off));
  }
  for (let r = 0; r < m; r++) {
    const off = (<usize>r * <usize>m + <usize>r) << 2;
    store<f32>(dst + off, c + load<f32>(dst + off));
  }
}

export function pinvIterate(a: usize, z: usize, m: i32, iters: i32, alpha: f32, work: usize): void {
  enter(PROF_PINV);
  pinvIterateBody(a, z, m, iters, alpha, work);
  leave();
}

function pinvIterateBody(a: usize, z: usize, m: i32, iters: i32, alpha: f32, work: usize): void {
  const mm = <usize>m * <usize>m << 2;
  const stride = (mm + 15) & ~15;
  const az = work;
  const t1 = work + stride;
  const t2 = work + 2 * stride;
  const gw = work + 3 * stride;
  // Z0 = α·Aᵀ
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      store<f32>(z + ((<usize>i * <usize>m + <usize>j) << 2), alpha * load<f32>(a + ((<usize>j * <usize>m + <usize>i) << 2)));
    }
  }
  for (let it = 0; it < iters; it++) {
    gemm(m, m, m, a, m, z, m, 0, az, m, gw);          // AZ = A·Z
    identityMinus(t1, az, m, 7);                      // T1 = 7I − AZ
    gemm(m, m, m, az, m, t1, m, 0, t2, m, gw);        // T2 = AZ·T1
    identityMinus(t2, t2, m, 15);                     // T2 = 15I − T2
    gemm(m, m, m, az, m, t2, m, 0, t1, m, gw);        // T1 = AZ·T2
    identityMinus(t1, t1, m, 13);                     // T1 = 13I − T1
    gemm(m, m, m, z, m, t1, m, 0, t2, m, gw);         // T2 = Z·T1
    const count = m * m;
    const q = f32x4.splat(0.25);
    let i = 0;
    const count4 = count & ~3;
    for (; i < count4; i += 4) v128.store(z + (<usize>i << 2), f32x4.mul(v128.load(t2 + (<usize>i << 2)), q));
    for (; i < count; i++) store<f32>(z + (<usize>i << 2), 0.25 * load<f32>(t2 + (<usize>i << 2)));
  }
}

/**
 * Statistics of an m×m matrix for the initial scale α, written to out[0..3):
 * out[0] = max_j Σ_i a_ij (largest column sum), out[1] = max_i Σ_j |a_ij| (‖A‖∞),
 * out[2] = max_j Σ_i |a_ij| (‖A‖₁).
 */
export function matrixStats(a: usize, m: i32, out: usize): void {
  enter(PROF_PINV);
  matrixStatsBody(a, m, out);
  leave();
}

function matrixStatsBody(a: usize, m: i32, out: usize): void {
  let maxCol: f32 = -Infinity;
  let maxAbsRow: f32 = 0;
  let maxAbsCol: f32 = 0;
  for (let i = 0; i < m; i++) {
    let s: f32 = 0;
    for (let j = 0; j < m; j++) s += abs<f32>(load<f32>(a + ((<usize>i * <usize>m + <usize>j) << 2)));
    maxAbsRow = max(maxAbsRow, s);
  }
  for (let j = 0; j < m; j++) {
    let s: f32 = 0;
    let sa: f32 = 0;
    for (let i = 0; i < m; i++) {
      const x = load<f32>(a + ((<usize>i * <usize>m + <usize>j) << 2));
      s += x;
      sa += abs<f32>(x);
    }
    maxCol = max(maxCol, s);
    maxAbsCol = max(maxAbsCol, sa);
  }
  store<f32>(out, maxCol);
  store<f32>(out, maxAbsRow, 4);
  store<f32>(out, maxAbsCol, 8);
}
