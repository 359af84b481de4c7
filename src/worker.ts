// A pool worker: instantiates the threads build on the pool's shared memory and runs its part of
// each program (src/schedule.ts), phase by phase, meeting the other workers at a barrier between
// phases. Runs as a Web Worker (browsers, Deno, Bun) or a Node worker_threads worker.
//
// Messages in:  { type: 'init', module | bytes, memory, control, index }
//               { type: 'run', id, threads, phases: Task[][] (this worker's tasks per phase), trace? }
// Messages out: { type: 'ready' } | { type: 'failed', message }
//               { type: 'done', id, status: 'ok' | 'aborted' | 'error', message?, times, start, trace? }
// The control block (Int32 words at `control` in the shared memory): GEN (barrier generation),
// ARRIVED (workers at the barrier), ABORT (non-zero: stop at the next task boundary), the scan
// results, the input gates (schedule.ts: GATE) and the counters of claimed ranges (CLAIM).

import { ABORT, ARRIVED, CLAIM, CLAIMS, CONTROL_BYTES, GATE, GEN, MAX_CLAIMS, PHASE_EVENTS, RAISE } from './schedule.js';

import type { Call, Task } from './schedule.js';
interface Port {
  post(msg: unknown): void;
  listen(fn: (msg: any) => void): void;
}

async function port(): Promise<Port> {
  const g = globalThis as any;
  if (typeof g.WorkerGlobalScope !== 'undefined' || (typeof g.self === 'object' && typeof g.self.postMessage === 'function' && typeof g.process === 'undefined')) {
    return { post: (m) => g.self.postMessage(m), listen: (fn) => { g.self.onmessage = (e: MessageEvent) => fn(e.data); } };
  }
  // Node worker_threads (a computed specifier keeps browser bundlers from resolving a Node built-in).
  const spec = 'node:worker_threads';
  const { parentPort } = await import(spec);
  return { post: (m) => parentPort.postMessage(m), listen: (fn) => parentPort.on('message', fn) };
}

class Aborted extends Error {}

let exports: Record<string, (...args: number[]) => number> | null = null;
let memory: WebAssembly.Memory | null = null;
let control = 0;
let index = 0;

function ctl(): Int32Array {
  return new Int32Array(memory!.buffer, control, CONTROL_BYTES / 4);
}

/** How long a thread at a barrier spins before it sleeps (ms). */
const SPIN_MS = 0.5;

/** Waits until every thread has arrived (a sense of generation, reset by the host before each call). */
function barrier(c: Int32Array, threads: number): void {
  const gen = Atomics.load(c, GEN);
  if (Atomics.add(c, ARRIVED, 1) === threads - 1) {
    // Every thread is here, none is claiming: the next phase's claimed ranges start from 0, and its
    // events are not raised yet.
    for (let w = CLAIMS; w < CLAIMS + MAX_CLAIMS; w++) Atomics.store(c, w, 0);
    for (let w = PHASE_EVENTS[0]; w < PHASE_EVENTS[1]; w++) Atomics.store(c, w, 0);
    Atomics.store(c, ARRIVED, 0);
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    return;
  }
  // Spin a little first: the others are usually a fraction of a millisecond away, and a sleeping
  // thread is woken late (an idle virtual CPU can take up to a millisecond to resume).
  const spinUntil = performance.now() + SPIN_MS;
  while (Atomics.load(c, GEN) === gen && performance.now() < spinUntil) { /* spin */ }
  while (Atomics.load(c, GEN) === gen) {
    if (Atomics.load(c, ABORT)) throw new Aborted();
    Atomics.wait(c, GEN, gen, 20); // wakes on notify, or re-checks ABORT every 20 ms
  }
}

/** Waits until gate `word` is raised (by the host writing an input, or by another thread). No
 *  spinning: the host and the other threads have the cores meanwhile. */
function gate(c: Int32Array, word: number): void {
  while (Atomics.load(c, word) === 0) {
    if (Atomics.load(c, ABORT)) throw new Aborted();
    Atomics.wait(c, word, 0, 20);
  }
}

/** With a trace: [what, start, end] (ms since the time origin) of every task, gate and claimed chunk. */
type Trace = [string, number, number][];

/** Runs this worker's tasks phase by phase; returns per phase [ms working, ms waiting at the barrier]. */
function run(phases: Task[][], threads: number, trace: Trace | null): number[][] {
  const c = ctl();
  const times: number[][] = [];
  const mark = (what: string, start: number) => trace?.push([what, start + performance.timeOrigin, performance.now() + performance.timeOrigin]);
  for (let p = 0; p < phases.length; p++) {
    const t0 = performance.now();
    for (const task of phases[p]) {
      if (Atomics.load(c, ABORT)) throw new Aborted();
      const s = trace ? performance.now() : 0;
      if (task[0] === GATE) {
        gate(c, task[1]);
        mark(`gate ${task[1]}`, s);
        continue;
      }
      if (task[0] === RAISE) {
        Atomics.store(c, task[1], 1);
        Atomics.notify(c, task[1]);
        continue;
      }
      if (task[0] !== CLAIM) {
        const [name, ...args] = task as Call;
        exports![name](...args);
        mark(name, s);
        continue;
      }
      // A claimed range: take chunks from the shared counter until none are left.
      const [, word, count, chunk, fn, ...rest] = task;
      const kernel = exports![fn];
      for (let a = Atomics.add(c, word, chunk); a < count; a = Atomics.add(c, word, chunk)) {
        const k0 = trace ? performance.now() : 0;
        kernel(...rest, a, Math.min(count, a + chunk));
        mark(fn as string, k0);
        if (Atomics.load(c, ABORT)) throw new Aborted();
      }
    }
    const t1 = performance.now();
    if (p < phases.length - 1) barrier(c, threads);
    times.push([t1 - t0, performance.now() - t1]);
  }
  return times;
}

const io = await port();
io.listen(async (msg) => {
  if (msg.type === 'init') {
    try {
      const module = msg.module instanceof WebAssembly.Module ? msg.module : await WebAssembly.compile(msg.bytes);
      memory = msg.memory as WebAssembly.Memory;
      control = msg.control;
      index = msg.index;
      exports = new WebAssembly.Instance(module, { env: { memory } }).exports as any;
      io.post({ type: 'ready' });
    } catch (e) {
      io.post({ type: 'failed', message: String((e as Error)?.message ?? e) });
    }
    return;
  }
  if (msg.type === 'run') {
    try {
      const t0 = performance.now();
      const trace: Trace | null = msg.trace ? [] : null;
      const times = run(msg.phases, msg.threads, trace);
      io.post({ type: 'done', id: msg.id, status: 'ok', thread: index, times, start: t0 + performance.timeOrigin, trace });
    } catch (e) {
      if (e instanceof Aborted) {
        io.post({ type: 'done', id: msg.id, status: 'aborted' });
      } else {
        // A trap is a bug: stop the others, report it.
        Atomics.store(ctl(), ABORT, 2);
        Atomics.notify(ctl(), GEN);
        io.post({ type: 'done', id: msg.id, status: 'error', message: String((e as Error)?.message ?? e) });
      }
    }
  }
});
