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
/** Words 4, 5, 6: set to 1 by the pool's scan tasks when q, k, v hold a NaN/±Infinity (the host zeroes them). */
export const SCAN = 4;
/** Words 8, 9, 10: gates the host raises (to 1) once q, k, v are written, in that order: the workers
 *  start with the program posted and wait at a gate only where a task reads that input. */
export const GATES = 8;
/** Word 11: an event thread 0 raises for the other threads of a split head in its phase: the Q
 *  landmarks are ready (phase 1), ZV is ready (the output rows). Events raised by workers last one
 *  phase: the barrier zeroes them (a model's program runs one attention per layer), while the host's
 *  gates stay raised for the whole call. */
export const EVENT = 11;
/** Words 12 … 15: gates of the Q_PARTS parts of q a one-head call writes in turn (see qParts). */
export const Q_GATES = 12, Q_PARTS = 4;
/** [first, end) of the words zeroed before each call (gates and events) and of those zeroed at every barrier. */
export const EVENTS = [GATES, Q_GATES + Q_PARTS] as const;
export const PHASE_EVENTS = [EVENT, EVENT + 1] as const;
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
/** [GATE, word]: wait until control word `word` is non-zero (an input the host is still writing, or
 *  an event another thread raises); [RAISE, word]: set it and wake its waiters. */
export const GATE = '@gate', RAISE = '@raise';
/** A plain kernel call. */
export type Call = [name: string, ...args: number[]];
export type Task = Call | [claim: typeof CLAIM, word: number, count: number, chunk: number, name: string, ...args: number[]]
  | [gate: typeof GATE | typeof RAISE, word: number];
/** phases[p][t]: the tasks of thread t in phase p. */
export type Program = Task[][][];

/** Rows per task: small enough that an abort is seen soon and the threads finish together (the
 *  last task of a phase is what the others wait for: ~0.1 ms at d = m = 64), large enough to cost
 *  nothing (half a row block of the Nyström output; rows are independent, so any split of multiples
 *  of 4 gives the same bits). */
const ROWS_PER_TASK = CONSTS.ROW_BLOCK / 2;
/** Exact attention rows per task (each call packs the head's K and V: few, long tasks). */
const EXACT_ROWS_PER_TASK = 4 * CONSTS.ROW_BLOCK;
/** Kernel-3 rows per task (claimed): m = 64 landmarks make 8 tasks, so two threads end the phase
 *  within a fraction of a task of each other (with 16-row tasks, 4 tasks of ~1.3 ms at n = 16384,
 *  one thread waited ~0.25 ms at the barrier); the packed V streamed once per task cost no
 *  measurable time (kernel-3 rows 5.2 thread-ms either way). */
const K3_ROWS_PER_TASK = 8;
/** Floats per task of an input's finiteness scan. */
const SCAN_FLOATS = 1 << 16;

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

/**
 * The inputs of a pool call, written by the host after the program is posted: their addresses (q,
 * k, v, in the order the host writes them, raising gate GATES + i after each), their floats each, and
 * the control words their scans set (SCAN + i).
 */
export interface Feed {
  at: [q: number, k: number, v: number];
  count: number;
  /** Whether the host is still writing them (false: in place already, scanned only). */
  gated: boolean;
}

/** First row of landmark segment j among the np rows (PAD zero rows first): assembly/landmarks.ts segmentStart. */
function segmentStart(j: number, np: number, m: number, uneven: boolean): number {
  if (!uneven) return j * (np / m);
  const s = Math.floor(np / m);
  const short = (s + 1) * m - np;
  return j < short ? j * s : short * s + (j - short) * (s + 1);
}

/**
 * One head split across threads: the rows [r_g, r_g+1) of q (r_0 = 0 … r_Q_PARTS = n) the host writes
 * one part at a time, each holding whole landmark segments, so thread 0 averages a part's segments
 * (and scans it) while the next one is written. null: q is written at once.
 */
