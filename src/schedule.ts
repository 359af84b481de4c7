// How a call is split over T threads: a program of phases, each a list of kernel calls (tasks) per
// thread; threads meet at a barrier between phases. Tasks are the range entry points of the module
// (scripts/abi.mjs), so every output element gets the same arithmetic whatever the split: the pool
// gives the same bits as one thread. Splits: across heads when there are at least T of them, else
// across row ranges inside each head (one long sequence with one head is the case that matters).
import { CONSTS } from './abi.generated.js';
import type { CallPlan } from './plan.js';
import type { Checked } from './validate.js';

/** Int32 words of the pool's control block in shared memory (see worker.ts). */
export const GEN = 0, ARRIVED = 1, ABORT = 2;
/** Words 4, 5, 6: the first non-finite index of q, k, v found by the pool's scan tasks (−1: none). */
export const SCAN = 4;
/** Words CLAIMS … CLAIMS + MAX_CLAIMS − 1: the counters of claimed ranges, zeroed before each call (by
 *  the host) and at every barrier (by the last thread to arrive): each phase counts from 0. */
export const CLAIMS = 16, MAX_CLAIMS = 48;
/** Bytes of the control block. */
export const CONTROL_BYTES = (CLAIMS + MAX_CLAIMS) * 4;

/**
 * A kernel call: the export's name, then its arguments. The name CLAIM makes it a claimed range:
 * [CLAIM, word, count, chunk, name, ...args] — the threads that have it take chunks [a, b) of
 * [0, count) from the shared counter `word` (an atomic add, so each chunk runs once, on whichever
 * thread is free first) and run name(...args, a, b) for each.
 */
export const CLAIM = '@claim';
/** A plain kernel call. */
export type Call = [name: string, ...args: number[]];
export type Task = Call | [claim: typeof CLAIM, word: number, count: number, chunk: number, name: string, ...args: number[]];
/** phases[p][t]: the tasks of thread t in phase p. */
export type Program = Task[][][];

/** Rows per task: small enough that an abort is seen soon and the threads finish together, large
 *  enough to cost nothing (whole row blocks of the Nyström output). */
const ROWS_PER_TASK = CONSTS.ROW_BLOCK;
/** Exact attention rows per task (each call packs the head's K and V: few, long tasks). */
const EXACT_ROWS_PER_TASK = 4 * CONSTS.ROW_BLOCK;

/** [start, end) of part p of `count` items split into `parts` contiguous, balanced ranges. */
export function part(count: number, parts: number, p: number): [number, number] {
  return [Math.floor((count * p) / parts), Math.floor((count * (p + 1)) / parts)];
}

function emptyPhase(T: number): Task[][] {
  return Array.from({ length: T }, () => []);
}

/** Hands out the claim counters of one phase (each claimed range of a phase needs a word of its own). */
class Claims {
  private next = CLAIMS;
  word(): number {
    if (this.next >= CLAIMS + MAX_CLAIMS) throw new Error('schedule: more claimed ranges in a phase than counters');
    return this.next++;
  }
}

/**
 * Range tasks over heads × [0, count) in chunks: whole heads per thread; or, with fewer heads than
 * threads, each head's range split — claimed a chunk at a time by every thread when `claimed` is
 * given (kernels whose per-call set-up is small: the threads finish together whatever else they
 * ran before), else cut into T equal parts (kernels that pack a whole head's K or V per call).
 */
function rangesPhase(T: number, BH: number, count: number, claimed: boolean, name: string, args: (head: number, t: number) => number[], chunk: number): Task[][] {
  const phase = emptyPhase(T);
  const push = (t: number, h: number, a: number, b: number) => {
    for (let x = a; x < b; x += chunk) phase[t].push([name, ...args(h, t), x, Math.min(b, x + chunk)]);
  };
  if (BH >= T) {
    for (let t = 0; t < T; t++) {
      const [h0, h1] = part(BH, T, t);
      for (let h = h0; h < h1; h++) push(t, h, 0, count);
    }
  } else if (claimed && BH <= MAX_CLAIMS) {
    const claims = new Claims();
    for (let h = 0; h < BH; h++) {
      const word = claims.word();
      for (let t = 0; t < T; t++) phase[t].push([CLAIM, word, count, chunk, name, ...args(h, t)]);
    }
  } else {
    for (let h = 0; h < BH; h++) {
      for (let t = 0; t < T; t++) {
        const [a, b] = part(count, T, t);
        if (a < b) push(t, h, a, b);
      }
    }
  }
  return phase;
}

/** Tasks per head (one call each), heads split across threads. */
function headsPhase(T: number, BH: number, task: (head: number, t: number) => Task): Task[][] {
  const phase = emptyPhase(T);
  for (let t = 0; t < T; t++) {
    const [h0, h1] = part(BH, T, t);
    for (let h = h0; h < h1; h++) phase[t].push(task(h, t));
  }
  return phase;
}

/** One task on thread 0. */
function single(T: number, task: Task): Task[][] {
  const phase = emptyPhase(T);
  phase[0].push(task);
  return phase;
}

/** The tensors a pool call scans for NaN/±Infinity in its first phase: [address, count, result word address]. */
export type Scan = [at: number, count: number, dst: number][];

