// Errors with a stable `code`, so edge handlers and workers can route them without parsing messages.
// The class says what kind of mistake it is (TypeError: a wrong type or an unknown name;
// RangeError: a value out of range; Error: a state), the code which argument or resource:
//   ERR_TENSOR      q, k, v, out, a, b: not a Float32Array or the wrong length
//   ERR_SHAPE       shape / matmul dims
//   ERR_OPTION      an options object, an option's value, an unknown option name, an index argument
//   ERR_NOT_FINITE  NaN or ±Infinity in an input
//   ERR_MEMORY      the call does not fit the wasm32 memory or the limit set by setMemoryLimit
//   ERR_DISPOSED    use of a disposed plan
//   ERR_UNSUPPORTED the engine lacks a feature (SIMD, relaxed SIMD)
//   ERR_LOAD        the wasm could not be loaded, or does not match its declared interface; a pool
//                   worker died or the pool is closed
//   ERR_CHECKPOINT  a model checkpoint (safetensors) or config that is malformed or does not match
//   ERR_BUSY        a synchronous call on a pool's memory while the pool runs a call (use the async one)

export type ErrorCode = 'ERR_TENSOR' | 'ERR_SHAPE' | 'ERR_OPTION' | 'ERR_NOT_FINITE' | 'ERR_MEMORY' | 'ERR_DISPOSED'
  | 'ERR_UNSUPPORTED' | 'ERR_LOAD' | 'ERR_CHECKPOINT' | 'ERR_BUSY';

/** The errors this library made (a user's error with a `code` of its own is not one). */
const ours = new WeakSet<object>();

/** Attaches a stable `code` to an error. */
export function codedError<E extends Error>(error: E, code: ErrorCode): E & { code: ErrorCode } {
  ours.add(error);
  return Object.assign(error, { code });
}

/** A thrown value as short text, whatever it is (a Symbol, an object without a prototype, a throwing getter). */
export function errorText(e: unknown): string {
  try {
    if (typeof e === 'object' && e !== null) {
      const m = (e as { message?: unknown }).message;
      if (typeof m === 'string') return m.length > 200 ? `${m.slice(0, 200)}…` : m;
    }
    return typeof e === 'symbol' ? e.toString() : describe(e);
  } catch {
    return 'an unreadable value';
  }
}

/**
 * Runs fn; anything it throws that is not this library's own coded error — a throwing getter, a
 * Proxy trap, a revoked Proxy, an object that only pretends to be a typed array — becomes a
 * TypeError with code ERR_OPTION. A wasm trap (a bug) is passed on as it is.
 */
export function guarded<A extends unknown[], R>(fn: (...args: A) => R, what: string): (...args: A) => R {
  return (...args: A): R => {
    try {
      return fn(...args);
    } catch (e) {
      throw foreign(e, what);
    }
  };
}

/** The async twin of guarded: the same conversion for a rejected promise. */
export function guardedAsync<A extends unknown[], R>(fn: (...args: A) => Promise<R>, what: string): (...args: A) => Promise<R> {
  return async (...args: A): Promise<R> => {
    try {
      return await fn(...args);
    } catch (e) {
      throw foreign(e, what);
    }
  };
}

/** Whether e is an error this library made (not a user's error that happens to carry a `code`). */
export function isOwnError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && ours.has(e);
}

function foreign(e: unknown, what: string): unknown {
  if (isOwnError(e)) return e;
  if (e instanceof WebAssembly.RuntimeError) return e;
  if (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError') return e;
  return typeError('ERR_OPTION', `${what}: an argument could not be read (${errorText(e)})`);
}

export const typeError = (code: ErrorCode, message: string) => codedError(new TypeError(message), code);
export const rangeError = (code: ErrorCode, message: string) => codedError(new RangeError(message), code);
export const stateError = (code: ErrorCode, message: string) => codedError(new Error(message), code);

/** Using a disposed plan or engine. */
export function disposedError(what: string) {
  return stateError('ERR_DISPOSED', `${what} was disposed`);
}

/** A human description of a value for messages: its type and, where short, its value. */
export function describe(x: unknown): string {
  try {
    return describeUnsafe(x);
  } catch {
    return 'an object that could not be inspected';
  }
}

function describeUnsafe(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (typeof x === 'string') return `the string ${JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x)}`;
  if (typeof x === 'bigint') return `the BigInt ${x}n`;
  if (typeof x === 'number' || typeof x === 'boolean') return String(x);
  if (typeof x === 'symbol') return 'a symbol';
  if (Array.isArray(x)) return `an Array of length ${x.length}`;
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name} of length ${(x as unknown as ArrayLike<number>).length ?? x.byteLength}`;
  if (typeof x === 'function') return 'a function';
  let name: string | undefined;
  try {
    name = (x as object).constructor?.name;
  } catch {
    name = undefined; // a Proxy whose trap throws
  }
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** Edit distance (for "did you mean"). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** Names people bring from the PyTorch implementations. */
const ALIASES: Record<string, string> = {
  num_landmarks: 'landmarks', numlandmarks: 'landmarks', segment_means_seq_len: 'landmarks',
  pinv_iterations: 'pinvIterations', iters: 'pinvIterations', iterations: 'pinvIterations',
  inv_coeff_init_option: 'pinvInit', attention_mask: 'mask', attn_mask: 'mask',
  conv_kernel_size: 'convWeight', conv: 'convWeight', residual_conv: 'convWeight',
  transpose_b: 'transB', trans_b: 'transB', transposed: 'transB', num_heads: 'shape',
};

/** The valid name closest to an unknown one, if one is close. */
export function closest(name: string, valid: readonly string[]): string | undefined {
  if (name.length > 64) return undefined;
  const norm = (s: string) => s.toLowerCase().replace(/[_\-\s]/g, '');
  const n = norm(name);
  for (const [alias, target] of Object.entries(ALIASES)) if (norm(alias) === n && valid.includes(target)) return target;
  let best: string | undefined;
  let bestD = Infinity;
  for (const v of valid) {
    const m = norm(v);
    // One name inside the other ('landmark', 'numlandmarks') counts as close, for names long enough
    // that it means something ('out' inside 'alyout' does not).
    const inside = Math.min(m.length, n.length) >= 5 && (n.includes(m) || m.includes(n));
    const d = m === n ? 0 : inside ? 1 : distance(n, m);
    if (d < bestD) { bestD = d; best = v; }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

/** Replaces every function-valued own data property of obj by its guarded twin (getters untouched). */
export function guardMethods<T extends object>(obj: T, what: string): T {
  for (const key of Object.keys(obj)) {
    const d = Object.getOwnPropertyDescriptor(obj, key)!;
    if (typeof d.value === 'function') {
      (obj as Record<string, unknown>)[key] = guarded(d.value as (...a: unknown[]) => unknown, `${what}.${key}`);
    }
  }
  return obj;
}
