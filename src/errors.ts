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

export type ErrorCode = 'ERR_TENSOR' | 'ERR_SHAPE' | 'ERR_OPTION' | 'ERR_NOT_FINITE' | 'ERR_MEMORY' | 'ERR_DISPOSED'
  | 'ERR_UNSUPPORTED' | 'ERR_LOAD' | 'ERR_CHECKPOINT';

/** Attaches a stable `code` to an error. */
export function codedError<E extends Error>(error: E, code: ErrorCode): E & { code: ErrorCode } {
  return Object.assign(error, { code });
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
  const norm = (s: string) => s.toLowerCase().replace(/[_\-\s]/g, '');
  const n = norm(name);
  for (const [alias, target] of Object.entries(ALIASES)) if (norm(alias) === n && valid.includes(target)) return target;
  let best: string | undefined;
  let bestD = Infinity;
  for (const v of valid) {
    const m = norm(v);
    const d = m === n ? 0 : n.includes(m) || m.includes(n) ? 1 : distance(n, m);
    if (d < bestD) { bestD = d; best = v; }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}