/**
 * The program of an attention call whose context is at `ctx` (see attention.ts for the one-thread
 * order). `scans` go to the last thread's first phase (the small steps keep thread 0 busy there).
 */
export function attentionProgram(ctx: number, c: Checked, plan: CallPlan, T: number, scans: Scan = []): Program {
  const program = attentionPhases(ctx, c, plan, T);
  for (const [at, count, dst] of scans) program[0][T - 1].unshift(['scanFinite', at, count, dst]);
  return program;
}

function attentionPhases(ctx: number, c: Checked, plan: CallPlan, T: number): Program {
  const BH = c.B * c.H;
  const { n } = c;
  const { exact } = plan.geo;
  const mode = plan.mode;
  const program: Program = [single(T, ['prepare', ctx])];
  if (exact) {
    program.push(rangesPhase(T, BH, n, false, 'exactRows', (h, t) => [ctx, t, h], EXACT_ROWS_PER_TASK));
    if (mode === 'factors') program.push(headsPhase(T, BH, (h) => ['factorsFill', ctx, h]));
    return program;
  }
  const m = c.m;
  if (BH >= T) {
    // Enough heads: whole heads per thread; α (one maximum over every head for 'original') between.
    program.push(headsPhase(T, BH, (h, t) => ['nyLandmarks', ctx, t, h, 0, m]).map((tasks) =>
      tasks.flatMap((task) => [task, ['nyKernel2', ctx, task[2], task[3]] as Task])));
    program.push(single(T, ['nyAlpha', ctx]));
    const k3 = headsPhase(T, BH, (h, t) => ['nyPinv', ctx, t, h]);
    for (let t = 0; t < T; t++) {
      const [h0, h1] = part(BH, T, t);
      for (let h = h0; h < h1; h++) k3[t].push(['nyKernel3', ctx, t, h, 0, m]);
    }
    program.push(k3);
  } else {
    // Fewer heads than threads (one long sequence): the small steps — landmarks, kernel 2, α and the
    // pseudo-inverses — on thread 0 (prepare is in the same phase: they do not read KEEP/BIAS),
    // then kernel-3 rows claimed by every thread, thread 0 after its pinv work.
    program.length = 0;
    const first = emptyPhase(T);
    first[0].push(['prepare', ctx]);
    for (let h = 0; h < BH; h++) first[0].push(['nyLandmarks', ctx, 0, h, 0, m], ['nyKernel2', ctx, 0, h]);
    program.push(first);
    // Kernel-3 rows claimed in a few large chunks (each call packs the head's K and V, so chunks stay
    // big): thread 0 joins once its pseudo-inverses are done, whatever they cost on this machine.
    const k3 = rangesPhase(T, BH, m, true, 'nyKernel3', (h, t) => [ctx, t, h], Math.max(8, Math.ceil(m / (2 * T))));
    k3[0].unshift(['nyAlpha', ctx], ...Array.from({ length: BH }, (_, h): Task => ['nyPinv', ctx, 0, h]));
    program.push(k3);
  }
  program.push(rangesPhase(T, BH, n, true, 'nyRows', (h, t) => [ctx, t, h], ROWS_PER_TASK));
  if (mode === 'matrix') program.push(rangesPhase(T, BH, n, true, 'nyMatrixRows', (h, t) => [ctx, t, h], ROWS_PER_TASK));
  if (mode === 'factors') program.push(headsPhase(T, BH, (h) => ['factorsFill', ctx, h]));
  return program;
}

/**
 * The program of C[M×N] = A·op(B): split across column blocks of C (multiples of 8: each thread packs
 * only its part of B) when N ≥ M, else across row blocks (multiples of 4). `work[t]` is thread t's
 * packing scratch (gemmWorkBytes(columns of the widest part, K) bytes).
 */
export function matmulProgram(M: number, N: number, K: number, a: number, b: number, transB: boolean, c: number,
                              work: number[], T: number): Program {
  const phase = emptyPhase(T);
  const byColumns = N >= M;
  const units = byColumns ? Math.ceil(N / 8) : Math.ceil(M / 4);
  const parts = Math.min(T, units);
  for (let t = 0; t < parts; t++) {
    const [u0, u1] = part(units, parts, t);
    if (byColumns) {
      const j0 = u0 * 8, j1 = Math.min(N, u1 * 8);
      const bj = transB ? b + j0 * K * 4 : b + j0 * 4;
      phase[t].push(['gemm', M, j1 - j0, K, a, K, bj, transB ? K : N, transB ? 1 : 0, c + j0 * 4, N, work[t]]);
    } else {
      const i0 = u0 * 4, i1 = Math.min(M, u1 * 4);
      phase[t].push(['gemm', i1 - i0, N, K, a + i0 * K * 4, K, b, transB ? K : N, transB ? 1 : 0, c + i0 * N * 4, N, work[t]]);
    }
  }
  return [phase];
}

/** Columns of the widest column part of a matmul split (for sizing each thread's scratch). */
export function matmulPartColumns(M: number, N: number, T: number): number {
  if (N < M) return N;
  const units = Math.ceil(N / 8);
  const parts = Math.min(T, units);
  let widest = 0;
  for (let t = 0; t < parts; t++) {
    const [u0, u1] = part(units, parts, t);
    widest = Math.max(widest, Math.min(N, u1 * 8) - u0 * 8);
  }
  return widest;
}