export function qParts(c: Checked, plan: CallPlan): number[] | null {
  if (!plan.k3Shared || c.B * c.H !== 1 || plan.mode !== 'attention' || c.m < Q_PARTS) return null;
  const { pad, np } = plan.geo;
  const rows = [0];
  for (let g = 1; g < Q_PARTS; g++) rows.push(Math.max(0, segmentStart(Math.floor((g * c.m) / Q_PARTS), np, c.m, c.remainder === 1) - pad));
  rows.push(c.n);
  return rows;
}

/** The claimed scan of `count` floats at `at` into scan word SCAN + i (every thread that has it takes ranges of SCAN_FLOATS). */
function claimedScan(at: number, count: number, i: number, claims: Claims, control: number): Task {
  return [CLAIM, claims.word(), count, SCAN_FLOATS, 'scanRange', at, control + (SCAN + i) * 4];
}

/** The claimed scan of input i of a feed. */
function scanTask(feed: Feed, i: number, claims: Claims, control: number): Task {
  return claimedScan(feed.at[i], feed.count, i, claims, control);
}

/** The claimed scans of q, k and v (one phase's counters). */
function scanAll(feed: Feed, control: number): Task[] {
  const claims = new Claims();
  return [0, 1, 2].map((i) => scanTask(feed, i, claims, control));
}

/**
 * The program of an attention call whose context is at `ctx` (see attention.ts for the one-thread
 * order). With a `feed`, the inputs are still being written when the workers start: tasks that read
 * an input wait at its gate first, and the program scans each input for NaN/±Infinity on the way
 * (`control`: the control block's address). Without one (a model's layers), the inputs are in place.
 */
export function attentionProgram(ctx: number, c: Checked, plan: CallPlan, T: number, feed?: Feed, control = 0): Program {
  const BH = c.B * c.H;
  const { n, d } = c;
  const mode = plan.mode;
  const all = (phase: Task[][], ...tasks: Task[]) => phase.forEach((p) => p.push(...tasks));
  if (plan.geo.exact) {
    // Exact attention: every task reads whole heads of q, k and v.
    const first = emptyPhase(T);
    first[0].push(['prepare', ctx]);
    if (feed) all(first, ...(feed.gated ? [[GATE, GATES + 2] as Task] : []), ...scanAll(feed, control));
    const program: Program = [first, rangesPhase(T, BH, n, false, 'exactRows', (h, t) => [ctx, t, h], EXACT_ROWS_PER_TASK)];
    if (mode === 'factors') program.push(headsPhase(T, BH, (h) => ['factorsFill', ctx, h]));
    return program;
  }
  const m = c.m;
  const program: Program = [];
  if (!plan.k3Shared) {
    // Enough heads: whole heads per thread; α (one maximum over every head for 'original') between.
    const first = headsPhase(T, BH, (h, t) => ['nyLandmarks', ctx, t, h, 0, m]).map((tasks) =>
      tasks.flatMap((task) => [task, ['nyKernel2', ctx, (task as Call)[2], (task as Call)[3]] as Task]));
    first[0].unshift(['prepare', ctx]);
    if (feed) {
      if (feed.gated) for (const tasks of first) tasks.unshift([GATE, GATES + 2]);
      all(first, ...scanAll(feed, control));
    }
    program.push(first, single(T, ['nyAlpha', ctx]));
    program.push(headsPhase(T, BH, (h, t) => ['nyPinv', ctx, t, h]).map((tasks) =>
      tasks.flatMap((task) => [task, ['nyKernel3', ctx, (task as Call)[2], (task as Call)[3]] as Task])));
  } else {
    // Fewer heads than threads (one long sequence): each head's ranges are split. While the host
    // writes k and v, thread 0 alone works (the host has the other core): Q~ as soon as q is written
    // (then it raises EVENT), K~, kernel 2, α and the pseudo-inverses once k is, then kernel-3
    // logits by blocks of keys; the other threads sleep until v is written (and Q~ is ready), then
    // every thread claims logits, V's panels and the scans. Phase 2: the kernel-3 rows (softmax,
    // product with the packed V), claimed.
    // An input's gate: only while the host is still writing the inputs.
    const gate = (word: number): Task[] => (feed?.gated ? [[GATE, word]] : []);
    const heads = (name: string): Task[] => Array.from({ length: BH }, (_, h): Task => [name, ctx, 0, h, 0, m]);
    const claims = new Claims();
    const claim = (count: number, chunk: number, name: string, h: number): Task[] => {
      const word = claims.word();
      return Array.from({ length: T }, (_, t): Task => [CLAIM, word, count, chunk, name, ctx, t, h]);
    };
    const scan = (i: number): Task[] => (feed ? [scanTask(feed, i, claims, control)] : []);
    const parts = feed?.gated ? qParts(c, plan) : null;
    // (q in parts: thread 0 scans each part as it lands instead.)
    const scanQ = parts ? [] : scan(0), scanK = scan(1), scanV = scan(2);
    const first = emptyPhase(T);
    first[0].push(['prepare', ctx]);
    if (parts) {
      // q lands a part at a time: its segments' landmarks and its scan as each part is in.
      for (let g = 0; g < Q_PARTS; g++) {
        first[0].push([GATE, Q_GATES + g], ['nyQLandmarks', ctx, 0, 0, Math.floor((g * m) / Q_PARTS), Math.floor(((g + 1) * m) / Q_PARTS)],
          ['scanRange', feed!.at[0], control + SCAN * 4, parts[g] * d, parts[g + 1] * d]);
      }
    } else {
      first[0].push(...gate(GATES), ...heads('nyQLandmarks'));
    }
    first[0].push([RAISE, EVENT], ...scanQ, ...gate(GATES + 1), ...heads('nyKLandmarks'));
    for (let h = 0; h < BH; h++) first[0].push(['nyKernel2', ctx, 0, h]);
    first[0].push(['nyAlpha', ctx]);
    for (let h = 0; h < BH; h++) first[0].push(['nyPinv', ctx, 0, h]);
    for (let t = 1; t < T; t++) first[t].push(...gate(GATES + 2), ...scanQ);
    all(first, ...scanK);
    // The logits need Q~ (thread 0 raises EVENT); the scans above do not.
    for (let t = 1; t < T; t++) first[t].push([GATE, EVENT]);
    for (let h = 0; h < BH; h++) claim(n, CONSTS.K3_COLS, 'nyKernel3Logits', h).forEach((task, t) => first[t].push(task));
    all(first, ...gate(GATES + 2));
    if (mode === 'attention') {
      for (let h = 0; h < BH; h++) claim(Math.ceil(d / 8), 1, 'nyPackV', h).forEach((task, t) => first[t].push(task));
    }
    all(first, ...scanV);
    program.push(first, rangesPhase(T, BH, m, true, 'nyKernel3Rows', (h, t) => [ctx, t, h], K3_ROWS_PER_TASK));
  }
  const rows = rangesPhase(T, BH, n, true, 'nyRows', (h, t) => [ctx, t, h], ROWS_PER_TASK);
  if (plan.k3Shared && mode === 'attention') {
    // The output rows need ZV = Z·(k3·V) of the head (m × d, every kernel-3 row in): thread 0 makes
    // it and raises EVENT, the others wait for it (one head's ZV is a few microseconds).
    rows[0].unshift(...Array.from({ length: BH }, (_, h): Task => ['nyZV', ctx, 0, h]), [RAISE, EVENT]);
    for (let t = 1; t < T; t++) rows[t].unshift([GATE, EVENT]);
  }
  program.push(rows);
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
                              work: number[], T: number, control?: number): Program {
  const phase = emptyPhase(T);
  // With `control`: the host writes A then B after posting (gates GATES, GATES + 1), and the threads
  // scan both for NaN/±Infinity after their products (scan words SCAN, SCAN + 1).
  if (control !== undefined) for (const tasks of phase) tasks.push([GATE, GATES + 1]);
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
  if (control !== undefined) {
    const claims = new Claims();
    const scans = [claimedScan(a, M * K, 0, claims, control), claimedScan(b, K * N, 1, claims, control)];
    for (const tasks of phase) tasks.push(...scans);
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
