// Junk fuzzer: thousands of calls of the public API with junk arguments, drawn from a seeded PRNG,
// each held to the error contract. A library (`runJunkFuzz`, the helpers `J`) and a CLI:
//
//   node [--experimental-wasm-relaxed-simd] tests/fuzz/junk-fuzz.mjs --calls N --seed S
//        [--only I[,J…]] [--families a,b] [--time-limit MS] [--hang-limit MS] [--check-every K]
//        [--slow] [--max-print K] [--json] [--quiet]
//
// The contract (every public function: nystromAttention, softmaxAttention, the two matrix calls,
// nystromAttentionFactors, nystromAttentionRow, matmul, matmulTransposed, createAttention and its
// plan's run / runInPlace / setMask, createMatmul and its plan's run / runInPlace, selectBuild,
// setMemoryLimit, init): given junk, a call either returns a valid result — the right type and
// length, every element finite — or throws a TypeError or RangeError (an Error for a disposed plan
// or an unsupported build) whose `code` is one of ERR_TENSOR, ERR_SHAPE, ERR_OPTION, ERR_NOT_FINITE,
// ERR_MEMORY (TypeError / RangeError) or ERR_DISPOSED, ERR_UNSUPPORTED, ERR_LOAD (Error). Never a
// wasm RuntimeError, never the user's own exception (a throwing getter or Proxy trap), never a call
// longer than --time-limit (2 s). After the junk, fixed reference calls (nystromAttention,
// softmaxAttention, matmul, matmulTransposed, and an attention plan and a matmul plan created before
// the junk) return bit-identical results: checked every --check-every calls (100) and at the end.
//
// Case i of seed S is drawn from mulberry32(caseSeed(S, i)) alone, as a snippet of JavaScript run
// as `(lib, J) => { … }`; a violation prints the snippet as a standalone module (the reproducer) and
// `--seed S --only i`. Most families start from a valid call and inject ONE fault, so they also know
// the exact class, code and message fragment to expect (BigInt → TypeError saying BigInt; integers
// out of range → RangeError naming the range; unknown option names → TypeError ERR_OPTION naming the
// key and a close valid name; getters / Proxy traps that throw → TypeError ERR_OPTION, …); 'chaos'
// fills every argument at random and holds the call to the general contract only. Inputs (q, k, v,
// a, b) must never be modified; an `out` must be untouched when the call throws (memory refusals
// happen before anything is written). A result that is returned is checked inside the snippet: a
// plan is run on finite data (its output must be finite), then disposed, then must refuse with
// ERR_DISPOSED. A watchdog thread kills the process with the reproducer of the running case when one
// call exceeds --hang-limit (30 s): a sync call cannot be interrupted otherwise.
//
// --slow adds landmark counts far above seqLen for the 'lucidrains' style (cost O(iters·m³) on a
// handful of tokens: seconds to hours), which violate the time bound; off by default.
//
// Loads no node:test, so the CLI runs standalone; tests/host/junk.test.js runs it in CI.
import { argsOrExit, caseSeed, isMain } from './cli.mjs';
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { mulberry32, gaussian, makeQKV, randn, bitsEqual as sameBits } from '../reference.js';

// ---------------------------------------------------------------------------------------------
// The contract

export const TYPE_RANGE_CODES = ['ERR_TENSOR', 'ERR_SHAPE', 'ERR_OPTION', 'ERR_NOT_FINITE', 'ERR_MEMORY'];
export const STATE_CODES = ['ERR_DISPOSED', 'ERR_UNSUPPORTED', 'ERR_LOAD'];
export const ALL_CODES = [...TYPE_RANGE_CODES, ...STATE_CODES];
const MAXI = 2147483647;
const WASM32 = 2 ** 32;
const F32_MAX = 3.4028234663852886e38;
/** Longer error messages are a violation (a message must not echo an unbounded input). */
export const MAX_MESSAGE = 100000;

/** What a thrown value is, for tallies: 'TypeError:ERR_OPTION', 'RangeError:-', 'throw:symbol', … */
export function errorKind(e) {
  if (e === null || (typeof e !== 'object' && typeof e !== 'function')) return `throw:${typeof e}`;
  let name;
  try {
    name = e.constructor?.name ?? 'null-prototype';
  } catch {
    name = 'unreadable';
  }
  let code;
  try {
    code = e.code;
  } catch {
    code = undefined;
  }
  return `${name}:${code ?? '-'}`;
}

/** Why a thrown value breaks the general contract (undefined: it keeps it). */
export function contractBreach(e) {
  if (e instanceof Violation) return `harness check failed: ${e.message}`;
  if (e instanceof JunkTrap) return `the user's own exception escaped (${e.message})`;
  if (e === null || typeof e !== 'object') return `threw a non-Error: ${safeString(e)}`;
  const proto = Object.getPrototypeOf(e);
  if (typeof WebAssembly === 'object' && e instanceof WebAssembly.RuntimeError) return `a wasm RuntimeError: ${e.message}`;
  if (proto !== TypeError.prototype && proto !== RangeError.prototype && proto !== Error.prototype) {
    return `threw ${errorKind(e)} (not TypeError / RangeError / Error): ${safeString(e?.message)}`;
  }
  const code = e.code;
  if (typeof e.message !== 'string' || e.message.length === 0) return `${errorKind(e)} with an empty message`;
  if (e.message.length > MAX_MESSAGE) return `${errorKind(e)} with a message of ${e.message.length} characters: ${safeString(e.message)}`;
  if (proto === Error.prototype) {
    if (!STATE_CODES.includes(code)) return `a plain Error with code ${safeString(code)} (a plain Error must be ${STATE_CODES.join(' / ')}): ${e.message}`;
  } else if (!TYPE_RANGE_CODES.includes(code)) {
    return `${proto === TypeError.prototype ? 'TypeError' : 'RangeError'} with code ${safeString(code)} (expected one of ${TYPE_RANGE_CODES.join(', ')}): ${e.message}`;
  }
  return undefined;
}

function safeString(x) {
  try {
    if (typeof x === 'symbol') return x.toString();
    if (typeof x === 'bigint') return `${x}n`;
    if (typeof x === 'string') return JSON.stringify(x.length > 200 ? x.slice(0, 200) + '…' : x);
    return String(x);
  } catch {
    return '(unprintable)';
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers the snippets use (exported: a reproducer imports them)

/** A check inside a snippet failed: always a violation. */
export class Violation extends Error {
  constructor(message) {
    super(message);
    this.name = 'Violation';
  }
}
/** What a junk getter or Proxy trap throws: must never reach the caller. */
export class JunkTrap extends Error {
  constructor(message = 'junk trap') {
    super(message);
    this.name = 'JunkTrap';
  }
}
class SubF32 extends Float32Array {}

/** Arrays a case registered: inputs must never change; outs must be untouched by a call that throws. */
let watched = [];
const bitsOf = (a) => new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));


function thrown(mode, what) {
  switch (mode) {
    case 'symbol': return Symbol(what);
    case 'nullproto': return Object.create(null);
    case 'undefined': return undefined;
    case 'string': return `junk ${what}`;
    case 'number': return 42;
    case 'msgthrows': return { get message() { throw new JunkTrap(`message getter of ${what}`); } };
    case 'revoked': { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy; }
    default: return new JunkTrap(what);
  }
}

export const J = {
  Violation, JunkTrap,
  /** N(0, scale²) floats from `seed` (clamped to ±3.3e38 so that huge scales stay finite). */
  f32(len, seed, scale = 3) {
    const a = randn(len, 1, seed >>> 0);
    if (scale !== 1) for (let i = 0; i < len; i++) a[i] = Math.max(-3.3e38, Math.min(3.3e38, a[i] * scale));
    return a;
  },
  /** Registers an input: it must be bit-identical after the call, whatever happens. */
  keep(a) {
    watched.push({ a, bits: bitsOf(a), role: 'input' });
    return a;
  },
  /** An `out` filled with −7.25: must be untouched by a call that throws. */
  out(len) {
    const a = new Float32Array(len).fill(-7.25);
    watched.push({ a, bits: bitsOf(a), role: 'out' });
    return a;
  },
  /** Sets a[i mod length] = x (a copy is not made). */
  poke(a, i, x) {
    if (a.length) a[i % a.length] = x;
    return a;
  },
  /** Detaches a's buffer (a now has length 0). */
  detached(a) {
    structuredClone(a, { transfer: [a.buffer] });
    return a;
  },
  /** A view starting `by` floats into a bigger buffer. */
  offset(a, by) {
    const b = new Float32Array(a.length + by);
    b.set(a, by);
    return b.subarray(by);
  },
  shared(a) {
    const s = new Float32Array(new SharedArrayBuffer(a.byteLength));
    s.set(a);
    return s;
  },
  subclass(a) {
    return new SubF32(a);
  },
  /** A length-tracking view of a resizable ArrayBuffer. */
  resizable(a) {
    const buf = new ArrayBuffer(a.byteLength, { maxByteLength: a.byteLength * 2 + 16 });
    const v = new Float32Array(buf);
    v.set(a);
    return v;
  },
  fakeF32() {
    return Object.create(Float32Array.prototype);
  },
  revoked(t) {
    const { proxy, revoke } = Proxy.revocable(t, {});
    revoke();
    return proxy;
  },
  /** A Proxy over t whose `trap` throws (mode: 'throw' a JunkTrap, 'symbol', 'nullproto', … thrown
   *  values) or, with mode 'junk', returns a junk value. */
  trap(t, trap, mode = 'throw') {
    const handler = {
      [trap](...args) {
        if (mode !== 'junk') throw thrown(mode, `${trap} trap`);
        switch (trap) {
          case 'get': return typeof args[1] === 'string' && args[1] === 'length' ? 'junk' : { junk: true };
          case 'ownKeys': return ['junk', 5];
          case 'getOwnPropertyDescriptor': return { value: 'junk', configurable: true, enumerable: true, writable: true };
          case 'getPrototypeOf': return Float32Array.prototype;
          case 'has': return true;
          default: return Reflect[trap](...args);
        }
      },
    };
    return new Proxy(t, handler);
  },
  /** A copy of o where `key` is an enumerable getter that throws (mode as in trap). */
  getter(o, key, mode = 'throw') {
    const c = { ...o };
    delete c[key];
    Object.defineProperty(c, key, { enumerable: true, configurable: true, get() { throw thrown(mode, `getter '${key}'`); } });
    return c;
  },
  /** A copy of o where `key` is a getter returning the next of `values` at every read. */
  flip(o, key, values) {
    const c = { ...o };
    delete c[key];
    let i = 0;
    Object.defineProperty(c, key, { enumerable: true, configurable: true, get() { return values[i++ % values.length]; } });
    return c;
  },
  /** Array whose element i is a getter returning the next of `values` at every read. */
  flipArray(arr, i, values) {
    const c = arr.slice();
    let j = 0;
    Object.defineProperty(c, i, { enumerable: true, configurable: true, get() { return values[j++ % values.length]; } });
    return c;
  },
  /** Array whose element i is a getter that throws. */
  throwingIndex(arr, i, mode = 'throw') {
    const c = Array.from(arr);
    Object.defineProperty(c, i, { enumerable: true, configurable: true, get() { throw thrown(mode, `element ${i}`); } });
    return c;
  },
  /** An object with the typed array's contents whose `constructor` getter throws. */
  ctorThrows(a) {
    Object.defineProperty(a, 'constructor', { get() { throw new JunkTrap('constructor getter'); } });
    return a;
  },
  nullProto(o) {
    return Object.assign(Object.create(null), o);
  },
  /** An object inheriting every option from its prototype (own keys: none). */
  inherit(o) {
    return Object.create(o);
  },
  withSymbol(o) {
    return { ...o, [Symbol('junk')]: 'junk' };
  },
  nonEnumerable(o, key, value) {
    const c = { ...o };
    Object.defineProperty(c, key, { value, enumerable: false });
    return c;
  },
  /** A sparse array of length len. */
  sparse(len) {
    const a = [];
    a.length = len;
    return a;
  },
  /** A mask [B, n] of 0/1 (kind: 'ones', 'random', 'trailing', 'zeros'), as `type`. */
  mask(B, n, seed, kind = 'random', type = 'f32') {
    const r = mulberry32(seed >>> 0);
    const m = new Array(B * n);
    for (let b = 0; b < B; b++) {
      const keep = 1 + Math.floor(r() * n);
      for (let i = 0; i < n; i++) {
        m[b * n + i] = kind === 'ones' ? 1 : kind === 'zeros' ? 0 : kind === 'trailing' ? (i < keep ? 1 : 0) : r() < 0.75 ? 1 : 0;
      }
    }
    switch (type) {
      case 'array': return m;
      case 'bool': return m.map((x) => x === 1);
      case 'u8': return Uint8Array.from(m);
      case 'f64': return Float64Array.from(m);
      case 'i32': return Int32Array.from(m);
      case 'frozen': return Object.freeze(m);
      default: return Float32Array.from(m);
    }
  },
  /** A mask [B, n] with entry i set to `bad`. */
  maskWith(B, n, seed, i, bad) {
    const m = J.mask(B, n, seed, 'random', 'array');
    m[i % m.length] = bad;
    return m;
  },
  /** Runs fn under setMemoryLimit(bytes), restoring the previous limit (sync or async). */
  withLimit(lib, bytes, fn) {
    const prev = lib.setMemoryLimit(bytes);
    try {
      return fn();
    } finally {
      lib.setMemoryLimit(prev);
    }
  },
  /** Runs fn, then restores the build and the memory limit (after the promise settles, for init). */
  restoring(lib, fn) {
    const build = lib.activeBuild();
    const limit = lib.memoryLimit();
    const restore = () => {
      lib.selectBuild(build);
      lib.setMemoryLimit(limit);
    };
    let r;
    try {
      r = fn();
    } catch (e) {
      restore();
      throw e;
    }
    if (r && typeof r.then === 'function') return r.finally(restore);
    restore();
    return r;
  },
  /** Checks a returned tensor: a Float32Array (of `len` elements), finite unless overflow is allowed. */
  f32ok(x, len, what = 'result', allowOverflow = false) {
    if (!(x instanceof Float32Array)) throw new Violation(`${what} is not a Float32Array: ${safeString(x?.constructor?.name ?? x)}`);
    if (len !== undefined && x.length !== len) throw new Violation(`${what} has ${x.length} elements, expected ${len}`);
    if (!allowOverflow) {
      for (let i = 0; i < x.length; i++) {
        if (!Number.isFinite(x[i])) throw new Violation(`${what}[${i}] = ${x[i]} for finite inputs`);
      }
    }
    return x;
  },
  factorsOk(f) {
    if (typeof f !== 'object' || f === null) throw new Violation(`factors is ${safeString(f)}`);
    const { rows, landmarks: m, shape } = f;
    const [B, H] = shape;
    J.f32ok(f.kernel1, B * H * rows * m, 'factors.kernel1');
    J.f32ok(f.pinv, B * H * m * m, 'factors.pinv');
    J.f32ok(f.kernel3, B * H * m * rows, 'factors.kernel3');
    return f;
  },
  /** Runs an attention plan on finite data (run and runInPlace), disposes it, checks it refuses. */
  usePlan(p) {
    if (typeof p !== 'object' || p === null || typeof p.run !== 'function') throw new Violation(`createAttention returned ${safeString(p)}`);
    try {
      const [B, H, n, d] = p.shape;
      const len = B * H * n * d;
      const q = J.f32(len, 11), k = J.f32(len, 12), v = J.f32(len, 13, 1);
      const r1 = J.f32ok(p.run(q, k, v), len, 'plan.run result');
      p.inputs.q.set(q);
      p.inputs.k.set(k);
      p.inputs.v.set(v);
      const r2 = J.f32ok(p.runInPlace(), len, 'plan.runInPlace result');
      if (!sameBits(r1, r2)) throw new Violation('plan.runInPlace differs from plan.run on the same data');
      if (!(p.memoryBytes > 0)) throw new Violation(`plan.memoryBytes is ${p.memoryBytes}`);
      return r1;
    } catch (e) {
      if (e instanceof Violation) throw e;
      throw new Violation(`a plan that was created refused a valid run: ${errorKind(e)}: ${safeString(e?.message)}`);
    } finally {
      J.disposeAndCheck(p, () => p.runInPlace());
    }
  },
  /** Runs a matmul plan on finite data, disposes it, checks it refuses. */
  useMatmul(p, M, K, N) {
    if (typeof p !== 'object' || p === null || typeof p.run !== 'function') throw new Violation(`createMatmul returned ${safeString(p)}`);
    try {
      const a = J.f32(M * K, 21, 1), b = J.f32(K * N, 22, 1);
      const r1 = J.f32ok(p.run(a, b), M * N, 'matmul plan.run result');
      p.a.set(a);
      p.b.set(b);
      const r2 = J.f32ok(p.runInPlace(), M * N, 'matmul plan.runInPlace result');
      if (!sameBits(r1, r2)) throw new Violation('matmul plan.runInPlace differs from plan.run on the same data');
      return r1;
    } catch (e) {
      if (e instanceof Violation) throw e;
      throw new Violation(`a matmul plan that was created refused a valid run: ${errorKind(e)}: ${safeString(e?.message)}`);
    } finally {
      J.disposeAndCheck(p, () => p.runInPlace());
    }
  },
  disposeAndCheck(p, use) {
    p.dispose();
    let err;
    try {
      use();
    } catch (e) {
      err = e;
    }
    if (!(err instanceof Error) || err.code !== 'ERR_DISPOSED' || Object.getPrototypeOf(err) !== Error.prototype) {
      throw new Violation(`a disposed plan did not throw Error ERR_DISPOSED (got ${err === undefined ? 'no error' : errorKind(err)})`);
    }
  },
  assertBits(a, b, what) {
    if (!(a instanceof Float32Array) || !(b instanceof Float32Array) || !sameBits(a, b)) {
      throw new Violation(`${what}: results differ`);
    }
    return a;
  },
  /** A shallow copy of an object with key set to value. */
  with(o, key, value) {
    return { ...o, [key]: value };
  },
};

// ---------------------------------------------------------------------------------------------
// Drawing cases: each is { family, body, expect } — body is JavaScript run as (lib, J) => { body }.

export { caseSeed };

function rnd(seed) {
  const f = mulberry32(seed);
  const r = {
    f,
    int: (lo, hi) => lo + Math.floor(f() * (hi - lo + 1)),
    pick: (a) => a[Math.floor(f() * a.length)],
    chance: (p) => f() < p,
    seed: () => Math.floor(f() * 2 ** 31),
    weighted(entries) {
      const total = entries.reduce((s, [, w]) => s + w, 0);
      let x = f() * total;
      for (const [v, w] of entries) if ((x -= w) < 0) return v;
      return entries[entries.length - 1][0];
    },
  };
  return r;
}

const num = (x) => (Object.is(x, -0) ? '-0' : Number.isNaN(x) ? 'NaN' : x === Infinity ? 'Infinity' : x === -Infinity ? '-Infinity' : String(x));
const str = (s) => JSON.stringify(s);
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Expectations: { cls, codes, msg: [RegExp] } for a throw; { ok: true } for a valid result;
// { okOr: [codes] }; null for the general contract only.
const E = {
  type: (codes, ...msg) => ({ cls: 'TypeError', codes: [codes].flat(), msg }),
  range: (codes, ...msg) => ({ cls: 'RangeError', codes: [codes].flat(), msg }),
  state: (codes, ...msg) => ({ cls: 'Error', codes: [codes].flat(), msg }),
  ok: () => ({ ok: true }),
  okOr: (...codes) => ({ okOr: codes.flat() }),
  any: () => null,
};

const STYLES = ['authors', 'hf', 'lucidrains'];
const INITS = ['original', 'exact', 'abs_rowcol', 'paper'];
const REMAINDERS = ['pad', 'uneven', 'error'];
const LAYOUTS = ['bhnd', 'bnhd'];
const COMMON = ['shape', 'mask', 'convWeight', 'style', 'out', 'layout'];
const NYS = ['landmarks', 'pinvIterations', 'pinvInit', 'remainder'];
const ATTN_KEYS = [...COMMON, ...NYS];
const VALID_KEYS = {
  nystromAttention: ATTN_KEYS, softmaxAttention: ATTN_KEYS, nystromAttentionMatrix: ATTN_KEYS, softmaxAttentionMatrix: ATTN_KEYS,
  nystromAttentionFactors: ATTN_KEYS.filter((k) => k !== 'out'), createAttention: [...ATTN_KEYS, 'kind', 'build'],
  createMatmul: ['m', 'k', 'n', 'transB', 'constantB', 'build'], nystromAttentionRow: ['from', 'to', 'out'], init: ['build'],
};
/** Names from the PyTorch implementations and their expected suggestion. */
const ALIASES = [
  ['num_landmarks', 'landmarks'], ['pinv_iterations', 'pinvIterations'], ['attention_mask', 'mask'], ['attn_mask', 'mask'],
  ['inv_coeff_init_option', 'pinvInit'], ['conv_kernel_size', 'convWeight'], ['iters', 'pinvIterations'],
  ['segment_means_seq_len', 'landmarks'], ['Landmarks', 'landmarks'], ['conv_weight', 'convWeight'], ['pinv_init', 'pinvInit'],
  ['Shape', 'shape'], ['STYLE', 'style'],
];

/** Faults for an integer slot with range [lo, hi]: [code, expectation]. */
function intFaults(r, lo, hi, code) {
  const range = new RegExp(esc(`[${lo}, ${hi}]`));
  const rangeOut = [
    [num(lo - 1), 1], ['-1', lo > -1 ? 1 : 0], ['-0', lo >= 1 ? 1 : 0], [hi === MAXI ? '2**31' : num(hi + 1), 1], ['2**53', 1],
    ['1e300', 1], ['2.5', 1], [`${lo}.5`, 1], ['NaN', 1], ['Infinity', 1], ['-Infinity', 1], ['Number.MIN_VALUE', 1],
    ['-(2**31)', 1], ['Number.EPSILON', 1], ['2**32', hi < 2 ** 32 ? 1 : 0], ['-1e-300', 1],
  ].filter(([, w]) => w);
  const typeOut = [
    ['"8"', 'string'], ['"NaN"', 'string'], ['""', 'string'], ['null', 'null'], ['true', null], ['false', null], ['{}', null], ['[8]', null],
    ['new Number(8)', null], ['Symbol("junk")', null], ['() => 8', null], ['{ valueOf() { return 8; } }', null],
    ['J.nullProto({})', null], ['new Date(8)', null], ['J.revoked({})', null], ['J.trap({}, "get")', null], ['new Float32Array(1)', null],
  ];
  const bigOut = ['8n', '-1n', '2n**64n', '0n', `${lo}n`, 'Object(8n)'];
  const which = r.weighted([['range', 5], ['type', 4], ['bigint', 2]]);
  if (which === 'range') {
    const v = r.pick(rangeOut)[0];
    return [v, E.range(code, range)];
  }
  if (which === 'bigint') {
    const v = r.pick(bigOut);
    // Object(8n) is a BigInt wrapper object: a wrong type, no need to say BigInt.
    return [v, v === 'Object(8n)' ? E.type(code) : E.type(code, /BigInt/)];
  }
  return [r.pick(typeOut)[0], E.type(code)];
}

/** Faults for an enum slot. */
function enumFaults(r, allowed, code = 'ERR_OPTION') {
  const v = r.pick(allowed);
  const list = [
    [str(v.toUpperCase()), null], [str(` ${v}`), null], [str(`${v} `), null], ['""', null], ['0', null], ['1', null], ['null', null],
    ['{}', null], [`[${str(v)}]`, null], [`new String(${str(v)})`, null], [`Symbol(${str(v)})`, null], ['"toString"', null],
    ['"__proto__"', null], ['"constructor"', null], ['1n', /BigInt/], ['true', null], ['NaN', null], [`${str(v)} + "\\u0000"`, null],
    ['J.revoked({})', null], ['J.trap({}, "get")', null],
  ];
  const [c, m] = r.pick(list);
  return [c, m ? E.type(code, m) : E.type(code)];
}

/** Faults for a tensor slot of `len` floats ('out' slots: no NaN faults, undefined is valid). */
function tensorFaults(r, len, name, { isOut = false, seed }) {
  const L = len;
  const type = [
    `new Float64Array(${L})`, `Array.from(J.f32(${L}, ${seed}))`, `new Int32Array(${L})`, `new Uint8Array(${4 * L})`,
    `new Float32Array(${L}).buffer`, `new DataView(new ArrayBuffer(${4 * L}))`, 'null', '"abc"', `{ length: ${L} }`,
    `J.revoked(new Float32Array(${L}))`, `J.trap(new Float32Array(${L}), "getPrototypeOf")`, `new BigInt64Array(${L})`,
    `J.ctorThrows(new Float64Array(${L}))`, '5', '5n', 'Symbol("q")', `new Uint16Array(${L})`, `J.nullProto({ length: ${L} })`,
  ];
  if (!isOut) type.push('undefined');
  // Objects that pass for a Float32Array (prototype chain) but are not one: a TypeError or a
  // RangeError, as long as it is coded ERR_TENSOR.
  const pretend = ['J.fakeF32()', `new Proxy(J.f32(${L}, ${seed}), {})`, `J.trap(J.f32(${L}, ${seed}), "get")`,
    `J.trap(J.f32(${L}, ${seed}), "get", "symbol")`, `J.trap({}, "getPrototypeOf", "junk")`];
  const length = [`new Float32Array(${L + 1})`, `new Float32Array(${L + 4})`, 'new Float32Array(0)', `J.detached(J.f32(${L}, ${seed}))`];
  if (L > 1) length.push(`J.f32(${L}, ${seed}).subarray(1)`, `new Float32Array(${L - 1})`);
  const nonFinite = [`J.poke(J.f32(${L}, ${seed}), ${r.int(0, L)}, NaN)`, `J.poke(J.f32(${L}, ${seed}), ${r.int(0, L)}, Infinity)`,
    `J.poke(J.f32(${L}, ${seed}), ${r.int(0, L)}, -Infinity)`, `J.poke(J.f32(${L}, ${seed}), ${L - 1}, NaN)`];
  const valid = [`J.offset(J.f32(${L}, ${seed}), 3)`, `J.shared(J.f32(${L}, ${seed}))`, `J.subclass(J.f32(${L}, ${seed}))`,
    `J.resizable(J.f32(${L}, ${seed}))`];
  if (isOut) valid.push('undefined', `new Float32Array(${L}).fill(NaN)`);
  const which = r.weighted([['type', 4], ['pretend', 1], ['length', 3], ['nonfinite', isOut ? 0 : 3], ['valid', 1]]);
  if (which === 'type') {
    const v = r.pick(type);
    return [v, E.type('ERR_TENSOR', new RegExp(`\\b${esc(name)}\\b`))];
  }
  if (which === 'pretend') return [r.pick(pretend), { ...E.type('ERR_TENSOR'), loose: true }];
  if (which === 'length') return [r.pick(length), E.range('ERR_TENSOR', new RegExp(`\\b${esc(name)}\\b`), new RegExp(`\\b${L}\\b`))];
  if (which === 'nonfinite') return [r.pick(nonFinite), E.range('ERR_NOT_FINITE', new RegExp(`\\b${esc(name)}\\b`))];
  return [r.pick(valid), E.ok()];
}

// ---- valid calls ----------------------------------------------------------------------------

/**
 * A valid attention-family call: { fn, kind, mode, shape, pre: [lines], tensors: [[name, code]],
 * opts: [[key, code]], len (output floats; null for factors / plans) }.
 */
function validAttention(r, fn) {
  const B = r.int(1, 2), H = r.int(1, 3), n = r.weighted([[r.int(1, 8), 2], [r.int(9, 40), 3], [r.pick([16, 32, 33, 63, 64]), 1]]), d = r.int(1, 9);
  const count = B * H * n * d;
  const kind = fn.startsWith('softmax') ? 'softmax' : fn === 'createAttention' ? r.pick(['nystrom', 'softmax']) : 'nystrom';
  const mode = fn.endsWith('Matrix') ? 'matrix' : fn === 'nystromAttentionFactors' ? 'factors' : fn === 'createAttention' ? 'plan' : 'attention';
  const opts = [['shape', `[${B}, ${H}, ${n}, ${d}]`]];
  if (fn === 'createAttention' && (kind === 'softmax' || r.chance(0.3))) opts.push(['kind', str(kind)]);
  if (r.chance(0.5)) opts.push(['style', str(r.pick(STYLES))]);
  if (r.chance(0.3)) opts.push(['layout', str(r.pick(LAYOUTS))]);
  if (r.chance(0.35)) opts.push(['mask', `J.mask(${B}, ${n}, ${r.seed()}, ${str(r.pick(['random', 'trailing', 'ones', 'zeros']))}, ${str(r.pick(['f32', 'array', 'u8', 'bool', 'f64']))})`]);
  if (r.chance(0.25) && mode !== 'factors') opts.push(['convWeight', `J.f32(${H * r.pick([1, 3, 5, 9])}, ${r.seed()}, 0.5)`]);
  if (kind === 'nystrom' || r.chance(0.2)) {
    const remainder = r.weighted([[undefined, 4], ['pad', 1], ['uneven', 1], ['error', 1]]);
    let m;
    if (remainder === 'error') {
      const divs = [];
      for (let x = 1; x <= n; x++) if (n % x === 0) divs.push(x);
      m = r.pick(divs);
    } else if (remainder === 'uneven') m = r.int(1, n);
    else m = r.chance(0.2) ? undefined : r.int(1, n + 10);
    if (m !== undefined || remainder === 'error' || remainder === 'uneven') opts.push(['landmarks', String(m ?? 64)]);
    if (remainder === 'error' && m === undefined) opts.pop();
    if (remainder) opts.push(['remainder', str(remainder)]);
    // 0–12 iterations: the range the accuracy bars hold for. Many more can diverge in float32 on a
    // singular kernel 2 (famIterations: a valid result or RangeError ERR_NOT_FINITE, never NaN).
    if (r.chance(0.4)) opts.push(['pinvIterations', String(r.int(0, 12))]);
    if (r.chance(0.3)) opts.push(['pinvInit', str(r.pick(INITS))]);
  }
  if (mode === 'attention' && r.chance(0.3)) opts.push(['out', `J.out(${count})`]);
  if (mode === 'matrix' && r.chance(0.3)) opts.push(['out', `J.out(${B * H * n * n})`]);
  const tensors = mode === 'plan' ? [] : [['q', `J.keep(J.f32(${count}, ${r.seed()}))`], ['k', `J.keep(J.f32(${count}, ${r.seed()}))`]];
  if (mode === 'attention') tensors.push(['v', `J.keep(J.f32(${count}, ${r.seed()}, 1))`]);
  const len = mode === 'attention' ? count : mode === 'matrix' ? B * H * n * n : null;
  return { fn, kind, mode, shape: [B, H, n, d], count, tensors, opts, len };
}

function renderOpts(opts) {
  return `{ ${opts.map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : str(k)}: ${v}`).join(', ')} }`;
}

/** The snippet of an attention-family call; `wrapOpts` rewrites the options expression. */
function renderAttention(c, { wrapOpts = (o) => o, tensorCode = {} } = {}) {
  const lines = [];
  for (const [name, code] of c.tensors) lines.push(`const ${name} = ${tensorCode[name] ?? code};`);
  lines.push(`const options = ${wrapOpts(renderOpts(c.opts))};`);
  const args = [...c.tensors.map(([name]) => name), 'options'].join(', ');
  const call = `lib.${c.fn}(${args})`;
  if (c.mode === 'plan') lines.push(`return J.usePlan(${call});`);
  else if (c.mode === 'factors') lines.push(`return J.factorsOk(${call});`);
  else lines.push(`return J.f32ok(${call}, ${c.len});`);
  return lines.join('\n');
}

const ATTN_FNS = ['nystromAttention', 'softmaxAttention', 'nystromAttentionMatrix', 'softmaxAttentionMatrix', 'nystromAttentionFactors', 'createAttention'];

/** Which option keys a call checks (softmax calls accept and ignore the Nyström ones). */
function checkedKeys(c) {
  const keys = new Set(VALID_KEYS[c.fn]);
  if (c.kind === 'softmax') for (const k of NYS) keys.delete(k);
  if (c.fn === 'createAttention') keys.delete('out'); // accepted and ignored by createAttention
  return keys;
}

/** Replaces or adds an option. */
function setOpt(c, key, code) {
  const opts = c.opts.filter(([k]) => k !== key);
  opts.push([key, code]);
  return { ...c, opts };
}

// ---- families -------------------------------------------------------------------------------

/** One option of an attention-family call replaced by junk. */
function famOption(r) {
  const c = validAttention(r, r.pick(ATTN_FNS));
  const keys = [...checkedKeys(c)].filter((k) => k !== 'shape' && k !== 'mask' && k !== 'convWeight' && k !== 'out');
  const key = r.pick(keys);
  let code, expect;
  if (key === 'landmarks') [code, expect] = intFaults(r, 1, MAXI, 'ERR_OPTION');
  else if (key === 'pinvIterations') [code, expect] = intFaults(r, 0, 10000, 'ERR_OPTION');
  else if (key === 'style') [code, expect] = enumFaults(r, STYLES);
  else if (key === 'layout') [code, expect] = enumFaults(r, LAYOUTS);
  else if (key === 'pinvInit') [code, expect] = enumFaults(r, INITS);
  else if (key === 'remainder') [code, expect] = enumFaults(r, REMAINDERS);
  else if (key === 'kind') [code, expect] = enumFaults(r, ['nystrom', 'softmax']);
  else if (key === 'build') [code, expect] = enumFaults(r, ['simd', 'relaxed']);
  expect.msg = [new RegExp(esc(key)), ...expect.msg];
  return { family: 'option', body: renderAttention(setOpt(c, key, code)), expect };
}

/** Options of a softmax call with junk Nyström options: accepted and ignored. */
function famIgnored(r) {
  const c = validAttention(r, r.pick(['softmaxAttention', 'softmaxAttentionMatrix']));
  const key = r.pick(NYS);
  const [code] = key === 'landmarks' || key === 'pinvIterations' ? intFaults(r, 0, 1, 'ERR_OPTION') : enumFaults(r, ['pad']);
  return { family: 'ignored', body: renderAttention(setOpt(c, key, code)), expect: E.ok() };
}

/** q, k, v or out replaced by junk. */
function famTensor(r) {
  const c = validAttention(r, r.pick(ATTN_FNS.filter((f) => f !== 'createAttention')));
  const names = c.tensors.map(([n]) => n);
  if (c.mode === 'attention' || c.mode === 'matrix') names.push('out');
  const name = r.pick(names);
  if (name === 'out') {
    const [code, expect] = tensorFaults(r, c.len, 'out', { isOut: true, seed: r.seed() });
    return { family: 'tensor', body: renderAttention(setOpt(c, 'out', code)), expect };
  }
  const [code, expect] = tensorFaults(r, c.count, name, { seed: r.seed() });
  return { family: 'tensor', body: renderAttention(c, { tensorCode: { [name]: code } }), expect };
}

/** The shape, or one of its entries, replaced by junk. */
function famShape(r) {
  let c = validAttention(r, r.pick(ATTN_FNS));
  const [B, H, n, d] = c.shape;
  const plan = c.mode === 'plan';
  let code, expect;
  const which = r.weighted([['entry', 5], ['whole', 4], ['product', 2], ['huge', 2]]);
  if (which === 'entry') {
    const i = r.int(0, 3);
    let v;
    [v, expect] = intFaults(r, 1, MAXI, 'ERR_SHAPE');
    const e = [B, H, n, d].map(String);
    e[i] = v;
    code = `[${e.join(', ')}]`;
    expect.msg = [/shape/, ...expect.msg];
  } else if (which === 'whole') {
    const list = [
      ['null', E.type('ERR_SHAPE', /shape/)], [str(`${B},${H},${n},${d}`), E.type('ERR_SHAPE', /shape/)],
      [`{ 0: ${B}, 1: ${H}, 2: ${n}, 3: ${d}, length: 4 }`, E.type('ERR_SHAPE', /shape/)],
      [`[${B}, ${H}, ${n * d}]`, E.range('ERR_SHAPE', /shape/, /\b4\b/)], [`[${B}, ${H}, ${n}, ${d}, 1]`, E.range('ERR_SHAPE', /shape/)],
      ['[]', E.range('ERR_SHAPE', /shape/)], [`new Float64Array([${B}, ${H}, ${n}, ${d}])`, E.ok()],
      [`new Int32Array([${B}, ${H}, ${n}, ${d}])`, E.ok()], [`Object.freeze([${B}, ${H}, ${n}, ${d}])`, E.ok()],
      [`new BigInt64Array([${B}n, ${H}n, ${n}n, ${d}n])`, E.type('ERR_SHAPE', /BigInt/)],
      [`[${B}, ${H}, ${n}, ${d}].map(String)`, E.type('ERR_SHAPE', /shape/)], [`[${B}, , ${n}, ${d}]`, E.type('ERR_SHAPE', /shape/)],
      [`J.revoked([${B}, ${H}, ${n}, ${d}])`, E.type(['ERR_SHAPE', 'ERR_OPTION'])],
      [`J.trap([${B}, ${H}, ${n}, ${d}], "get")`, E.type(['ERR_SHAPE', 'ERR_OPTION'])],
      [`J.trap([${B}, ${H}, ${n}, ${d}], "get", "symbol")`, E.type(['ERR_SHAPE', 'ERR_OPTION'])],
      [`J.trap([${B}, ${H}, ${n}, ${d}], "get", "junk")`, E.any()],
      [`J.throwingIndex([${B}, ${H}, ${n}, ${d}], 2)`, E.type(['ERR_SHAPE', 'ERR_OPTION'])],
      [`J.flipArray([${B}, ${H}, ${n}, ${d}], 3, [${d}, ${d + 1}, "x"])`, plan ? E.ok() : E.ok()],
      [`J.detached(new Float64Array([${B}, ${H}, ${n}, ${d}]))`, E.range('ERR_SHAPE', /shape/)],
      // (2**32 - 1: Array.from runs ~15 s before it fails; 2**20: an error message of millions of characters)
      [`J.sparse(${r.chance(0.15) ? '2**32 - 1' : '2**20'})`, E.range('ERR_SHAPE', /shape/)], ['J.sparse(3)', E.range('ERR_SHAPE', /shape/)],
      [`[${B}, ${H}, J.nullProto({})]`, E.range('ERR_SHAPE', /shape/)],
      [`[${B}, ${H}, { toString() { throw new J.JunkTrap("toString"); } }]`, E.range('ERR_SHAPE', /shape/)],
      [`[${B}, ${H}, Symbol("n")]`, E.range('ERR_SHAPE', /shape/)],
      [`new Map([[0, ${B}], [1, ${H}], [2, ${n}], [3, ${d}]])`, E.type('ERR_SHAPE', /shape/)],
    ];
    [code, expect] = r.pick(list);
  } else {
    // the shape changes: drop what depends on it (mask: batch·seqLen, conv: heads, out: the count)
    c = { ...c, opts: c.opts.filter(([k]) => k !== 'mask' && k !== 'convWeight' && k !== 'out') };
  }
  if (which === 'product') {
    // valid integers whose product does not match the tensors (plans: nothing to match)
    const e = [B, H, n, d];
    e[r.int(0, 3)] += r.int(1, 3);
    code = `[${e.join(', ')}]`;
    expect = plan ? E.ok() : E.range('ERR_TENSOR');
  } else if (which === 'huge') {
    // a product past every limit (one-shot calls: the tensor lengths disagree first; plans: memory)
    const e = [B, H, n, d];
    const big = [MAXI, 2 ** 30, 65536 * 64, 1 << 24];
    e[r.int(0, 3)] = r.pick(big);
    if (r.chance(0.5)) e[r.int(0, 3)] = r.pick(big);
    code = `[${e.join(', ')}]`;
    // A huge shape with a matching mask length (plans only read the mask, no tensors).
    if (plan && r.chance(0.3)) {
      const c2 = setOpt(setOpt(c, 'shape', code), 'mask', `{ length: ${e[0]} * ${e[2]} }`);
      return { family: 'shape', body: renderAttention(c2), expect: { cls: 'RangeError', codes: ['ERR_MEMORY', 'ERR_OPTION'], msg: [] } };
    }
    const bytes = 16 * e.reduce((a, b) => a * b, 1);
    if (plan && bytes <= WASM32) {
      return { family: 'shape', body: `return J.withLimit(lib, ${2 ** 20}, () => {\n${renderAttention(setOpt(c, 'shape', code))}\n});`, expect: E.range('ERR_MEMORY', /memory/) };
    }
    expect = plan ? E.range('ERR_MEMORY', /memory/) : E.range('ERR_TENSOR');
  }
  return { family: 'shape', body: renderAttention(setOpt(c, 'shape', code)), expect };
}

/** mask replaced by junk. */
function famMask(r) {
  const c = validAttention(r, r.pick(ATTN_FNS));
  const [B, , n] = c.shape;
  const L = B * n;
  const s = r.seed();
  const i = r.int(0, L - 1);
  const list = [
    [`J.maskWith(${B}, ${n}, ${s}, ${i}, 2)`, E.range('ERR_OPTION', /mask/, /\b2\b/)],
    [`J.maskWith(${B}, ${n}, ${s}, ${i}, -1)`, E.range('ERR_OPTION', /mask/, /-1/)],
    [`J.maskWith(${B}, ${n}, ${s}, ${i}, 0.5)`, E.range('ERR_OPTION', /mask/, /0\.5/)],
    [`J.maskWith(${B}, ${n}, ${s}, ${i}, NaN)`, E.range('ERR_OPTION', /mask/, /NaN/)],
    [`J.maskWith(${B}, ${n}, ${s}, ${i}, -0)`, E.ok()],
    [`J.maskWith(${B}, ${n}, ${s}, ${i}, "1")`, { ...E.range('ERR_OPTION', /mask/), loose: true }],
    [`J.maskWith(${B}, ${n}, ${s}, ${i}, null)`, { ...E.range('ERR_OPTION', /mask/), loose: true }],
    [`J.maskWith(${B}, ${n}, ${s}, ${i}, {})`, { ...E.range('ERR_OPTION', /mask/), loose: true }],
    [`J.maskWith(${B}, ${n}, ${s}, ${i}, Infinity)`, E.range('ERR_OPTION', /mask/)],
    [`J.maskWith(${B}, ${n}, ${s}, ${i}, 1n)`, E.type('ERR_OPTION', /mask/, /BigInt/)],
    [`new BigInt64Array(${L}).fill(1n)`, E.type('ERR_OPTION', /mask/, /BigInt/)],
    [`new Float32Array(${L + 1}).fill(1)`, E.range('ERR_OPTION', /mask/, new RegExp(`\\b${L}\\b`))],
    [`new Uint8Array(${Math.max(0, L - 1)}).fill(1)`, E.range('ERR_OPTION', /mask/, new RegExp(`\\b${L}\\b`))],
    [`{ length: ${L} }`, E.range('ERR_OPTION', /mask/)],
    [`J.sparse(${L})`, E.range('ERR_OPTION', /mask/)],
    [`J.sparse(2**32 - 1)`, E.range('ERR_OPTION', /mask/)],
    [`{ length: 2**53 }`, E.range('ERR_OPTION', /mask/)],
    [`{ length: NaN }`, E.range('ERR_OPTION', /mask/)],
    [`{ length: ${L}n }`, E.type('ERR_OPTION', /mask/)],
    ['null', E.type('ERR_OPTION', /mask/)], ['"ones"', E.type('ERR_OPTION', /mask/)], ['5', E.type('ERR_OPTION', /mask/)],
    ['true', E.type('ERR_OPTION', /mask/)], ['() => 1', E.type('ERR_OPTION', /mask/)],
    [`J.revoked(J.mask(${B}, ${n}, ${s}, "ones", "array"))`, E.type('ERR_OPTION', /mask/)],
    [`J.trap(J.mask(${B}, ${n}, ${s}, "ones", "array"), "get")`, E.type('ERR_OPTION', /mask/)],
    [`J.trap(J.mask(${B}, ${n}, ${s}, "ones", "array"), "get", "symbol")`, E.type('ERR_OPTION', /mask/)],
    [`J.trap(J.mask(${B}, ${n}, ${s}, "ones", "array"), "get", "junk")`, E.any()],
    [`J.throwingIndex(J.mask(${B}, ${n}, ${s}, "ones", "array"), ${i})`, E.type('ERR_OPTION', /mask/)],
    [`J.throwingIndex(J.mask(${B}, ${n}, ${s}, "ones", "array"), ${i}, "nullproto")`, E.type('ERR_OPTION', /mask/)],
    [`{ get length() { throw new J.JunkTrap("length"); } }`, E.type('ERR_OPTION', /mask/)],
    [`J.flipArray(J.mask(${B}, ${n}, ${s}, "ones", "array"), ${i}, [0, 1, 2])`, E.ok()],
    [`J.mask(${B}, ${n}, ${s}, "random", "frozen")`, E.ok()], [`J.mask(${B}, ${n}, ${s}, "random", "i32")`, E.ok()],
    [`J.mask(${B}, ${n}, ${s}, "random", "bool")`, E.ok()], [`J.mask(${B}, ${n}, ${s}, "zeros", "u8")`, E.ok()],
    [`new Uint8ClampedArray(${L}).fill(1)`, E.ok()], ['undefined', E.ok()],
    [`J.detached(J.mask(${B}, ${n}, ${s}, "ones"))`, E.range('ERR_OPTION', /mask/)],
  ];
  const [code, expect] = r.pick(list);
  return { family: 'mask', body: renderAttention(setOpt(c, 'mask', code)), expect };
}

/** convWeight replaced by junk. */
function famConv(r) {
  const c = validAttention(r, r.pick(ATTN_FNS.filter((f) => f !== 'nystromAttentionFactors')));
  const H = c.shape[1];
  const s = r.seed();
  const list = [
    [`J.f32(${H * 2}, ${s}, 0.5)`, E.range('ERR_OPTION', /convWeight/, /odd|even/)],
    [`J.f32(${H * 4}, ${s}, 0.5)`, E.range('ERR_OPTION', /convWeight/)],
    ['new Float32Array(0)', E.range('ERR_OPTION', /convWeight/)],
    [`J.detached(J.f32(${H * 3}, ${s}))`, E.range('ERR_OPTION', /convWeight/)],
    [`J.poke(J.f32(${H * 3}, ${s}, 0.5), ${r.int(0, 9)}, NaN)`, E.range('ERR_NOT_FINITE', /convWeight/)],
    [`J.poke(J.f32(${H * 3}, ${s}, 0.5), ${r.int(0, 9)}, -Infinity)`, E.range('ERR_NOT_FINITE', /convWeight/)],
    [`new Float64Array(${H * 3})`, E.type('ERR_OPTION', /convWeight/)],
    [`Array.from(J.f32(${H * 3}, ${s}))`, E.type('ERR_OPTION', /convWeight/)],
    ['null', E.type('ERR_OPTION', /convWeight/)], ['3', E.type('ERR_OPTION', /convWeight/)], ['3n', E.type('ERR_OPTION', /convWeight/)],
    [`J.revoked(J.f32(${H * 3}, ${s}))`, E.type('ERR_OPTION', /convWeight/)],
    [`new Proxy(J.f32(${H * 3}, ${s}), {})`, E.type('ERR_OPTION', /convWeight/)],
    [`J.ctorThrows(new Float64Array(${H * 3}))`, E.type('ERR_OPTION', /convWeight/)],
    ['J.fakeF32()', E.type('ERR_OPTION', /convWeight/)],
    [`J.offset(J.f32(${H * 3}, ${s}, 0.5), 1)`, E.ok()], [`J.shared(J.f32(${H * 5}, ${s}, 0.5))`, E.ok()],
    [`J.f32(${H * 63}, ${s}, 0.01)`, E.ok()],
  ];
  if (H > 1) list.push([`J.f32(${H * 3 + 1}, ${s}, 0.5)`, E.range('ERR_OPTION', /convWeight/)]);
  const [code, expect] = r.pick(list);
  return { family: 'conv', body: renderAttention(setOpt(c, 'convWeight', code)), expect };
}

/** One-edit typos of a name (length ≥ 5). */
function typo(r, name) {
  const i = r.int(0, name.length - 1);
  switch (r.int(0, 4)) {
    case 0: return name.slice(0, i) + name.slice(i + 1); // deletion
    case 1: return i < name.length - 1 ? name.slice(0, i) + name[i + 1] + name[i] + name.slice(i + 2) : name + 's'; // swap
    case 2: return name.slice(0, i) + String.fromCharCode(97 + r.int(0, 25)) + name.slice(i + 1); // substitution
    case 3: return name.slice(0, i) + (name[i] === name[i].toUpperCase() ? name[i].toLowerCase() : name[i].toUpperCase()) + name.slice(i + 1);
    default: return name + 's';
  }
}

/** Edit distance, lower-cased and without _ - or blanks (to judge a suggestion). */
export function nameDistance(a, b) {
  const norm = (s) => s.toLowerCase().replace(/[_\-\s]/g, '');
  a = norm(a);
  b = norm(b);
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

/** The whole options object replaced or wrapped: non-objects, Proxies, getters, unknown keys. */
function famOptions(r) {
  const c = validAttention(r, r.pick(ATTN_FNS));
  const keys = c.opts.map(([k]) => k);
  const key = r.pick(keys);
  const valid = VALID_KEYS[c.fn];
  const which = r.weighted([['type', 3], ['proxy', 3], ['getter', 3], ['unknown', 5], ['benign', 2]]);
  let wrap, expect;
  if (which === 'type') {
    [wrap, expect] = r.pick([
      [() => 'null', E.type('ERR_OPTION', /options/)], [() => 'undefined', E.type('ERR_OPTION', /options/)], [() => '5', E.type('ERR_OPTION')],
      [() => '"options"', E.type('ERR_OPTION')], [() => '[]', E.type('ERR_OPTION')], [(o) => `[${o}]`, E.type('ERR_OPTION')],
      [() => '5n', E.type('ERR_OPTION')], [() => 'Symbol("options")', E.type('ERR_OPTION')], [(o) => `() => (${o})`, E.type('ERR_OPTION')],
      [(o) => `new Map(Object.entries(${o}))`, E.type(['ERR_OPTION', 'ERR_SHAPE'])], [() => 'true', E.type('ERR_OPTION')],
      [(o) => `J.revoked(${o})`, E.type('ERR_OPTION')], [(o) => `Object.assign([], ${o})`, E.type('ERR_OPTION')],
    ]);
  } else if (which === 'proxy') {
    const mode = r.pick(['throw', 'throw', 'symbol', 'nullproto', 'undefined', 'msgthrows', 'revoked']);
    [wrap, expect] = r.pick([
      [(o) => `J.trap(${o}, "ownKeys", ${str(mode)})`, E.type('ERR_OPTION')], [(o) => `J.trap(${o}, "get", ${str(mode)})`, E.type('ERR_OPTION')],
      [(o) => `J.trap(${o}, "getOwnPropertyDescriptor", ${str(mode)})`, E.type('ERR_OPTION')],
      [(o) => `J.trap(${o}, "ownKeys", "junk")`, E.type('ERR_OPTION')], [(o) => `J.trap(${o}, "get", "junk")`, E.any()],
      [(o) => `J.trap(${o}, "getOwnPropertyDescriptor", "junk")`, E.any()], [(o) => `J.trap(${o}, "has", ${str(mode)})`, E.any()],
      [(o) => `J.trap(${o}, "getPrototypeOf", ${str(mode)})`, E.any()], [(o) => `J.trap(${o}, "set", ${str(mode)})`, E.any()],
      [(o) => `new Proxy(${o}, {})`, E.ok()],
    ]);
  } else if (which === 'getter') {
    const mode = r.pick(['throw', 'throw', 'symbol', 'nullproto', 'undefined', 'string', 'number', 'msgthrows', 'revoked']);
    [wrap, expect] = r.pick([
      [(o) => `J.getter(${o}, ${str(key)}, ${str(mode)})`, E.type('ERR_OPTION', new RegExp(esc(key)))],
      [(o) => `J.getter(${o}, ${str(r.pick(valid))}, ${str(mode)})`, E.type('ERR_OPTION')],
      [(o) => `J.flip(${o}, ${str(key)}, [${c.opts.find(([k]) => k === key)[1]}, "junk", null])`, E.ok()],
    ]);
  } else if (which === 'unknown') {
    const kind = r.weighted([['typo', 4], ['alias', 3], ['random', 3]]);
    let name, near;
    if (kind === 'typo') {
      const base = r.pick(valid.filter((k) => k.length >= 5));
      name = typo(r, base);
      if (valid.includes(name)) name = base + '_';
      near = base;
    } else if (kind === 'alias') {
      const a = r.pick(ALIASES.filter(([, t]) => valid.includes(t)));
      [name, near] = a;
    } else {
      name = r.pick(['foo', '', ' ', '0', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'x'.repeat(300), 'landmarks\u200b', '🙂', 'shape ', 'mask.0', 'undefined', 'null']);
    }
    const value = r.pick(['1', 'undefined', 'null', '"x"', 'J.revoked({})', '64']);
    // An own key with value undefined is still an unknown key; '__proto__' as a computed key is an own property.
    wrap = (o) => `{ ...${o}, [${str(name)}]: ${value} }`;
    const msg = [new RegExp(`'${esc(name)}'`)];
    if (kind === 'alias') msg.push(new RegExp(`did you mean '${esc(near)}'`));
    if (kind === 'typo') msg.push(/did you mean '/);
    expect = E.type('ERR_OPTION', ...msg);
    expect.suggest = kind === 'typo' ? { name, near } : undefined;
  } else {
    [wrap, expect] = r.pick([
      [(o) => `Object.freeze(${o})`, E.ok()], [(o) => `J.nullProto(${o})`, E.ok()], [(o) => `J.inherit(${o})`, E.ok()],
      [(o) => `J.withSymbol(${o})`, E.ok()], [(o) => `J.nonEnumerable(${o}, "junkKey", 1)`, E.ok()],
      [(o) => `Object.assign(new (class Options {})(), ${o})`, E.ok()],
    ]);
  }
  return { family: 'options', body: renderAttention(c, { wrapOpts: wrap }), expect };
}

/** A valid call (must succeed). */
function famValid(r) {
  const c = validAttention(r, r.pick(ATTN_FNS));
  return { family: 'valid', body: renderAttention(c), expect: E.ok() };
}

/** matmul / matmulTransposed with one fault. */
function famMatmul(r) {
  const fn = r.pick(['matmul', 'matmulTransposed']);
  const which = r.weighted([['dim', 4], ['a', 2], ['b', 2], ['out', 2], ['huge', 1], ['valid', 1], ['alias', 1]]);
  const M = r.int(1, 40), K = which === 'alias' ? M : r.int(1, 40), N = which === 'alias' ? M : r.int(1, 40);
  const name = `${fn}`;
  const slots = { a: `J.keep(J.f32(${M * K}, ${r.seed()}, 1))`, b: `J.keep(J.f32(${K * N}, ${r.seed()}, 1))`, m: String(M), k: String(K), n: String(N) };
  let out = r.chance(0.3) ? `J.out(${M * N})` : undefined;
  let expect = E.ok();
  if (which === 'dim') {
    const d = r.pick(['m', 'k', 'n']);
    [slots[d], expect] = intFaults(r, 1, MAXI, 'ERR_SHAPE');
    expect.msg = [new RegExp(`\\b${d}\\b`), ...expect.msg];
  } else if (which === 'a' || which === 'b') {
    [slots[which], expect] = tensorFaults(r, which === 'a' ? M * K : K * N, which, { seed: r.seed() });
  } else if (which === 'out') {
    [out, expect] = tensorFaults(r, M * N, 'out', { isOut: true, seed: r.seed() });
  } else if (which === 'huge') {
    const d = r.pick(['m', 'k', 'n']);
    slots[d] = r.pick(['2147483647', '1 << 30', '65536']);
    expect = E.range('ERR_TENSOR');
  } else if (which === 'alias') {
    return {
      family: 'matmul',
      body: `const a = J.keep(J.f32(${M * K}, ${r.seed()}, 1));\nconst want = lib.${fn}(a, a.slice(), ${M}, ${K}, ${N});\n` +
        `const out = a.slice();\nreturn J.assertBits(J.f32ok(lib.${fn}(out, out, ${M}, ${K}, ${N}, out), ${M * N}), want, 'matmul with a = b = out');`,
      expect: E.ok(),
    };
  }
  const args = [slots.a, slots.b, slots.m, slots.k, slots.n];
  if (out !== undefined) args.push(out);
  const len = which === 'dim' || which === 'huge' ? undefined : M * N;
  return { family: 'matmul', body: `return J.f32ok(lib.${name}(${args.join(', ')}), ${len});`, expect };
}

/** createMatmul with one fault (and its plan used). */
function famCreateMatmul(r) {
  const M = r.int(1, 30), K = r.int(1, 30), N = r.int(1, 30);
  const opts = [['m', String(M)], ['k', String(K)], ['n', String(N)]];
  if (r.chance(0.4)) opts.push(['transB', r.pick(['true', 'false'])]);
  if (r.chance(0.2)) opts.push(['build', '"simd"']);
  const which = r.weighted([['dim', 4], ['transB', 2], ['build', 1], ['unknown', 2], ['huge', 2], ['plan', 3], ['valid', 1]]);
  let expect = E.ok();
  let o = opts;
  const set = (k, v) => { o = o.filter(([x]) => x !== k).concat([[k, v]]); };
  if (which === 'dim') {
    const d = r.pick(['m', 'k', 'n']);
    let v;
    [v, expect] = intFaults(r, 1, MAXI, 'ERR_SHAPE');
    set(d, v);
  } else if (which === 'transB') {
    const v = r.pick(['"true"', '1', '0', '{}', '1n', 'Symbol()', 'new Boolean(true)', '[true]']);
    set('transB', v);
    expect = E.type('ERR_OPTION', /transB/);
  } else if (which === 'build') {
    let v;
    [v, expect] = enumFaults(r, ['simd', 'relaxed']);
    set('build', v);
  } else if (which === 'unknown') {
    const [name, near] = r.pick([['transA', null], ['transpose', null], ['M', 'm'], ['K', 'k'], ['transb', 'transB'], ['trans_b', 'transB'], ['bild', 'build'], ['out', null]]);
    set(name, '1');
    expect = E.type('ERR_OPTION', new RegExp(`'${esc(name)}'`), ...(near ? [new RegExp(`did you mean '${esc(near)}'`)] : []));
  } else if (which === 'huge') {
    const [m, k, n] = r.pick([[65536, 65536, 1], [MAXI, 1, 1], [1, MAXI, 2], [46341, 46341, 46341], [4096, 4096, 4096], [20000, 20000, 1]]);
    set('m', String(m)); set('k', String(k)); set('n', String(n));
    const bytes = 4 * (m * k + k * n + m * n);
    if (bytes <= WASM32) {
      return { family: 'createMatmul', body: `return J.withLimit(lib, ${2 ** 20}, () => J.useMatmul(lib.createMatmul(${renderOpts(o)}), ${m}, ${k}, ${n}));`, expect: E.range('ERR_MEMORY', /memory/) };
    }
    expect = E.range('ERR_MEMORY', /memory/);
    return { family: 'createMatmul', body: `return J.useMatmul(lib.createMatmul(${renderOpts(o)}), ${m}, ${k}, ${n});`, expect };
  } else if (which === 'plan') {
    // a plan's run with junk operands, or with its own views (aliasing), or after dispose
    const transB = o.some(([k, v]) => k === 'transB' && v === 'true');
    const lines = [`const p = lib.createMatmul(${renderOpts(o)});`, 'try {'];
    const sub = r.weighted([['a', 2], ['b', 2], ['out', 1], ['alias', 2], ['nan-inplace', 1], ['disposed', 1]]);
    if (sub === 'a' || sub === 'b' || sub === 'out') {
      const len = sub === 'a' ? M * K : sub === 'b' ? K * N : M * N;
      const [v, e] = tensorFaults(r, len, sub, { isOut: sub === 'out', seed: r.seed() });
      const a = sub === 'a' ? v : 'a', b = sub === 'b' ? v : 'b';
      lines.push(`  const a = J.keep(J.f32(${M * K}, 5, 1)), b = J.keep(J.f32(${K * N}, 6, 1));`, '  const before = p.run(a, b);',
        `  try { return J.f32ok(p.run(${a}, ${b}${sub === 'out' ? `, ${v}` : ''}), ${M * N}); }`,
        "  catch (e) { J.assertBits(p.run(a, b), before, 'matmul plan run after a refused run'); throw e; }");
      expect = e;
      if (expect.msg) expect.msg = expect.msg.slice(1);
    } else if (sub === 'alias') {
      lines.push(`  p.a.set(J.f32(${M * K}, 7, 1)); p.b.set(J.f32(${K * N}, 8, 1));`,
        // The one-shot call of the plan's own build is the yardstick (the builds round differently).
        `  const prev = lib.activeBuild(); lib.selectBuild(p.build);`,
        `  const want = lib.${transB ? 'matmulTransposed' : 'matmul'}(p.a.slice(), p.b.slice(), ${M}, ${K}, ${N});`,
        `  const want2 = ${M * K === K * N} ? lib.${transB ? 'matmulTransposed' : 'matmul'}(p.b.slice(), p.a.slice(), ${M}, ${K}, ${N}) : null;`,
        '  lib.selectBuild(prev);',
        `  J.assertBits(J.f32ok(p.run(p.a, p.b), ${M * N}), want, 'matmul plan.run(p.a, p.b)');`);
      if (M * K === K * N) lines.push(
        `  J.assertBits(p.run(p.b, p.a), want2, 'matmul plan.run(p.b, p.a)');`);
      if (M * N === M * K) lines.push(`  lib.selectBuild(p.build); const want3 = lib.${transB ? 'matmulTransposed' : 'matmul'}(p.c.slice(), p.b.slice(), ${M}, ${K}, ${N}); lib.selectBuild(prev);`,
        `  J.assertBits(p.run(p.c, p.b), want3, 'matmul plan.run(p.c, p.b)');`);
      lines.push('  return p.c.slice();');
    } else if (sub === 'nan-inplace') {
      lines.push(`  p.a.set(J.f32(${M * K}, 7, 1)); p.b.set(J.f32(${K * N}, 8, 1)); p.b[${r.int(0, K * N - 1)}] = NaN;`, '  return p.runInPlace();');
      expect = E.range('ERR_NOT_FINITE', /\bb\b/);
    } else {
      lines.push('  p.dispose();', `  return ${r.pick(['p.runInPlace()', `p.run(J.f32(${M * K}, 1), J.f32(${K * N}, 2))`, 'p.a', 'p.b', 'p.c'])};`);
      expect = E.state('ERR_DISPOSED', /dispose/);
    }
    lines.push('} finally {', '  p.dispose();', '}');
    return { family: 'createMatmul', body: lines.join('\n'), expect };
  }
  return { family: 'createMatmul', body: `return J.useMatmul(lib.createMatmul(${renderOpts(o)}), ${M}, ${K}, ${N});`, expect };
}

/** Attention plans: junk in run / setMask / runInPlace, aliasing, disposed plans. */
function famPlan(r) {
  const c = validAttention(r, 'createAttention');
  const [B, H, n, d] = c.shape;
  const L = B * H * n * d;
  const lines = [`const p = lib.createAttention(${renderOpts(c.opts)});`, 'try {',
    `  const q = J.keep(J.f32(${L}, ${r.seed()})), k = J.keep(J.f32(${L}, ${r.seed()})), v = J.keep(J.f32(${L}, ${r.seed()}, 1));`];
  let expect = E.ok();
  const sub = r.weighted([['run', 4], ['setMask', 3], ['alias', 2], ['inplace-nan', 1], ['disposed', 2], ['out-alias', 1]]);
  if (sub === 'run') {
    const which = r.pick(['q', 'k', 'v', 'out']);
    const [code, e] = tensorFaults(r, L, which, { isOut: which === 'out', seed: r.seed() });
    const args = { q: 'q', k: 'k', v: 'v' };
    if (which !== 'out') args[which] = code;
    // A refused run leaves the plan as it was: the next valid run is bit-identical to the one before.
    lines.push('  const before = p.run(q, k, v);',
      `  try { return J.f32ok(p.run(${args.q}, ${args.k}, ${args.v}${which === 'out' ? `, ${code}` : ''}), ${L}); }`,
      "  catch (e) { J.assertBits(p.run(q, k, v), before, 'run after a refused run'); throw e; }");
    expect = e;
  } else if (sub === 'setMask') {
    const s = r.seed();
    const i = r.int(0, B * n - 1);
    const [m, e] = r.pick([
      [`J.maskWith(${B}, ${n}, ${s}, ${i}, 2)`, E.range('ERR_OPTION', /mask/)], [`J.maskWith(${B}, ${n}, ${s}, ${i}, 0.5)`, E.range('ERR_OPTION', /mask/)],
      [`new Float32Array(${B * n + 1})`, E.range('ERR_OPTION', /mask/)], ['null', E.type('ERR_OPTION', /mask/)], ['"mask"', E.type('ERR_OPTION', /mask/)],
      [`new BigInt64Array(${B * n})`, E.type('ERR_OPTION', /BigInt/)], [`J.trap(J.mask(${B}, ${n}, ${s}), "get")`, E.type('ERR_OPTION', /mask/)],
      [`J.revoked(J.mask(${B}, ${n}, ${s}))`, E.type('ERR_OPTION', /mask/)],
      [`{ get length() { throw new J.JunkTrap("length"); } }`, E.type('ERR_OPTION', /mask/)],
      [`J.mask(${B}, ${n}, ${s}, "random", "u8")`, E.ok()], ['undefined', E.ok()],
    ]);
    // A refused mask leaves the old one in place: the next run is bit-identical to the one before.
    lines.push('  const before = p.run(q, k, v);', `  try { p.setMask(${m}); } catch (e) { J.assertBits(p.run(q, k, v), before, 'run after a refused setMask'); throw e; }`,
      `  return J.f32ok(p.run(q, k, v), ${L});`);
    expect = e;
  } else if (sub === 'alias') {
    // Inputs that are the plan's own views, in other roles: bit-identical to copies.
    const perm = r.pick([['p.inputs.k', 'p.inputs.q', 'p.inputs.v'], ['p.output', 'p.inputs.k', 'p.inputs.q'], ['p.inputs.v', 'p.inputs.v', 'p.output'], ['p.inputs.q', 'p.inputs.k', 'p.inputs.v']]);
    lines.push('  p.run(q, k, v);', '  p.inputs.q.set(q); p.inputs.k.set(k); p.inputs.v.set(v);',
      `  const copies = [${perm.map((x) => `${x}.slice()`).join(', ')}];`, '  const want = p.run(...copies);',
      '  p.run(q, k, v);', '  p.inputs.q.set(q); p.inputs.k.set(k); p.inputs.v.set(v);',
      `  const got = p.run(${perm.join(', ')}${r.chance(0.5) ? ', p.inputs.q' : ''});`,
      `  return J.assertBits(J.f32ok(got, ${L}), want, 'plan.run(${perm.join(', ')})');`);
  } else if (sub === 'out-alias') {
    lines.push('  const want = p.run(q, k, v);', '  const out = q.slice();', `  return J.assertBits(J.f32ok(p.run(out, k, v, out), ${L}), want, 'plan.run(out, k, v, out)');`);
  } else if (sub === 'inplace-nan') {
    const t = r.pick(['q', 'k', 'v']);
    lines.push(`  p.inputs.q.set(q); p.inputs.k.set(k); p.inputs.v.set(v); p.inputs.${t}[${r.int(0, L - 1)}] = ${r.pick(['NaN', 'Infinity', '-Infinity'])};`,
      '  return p.runInPlace();');
    expect = E.range('ERR_NOT_FINITE', new RegExp(`\\b${t}\\b`));
  } else {
    lines.push('  p.dispose();', `  return ${r.pick(['p.runInPlace()', 'p.run(q, k, v)', 'p.setMask(undefined)', 'p.inputs', 'p.output', `p.setMask(new Float32Array(${B * n}).fill(1))`])};`);
    expect = E.state('ERR_DISPOSED', /dispose/);
  }
  lines.push('} finally {', '  p.dispose();', '}');
  return { family: 'plan', body: lines.join('\n'), expect };
}

/** nystromAttentionRow with junk indices, options or factors. */
function famRow(r) {
  const B = r.int(1, 2), H = r.int(1, 2), n = r.int(1, 30), d = r.int(1, 6);
  const L = B * H * n * d;
  const m = r.int(1, n + 6);
  const style = r.pick(STYLES);
  const pre = `const f = lib.nystromAttentionFactors(J.f32(${L}, ${r.seed()}), J.f32(${L}, ${r.seed()}), { shape: [${B}, ${H}, ${n}, ${d}], landmarks: ${m}, style: ${str(style)} });`;
  const idx = { b: String(r.int(0, B - 1)), h: String(r.int(0, H - 1)), row: String(r.int(0, n - 1)) };
  let opts = r.chance(0.3) ? `{ from: ${r.int(0, n >> 1)}, to: ${n} }` : undefined;
  let factors = 'f';
  let expect = E.ok();
  let len;
  const which = r.weighted([['index', 4], ['options', 3], ['factors', 4]]);
  if (which === 'index') {
    const slot = r.pick(['b', 'h', 'row']);
    const hi = slot === 'b' ? B - 1 : slot === 'h' ? H - 1 : n - 1;
    [idx[slot], expect] = r.chance(0.5)
      ? [String(hi + 1 + r.int(0, 3)), E.range('ERR_OPTION', new RegExp(esc(`[0, ${hi}]`)))]
      : intFaults(r, 0, hi, 'ERR_OPTION');
  } else if (which === 'options') {
    [opts, expect] = r.pick([
      [`{ from: ${n}, to: 0 }`, E.range('ERR_OPTION', /\bto\b/)], [`{ from: -1 }`, E.range('ERR_OPTION', /from/)], [`{ to: ${n + 1} }`, E.range('ERR_OPTION', /\bto\b/)],
      [`{ from: 0.5 }`, E.range('ERR_OPTION', /from/)], [`{ from: 0n }`, E.type('ERR_OPTION', /BigInt/)], [`{ form: 0 }`, E.type('ERR_OPTION', /'form'/, /did you mean 'from'/)],
      [`{ out: new Float32Array(${n + 1}) }`, E.range('ERR_TENSOR', /out/)], [`{ out: new Float64Array(${n}) }`, E.type('ERR_TENSOR', /out/)],
      [`{ out: J.out(${n}) }`, E.ok()], ['null', E.type('ERR_OPTION')], ['5', E.type('ERR_OPTION')], ['[]', E.type('ERR_OPTION')],
      [`J.getter({ from: 0 }, "from")`, E.type('ERR_OPTION', /from/)], [`J.revoked({})`, E.type('ERR_OPTION')],
      [`J.trap({ from: 0 }, "ownKeys")`, E.type('ERR_OPTION')], [`{ from: ${n}, to: ${n} }`, E.ok()],
    ]);
  } else {
    // factors whose pieces disagree: a coded error or a finite row — never NaN from reading past an array
    [factors, expect] = r.pick([
      [`J.with(f, "pad", f.pad + ${r.int(1, 5)})`, E.any()], ['J.with(f, "pad", -1)', E.any()], ['J.with(f, "pad", 0.5)', E.any()],
      ['J.with(f, "pad", NaN)', E.any()], ['J.with(f, "pad", "0")', E.any()], ['J.with(f, "pad", 2**40)', E.any()],
      [`J.with(f, "shape", [${B}, ${H}, ${n + r.int(1, 40)}, ${d}])`, E.any()], [`J.with(f, "shape", [${B}, ${H}, "${n}", ${d}])`, E.any()],
      [`J.with(f, "shape", [${B}, ${H}])`, E.any()], ['J.with(f, "rows", f.rows + 1)', E.any()], ['J.with(f, "landmarks", f.landmarks + 1)', E.any()],
      ['J.with(f, "landmarks", 0)', E.any()], ['J.with(f, "rows", 1e10)', E.any()], ['J.with(f, "kernel1", f.kernel1.subarray(1))', E.any()],
      ['J.with(f, "pinv", new Float64Array(f.pinv))', E.type('ERR_TENSOR')], ['J.with(f, "kernel3", null)', E.type('ERR_TENSOR')],
      ['J.with(f, "shape", null)', E.type('ERR_TENSOR')], ['J.getter(f, "kernel1")', E.type(['ERR_TENSOR', 'ERR_OPTION'])],
      ['J.revoked(f)', E.type(['ERR_TENSOR', 'ERR_OPTION'])], ['J.trap(f, "get")', E.type(['ERR_TENSOR', 'ERR_OPTION'])],
      ['Object.freeze(f)', E.ok()], ['J.nullProto(f)', E.ok()], ['null', E.type('ERR_TENSOR')], ['[]', E.type('ERR_TENSOR')],
    ]);
  }
  if (which !== 'index' && !opts?.includes('from') && !opts?.includes('to')) len = n;
  if (opts && /from: (\d+), to: (\d+)/.test(opts)) {
    const [, a, b] = opts.match(/from: (\d+), to: (\d+)/);
    len = +b >= +a ? b - a : undefined;
  }
  if (which === 'factors') len = undefined;
  const call = `lib.nystromAttentionRow(${factors}, ${idx.b}, ${idx.h}, ${idx.row}${opts !== undefined ? `, ${opts}` : ''})`;
  return { family: 'row', body: `${pre}\nreturn J.f32ok(${call}, ${len});`, expect };
}

/** setMemoryLimit: junk limits; valid calls under a small cap are valid or refused before anything is written. */
function famMemory(r) {
  const which = r.weighted([['limit-junk', 3], ['capped-call', 4], ['capped-plan', 2], ['huge-plan', 1]]);
  if (which === 'limit-junk') {
    let [v, expect] = intFaults(r, 65536, WASM32, 'ERR_OPTION');
    if (r.chance(0.2)) [v, expect] = [r.pick(['65536', '2**32', '100000', '2**31']), E.ok()];
    return { family: 'memory', body: `return J.restoring(lib, () => lib.setMemoryLimit(${v}));`, expect: expect.ok ? { okValue: WASM32 } : expect };
  }
  const cap = r.pick([65536, 131072, 2 ** 18, 2 ** 20, 2 ** 22, 2 ** 24]);
  if (which === 'capped-call') {
    const c = validAttention(r, r.pick(ATTN_FNS.filter((f) => f !== 'createAttention')));
    if (c.mode === 'attention' || c.mode === 'matrix') {
      if (!c.opts.some(([k]) => k === 'out')) c.opts.push(['out', `J.out(${c.len})`]);
    }
    return { family: 'memory', body: `return J.withLimit(lib, ${cap}, () => {\n${renderAttention(c)}\n});`, expect: E.okOr('ERR_MEMORY') };
  }
  if (which === 'capped-plan') {
    const c = validAttention(r, 'createAttention');
    return { family: 'memory', body: `return J.withLimit(lib, ${cap}, () => {\n${renderAttention(c)}\n});`, expect: E.okOr('ERR_MEMORY') };
  }
  // a plan that needs more than the cap by its tensors alone
  const d = r.int(1, 128), H = r.int(1, 8);
  const n = Math.ceil(cap / (16 * d * H)) + r.int(1, 1000);
  const style = r.pick(STYLES);
  return {
    family: 'memory',
    body: `return J.withLimit(lib, ${cap}, () => J.usePlan(lib.createAttention({ shape: [1, ${H}, ${n}, ${d}], landmarks: ${r.int(1, 64)}, style: ${str(style)} })));`,
    expect: E.range('ERR_MEMORY', /memory/, /setMemoryLimit/),
  };
}

/** selectBuild and init with junk. */
function famBuild(r) {
  const which = r.pick(['select', 'select', 'init', 'init-opts']);
  if (which === 'select') {
    const [v, e] = r.chance(0.25) ? [r.pick(['"simd"', '"relaxed"']), null] : enumFaults(r, ['simd', 'relaxed']);
    const expect = e ?? (v === '"simd"' ? E.ok() : { okOr: ['ERR_UNSUPPORTED'] });
    return { family: 'build', body: `return J.restoring(lib, () => lib.selectBuild(${v}));`, expect };
  }
  if (which === 'init') {
    const [v, expect] = r.pick([
      ['5', E.type('ERR_OPTION')], ['null', E.type('ERR_OPTION')], ['"simd"', E.type('ERR_OPTION')], ['[]', E.type('ERR_OPTION')],
      ['J.revoked({})', E.type('ERR_OPTION')], ['J.getter({ build: "simd" }, "build")', E.type('ERR_OPTION')], ['{}', E.ok()], ['undefined', E.ok()],
      ['{ build: "simd" }', E.ok()], ['{ build: undefined }', E.ok()], ['5n', E.type('ERR_OPTION')],
    ]);
    return { family: 'build', body: `return J.restoring(lib, () => lib.init(${v}));`, expect };
  }
  const [v, expect] = r.pick([
    ['{ bild: "simd" }', E.type('ERR_OPTION', /'bild'/, /did you mean 'build'/)], ['{ build: "SIMD" }', E.type('ERR_OPTION', /build/)],
    ['{ build: 1n }', E.type('ERR_OPTION', /BigInt/)], ['{ build: null }', E.type('ERR_OPTION', /build/)], ['{ url: "x" }', E.type('ERR_OPTION', /'url'/)],
    ['J.trap({ build: "simd" }, "get")', E.type('ERR_OPTION')],
  ]);
  return { family: 'build', body: `return J.restoring(lib, () => lib.init(${v}));`, expect };
}

/** Finite inputs of extreme magnitude: results must stay finite (attention is a convex combination of V). */
function famExtreme(r) {
  if (r.chance(0.25)) {
    const M = r.int(1, 12), K = r.int(1, 12), N = r.int(1, 12);
    const ea = r.int(0, 38), eb = r.int(0, 38);
    const bound = 10 ** ea * 10 ** eb * 6 * 6 * K; // |a|, |b| ≤ ~6·scale
    const allow = !(bound < F32_MAX / 4);
    const fn = r.pick(['matmul', 'matmulTransposed']);
    return {
      family: 'extreme',
      body: `return J.f32ok(lib.${fn}(J.f32(${M * K}, ${r.seed()}, 1e${ea}), J.f32(${K * N}, ${r.seed()}, 1e${eb}), ${M}, ${K}, ${N}), ${M * N}, 'result', ${allow});`,
      expect: E.ok(),
    };
  }
  const c = validAttention(r, r.pick(ATTN_FNS.filter((f) => f !== 'createAttention')));
  const eq = r.int(10, 38), ev = r.int(0, 30);
  // J.f32(len, seed[, 1]) → J.f32(len, seed, 1eX): only the scale changes
  const fixed = c.tensors.map(([name, code]) => [name, code.replace(/J\.f32\((\d+), (\d+)(?:, 1)?\)/, (_, len, s) => `J.f32(${len}, ${s}, ${name === 'v' ? `1e${ev}` : `1e${eq}`})`)]);
  const c2 = { ...c, tensors: fixed, opts: c.opts.filter(([k]) => k !== 'convWeight') };
  // Logits q·k past float32 (|q|, |k| ~ 1e17 and up), or a Nyström product (k1·Z)·(k3·V) whose Z is
  // large on a near-singular kernel 2 with V near the top of the range, cannot be computed in f32:
  // the library refuses those with RangeError ERR_NOT_FINITE rather than return NaN.
  const mayOverflow = eq >= 17 || (!c.fn.startsWith('softmax') && ev >= 25);
  return { family: 'extreme', body: renderAttention(c2), expect: mayOverflow ? E.okOr('ERR_NOT_FINITE') : E.ok() };
}

/** Many pinv iterations: a finite result, or RangeError ERR_NOT_FINITE when the iteration diverges in float32. */
function famIterations(r) {
  const c = validAttention(r, r.pick(['nystromAttention', 'nystromAttentionMatrix', 'nystromAttentionFactors']));
  const opts = c.opts.filter(([k]) => k !== 'pinvIterations');
  opts.push(['pinvIterations', String(r.pick([50, 100, 200, 1000]))]);
  return { family: 'iterations', body: renderAttention({ ...c, opts }), expect: E.okOr('ERR_NOT_FINITE') };
}

/** The medium-landmark band for lucidrains (slow: only with --slow). */
function famSlow(r) {
  const m = r.pick([1000, 2000, 5000]);
  return {
    family: 'slow',
    body: `return J.f32ok(lib.nystromAttention(J.f32(32, 1), J.f32(32, 2), J.f32(32, 3, 1), { shape: [1, 1, 8, 4], landmarks: ${m}, style: "lucidrains" }), 32);`,
    expect: E.okOr('ERR_MEMORY', 'ERR_OPTION'),
  };
}

// ---- chaos: every argument at random ------------------------------------------------------------

function junkPool(r, ctx) {
  const { L, seed } = ctx;
  return r.pick([
    'undefined', 'null', 'NaN', '-0', '0', '1', '-1', 'Infinity', '-Infinity', '2**31', '2**53', '1e300', '2.5', '8n', '-8n', '"8"', '""',
    'true', '{}', '[]', 'Symbol()', '() => {}', 'new Date()', 'J.nullProto({ shape: [1, 1, 4, 4] })', 'J.revoked({})', 'J.revoked([])',
    'J.trap({}, "get")', 'J.trap([], "get", "symbol")', 'J.trap({ shape: [1, 1, 2, 2] }, "ownKeys")', 'J.fakeF32()', `new Float32Array(${L})`,
    `J.f32(${L}, ${seed})`, `J.poke(J.f32(${L}, ${seed}), 0, NaN)`, `new Float64Array(${L})`, `J.detached(J.f32(${L}, ${seed}))`,
    `new Proxy(J.f32(${L}, ${seed}), {})`, `Object.freeze({ shape: [1, 1, ${L}, 1] })`, '{ shape: [1, 1, 4, 4] }', `{ shape: [1, 1, ${L}, 1], landmarks: 2**31 }`,
    `{ shape: [2**31 - 1, 2**31 - 1, 2**31 - 1, 2**31 - 1] }`, `{ m: ${L}, k: 1, n: 1 }`, '{ m: 2**31 - 1, k: 2**31 - 1, n: 2**31 - 1 }',
    `J.getter({ shape: [1, 1, ${L}, 1] }, "shape")`, `J.flip({ shape: [1, 1, ${L}, 1] }, "shape", [[1, 1, ${L}, 1], null])`,
    `{ shape: [1, 1, ${L}, 1], mask: J.sparse(${L}) }`, `{ shape: [1, 1, ${L}, 1], style: "hf", layout: "bnhd", landmarks: 2 }`,
    `{ shape: new BigInt64Array(4) }`, `{ num_landmarks: 4, shape: [1, 1, ${L}, 1] }`, '"simd"', '"relaxed"', '[1, 1, 4, 4]',
    `J.sparse(2**32 - 1)`, 'new ArrayBuffer(16)', 'new SharedArrayBuffer(16)', 'globalThis', 'Math', 'JSON',
  ]);
}

function famChaos(r) {
  const L = r.pick([1, 2, 4, 8, 16, 12]);
  const seed = r.seed();
  const fn = r.pick([
    'nystromAttention', 'softmaxAttention', 'nystromAttentionMatrix', 'softmaxAttentionMatrix', 'nystromAttentionFactors', 'nystromAttentionRow',
    'matmul', 'matmulTransposed', 'createAttention', 'createMatmul', 'selectBuild', 'setMemoryLimit', 'init',
  ]);
  const arity = { nystromAttention: 4, softmaxAttention: 4, nystromAttentionMatrix: 3, softmaxAttentionMatrix: 3, nystromAttentionFactors: 3,
    nystromAttentionRow: 5, matmul: 6, matmulTransposed: 6, createAttention: 1, createMatmul: 1, selectBuild: 1, setMemoryLimit: 1, init: 1 }[fn];
  const count = r.chance(0.2) ? r.int(0, arity + 2) : arity;
  const args = [];
  for (let i = 0; i < count; i++) {
    // tensors that fit a [1, 1, L, 1] or L×1×1 call half the time
    if (r.chance(0.35) && !['createAttention', 'createMatmul', 'selectBuild', 'setMemoryLimit', 'init'].includes(fn)) {
      if (fn.startsWith('matmul') && i >= 2 && i <= 4) args.push(String(i === 2 ? L : 1));
      else if (fn === 'nystromAttentionRow' && i >= 1) args.push('0');
      else if (i === arity - 1 && !fn.startsWith('matmul')) args.push(`{ shape: [1, 1, ${L}, 1] }`);
      else args.push(`J.f32(${L}, ${seed + i})`);
    } else args.push(junkPool(r, { L, seed: seed + i }));
  }
  let call = `lib.${fn}(${args.join(', ')})`;
  if (fn === 'createAttention') call = `J.usePlan(${call})`;
  else if (fn === 'createMatmul') call = `(() => { const p = ${call}; try { return p.c.length; } finally { J.disposeAndCheck(p, () => p.runInPlace()); } })()`;
  else if (fn === 'selectBuild' || fn === 'setMemoryLimit' || fn === 'init') call = `J.restoring(lib, () => ${call})`;
  else if (fn === 'nystromAttentionFactors') call = `J.factorsOk(${call})`;
  else call = `J.f32ok(${call})`;
  // extreme landmark values can be slow for lucidrains, memory-heavy elsewhere: the pool's shapes are tiny or refused
  return { family: 'chaos', body: `return ${call};`, expect: E.any() };
}

const FAMILIES = {
  option: [famOption, 14], ignored: [famIgnored, 2], tensor: [famTensor, 10], shape: [famShape, 8], mask: [famMask, 7], conv: [famConv, 4],
  options: [famOptions, 12], valid: [famValid, 5], matmul: [famMatmul, 7], createMatmul: [famCreateMatmul, 5], plan: [famPlan, 9],
  row: [famRow, 6], memory: [famMemory, 5], build: [famBuild, 3], extreme: [famExtreme, 3], iterations: [famIterations, 2], chaos: [famChaos, 12], slow: [famSlow, 0],
};

/** Case `index` of run `seed`: { index, family, body, expect }. */
export function drawCase(seed, index, { families, slow = false } = {}) {
  const r = rnd(caseSeed(seed, index));
  const entries = Object.entries(FAMILIES)
    .filter(([name]) => !families || families.includes(name))
    .map(([name, [f, w]]) => [f, name === 'slow' ? (slow ? 2 : 0) : w])
    .filter(([, w]) => w > 0);
  const f = r.weighted(entries);
  return { index, ...f(r) };
}

// ---------------------------------------------------------------------------------------------
// Running cases

/** The standalone module that reruns a case (save it in the repository root, run with node). */
export function reproducer(c, seed) {
  return [
    `// junk-fuzz case ${c.index} (family ${c.family}) — node tests/fuzz/junk-fuzz.mjs --seed ${seed} --only ${c.index}`,
    "import * as lib from './dist/index.js';",
    "import { J } from './tests/fuzz/junk-fuzz.mjs';",
    'const run = (lib, J) => {',
    c.body.split('\n').map((l) => '  ' + l).join('\n'),
    '};',
    'try {',
    "  const r = await run(lib, J);",
    "  console.log('returned', r);",
    '} catch (e) {',
    "  console.log('threw', e?.constructor?.name, e?.code, e?.message ?? e);",
    '}',
  ].join('\n');
}

/** Checks one outcome against the case's expectation; returns a violation text or undefined. */
function judge(c, outcome) {
  const { value, error, threw } = outcome;
  const x = c.expect;
  if (threw) {
    const breach = contractBreach(error);
    if (breach) return breach;
    if (!x) return undefined;
    if (x.ok || x.okValue !== undefined) return `expected a valid result, got ${errorKind(error)}: ${error.message}`;
    if (x.okOr) return x.okOr.includes(error.code) ? undefined : `expected a result or ${x.okOr.join('/')}, got ${errorKind(error)}: ${error.message}`;
    const cls = Object.getPrototypeOf(error) === TypeError.prototype ? 'TypeError' : Object.getPrototypeOf(error) === RangeError.prototype ? 'RangeError' : 'Error';
    const clsOk = cls === x.cls || (x.loose && cls !== 'Error');
    if (!clsOk || !x.codes.includes(error.code)) {
      return `expected ${x.cls} ${x.codes.join('/')}, got ${cls} ${error.code}: ${error.message}`;
    }
    for (const p of x.msg ?? []) if (!p.test(error.message)) return `${cls} ${error.code} message ${safeString(error.message)} does not match ${p}`;
    if (x.suggest) {
      const m = /did you mean '([^']*)'/.exec(error.message);
      if (m && nameDistance(x.suggest.name, m[1]) > 2) return `suggested '${m[1]}' for '${x.suggest.name}' (a one-edit typo of '${x.suggest.near}')`;
    }
    return undefined;
  }
  if (!x) return undefined;
  if (x.okValue !== undefined && value !== x.okValue) return `expected ${x.okValue}, got ${safeString(value)}`;
  if (x.cls) return `expected ${x.cls} ${x.codes.join('/')}, got a result (${safeString(value?.constructor?.name ?? value)})`;
  return undefined;
}

/** The reference calls: baselines now, compared bit for bit later. */
function makeReference(lib) {
  const shape = [2, 3, 50, 7];
  const { q, k, v } = makeQKV(shape, 7);
  const mask = new Float32Array(100).fill(1);
  mask.fill(0, 45, 50);
  const opts = { shape, landmarks: 8, mask, convWeight: randn(9, 0.5, 8) };
  const ma = randn(35, 1, 9), mb = randn(21, 1, 10);
  const pshape = [1, 2, 33, 5];
  const p = makeQKV(pshape, 17);
  const plan = lib.createAttention({ shape: pshape, landmarks: 4, style: 'hf', layout: 'bnhd', mask: [...Array(33)].map((_, i) => (i < 30 ? 1 : 0)) });
  const mmPlan = lib.createMatmul({ m: 9, k: 6, n: 5, transB: true });
  const pa = randn(54, 1, 18), pb = randn(30, 1, 19);
  const calls = {
    nystromAttention: () => lib.nystromAttention(q, k, v, opts),
    softmaxAttention: () => lib.softmaxAttention(q, k, v, opts),
    matmul: () => lib.matmul(ma, mb, 5, 7, 3),
    matmulTransposed: () => lib.matmulTransposed(ma, mb, 5, 7, 3),
    'attention plan': () => plan.run(p.q, p.k, p.v),
    'matmul plan': () => mmPlan.run(pa, pb),
  };
  const base = Object.fromEntries(Object.entries(calls).map(([name, f]) => [name, f().slice()]));
  return {
    /** Names of the reference calls whose result changed (or that threw). */
    drift() {
      const bad = [];
      for (const [name, f] of Object.entries(calls)) {
        try {
          if (!sameBits(f(), base[name])) bad.push(`${name}: result differs`);
        } catch (e) {
          bad.push(`${name}: threw ${errorKind(e)} ${e?.message}`);
        }
      }
      return bad;
    },
    rebase() {
      for (const [name, f] of Object.entries(calls)) {
        try {
          base[name] = f().slice();
        } catch {
          /* keep the old one */
        }
      }
    },
    dispose() {
      plan.dispose();
      mmPlan.dispose();
    },
  };
}

/** A watchdog thread: kills this process with the reproducer of a call running past `limitMs`. */
function startWatchdog(limitMs) {
  const sab = new SharedArrayBuffer(16 + 262144);
  const hdr = new Int32Array(sab, 0, 4);
  const bytes = new Uint8Array(sab, 16);
  const origin = Date.now();
  const src = `
    const { workerData } = require('node:worker_threads');
    const { writeSync } = require('node:fs');
    const { sab, limitMs, origin } = workerData;
    const hdr = new Int32Array(sab, 0, 4);
    const bytes = new Uint8Array(sab, 16);
    setInterval(() => {
      if (Atomics.load(hdr, 0) !== 1) return;
      const ms = Date.now() - origin - Atomics.load(hdr, 2);
      if (ms <= limitMs) return;
      const text = new TextDecoder().decode(bytes.slice(0, Atomics.load(hdr, 3)));
      writeSync(2, '\\nHANG: case ' + Atomics.load(hdr, 1) + ' has run ' + ms + ' ms (hang limit ' + limitMs + ' ms); killing the process. Reproducer:\\n' + text + '\\n');
      process.kill(process.pid, 'SIGKILL');
    }, Math.min(250, limitMs / 4));
  `;
  const w = new Worker(src, { eval: true, workerData: { sab, limitMs, origin } });
  w.unref();
  const enc = new TextEncoder();
  return {
    begin(index, text) {
      const { written } = enc.encodeInto(text, bytes);
      Atomics.store(hdr, 1, index);
      Atomics.store(hdr, 3, written);
      Atomics.store(hdr, 2, Date.now() - origin);
      Atomics.store(hdr, 0, 1);
    },
    end() {
      Atomics.store(hdr, 0, 0);
    },
    stop() {
      return w.terminate();
    },
  };
}

/**
 * Runs `calls` cases of `seed` (or the `only` indices). Returns { calls, seed, build, tally,
 * families, violations: [{ index, family, reason, reproducer }], maxMs, slowest, ms, rss }.
 */
export async function runJunkFuzz({
  lib, calls = 2000, seed = 1, only, families, slow = false, timeLimitMs = 2000, hangLimitMs = 30000, checkEvery = 100,
  onViolation, log = () => {},
} = {}) {
  if (!lib) lib = await import('../../dist/index.js');
  if (typeof lib.init === 'function') await lib.init();
  const build = lib.activeBuild();
  const startLimit = lib.memoryLimit();
  const ref = makeReference(lib);
  const tally = {};
  const famTally = {};
  const violations = [];
  const rss = { initial: process.memoryUsage().rss, peak: 0 };
  let maxMs = 0, slowest = null;
  const indices = only ?? Array.from({ length: calls }, (_, i) => i);
  const watchdog = startWatchdog(hangLimitMs);
  const t0 = performance.now();
  let lastCheck = -1;
  const violate = (c, reason) => {
    const v = { index: c.index, family: c.family, reason, reproducer: reproducer(c, seed) };
    violations.push(v);
    onViolation?.(v);
  };
  const checkpoint = (at, c) => {
    const drift = ref.drift();
    if (drift.length) {
      violate(c ?? { index: at, family: 'reference', body: '// see the cases in the window' },
        `reference calls changed between case ${lastCheck + 1} and case ${at} (rerun the window with --check-every 1): ${drift.join('; ')}`);
      ref.rebase();
    }
    lastCheck = at;
    rss.peak = Math.max(rss.peak, process.memoryUsage().rss);
  };
  try {
    for (let j = 0; j < indices.length; j++) {
      const index = indices[j];
      const c = drawCase(seed, index, { families, slow });
      famTally[c.family] = (famTally[c.family] ?? 0) + 1;
      let fn;
      try {
        fn = new Function('lib', 'J', c.body);
      } catch (e) {
        violate(c, `harness: the snippet does not compile (${e.message})`);
        continue;
      }
      watched = [];
      watchdog.begin(index, reproducer(c, seed));
      const start = performance.now();
      let outcome;
      try {
        let value = fn(lib, J);
        if (value && typeof value.then === 'function') value = await value;
        outcome = { threw: false, value };
      } catch (error) {
        outcome = { threw: true, error };
      }
      const ms = performance.now() - start;
      watchdog.end();
      if (ms > maxMs) {
        maxMs = ms;
        slowest = { index, family: c.family, ms };
      }
      const key = outcome.threw ? (contractBreach(outcome.error) ? 'VIOLATION' : errorKind(outcome.error)) : 'ok';
      tally[key] = (tally[key] ?? 0) + 1;
      const reasons = [];
      const why = judge(c, outcome);
      if (why) reasons.push(why);
      if (ms > timeLimitMs) reasons.push(`the call took ${ms.toFixed(0)} ms (limit ${timeLimitMs} ms)`);
      for (const w of watched) {
        if (w.role === 'input' && !sameBits(bitsOf(w.a), w.bits)) reasons.push('an input array was modified');
        if (w.role === 'out' && outcome.threw && !(outcome.error instanceof Violation) && w.a.length === w.bits.length && !sameBits(bitsOf(w.a), w.bits)) {
          reasons.push(`'out' was written by a call that threw (${errorKind(outcome.error)})`);
        }
      }
      if (lib.memoryLimit() !== startLimit || lib.activeBuild() !== build) {
        reasons.push(`library state leaked: memoryLimit ${lib.memoryLimit()}, activeBuild ${lib.activeBuild()}`);
        lib.setMemoryLimit(startLimit);
        lib.selectBuild(build);
      }
      watched = [];
      if (reasons.length) violate(c, reasons.join('; '));
      if ((j + 1) % checkEvery === 0) checkpoint(index, c);
      if ((j + 1) % 500 === 0) log(`  ${j + 1}/${indices.length} cases, ${violations.length} violations, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    checkpoint(indices[indices.length - 1] ?? 0);
  } finally {
    await watchdog.stop();
    ref.dispose();
  }
  rss.final = process.memoryUsage().rss;
  return { calls: indices.length, seed, build, tally, families: famTally, violations, maxMs, slowest, ms: performance.now() - t0, rss };
}

// ---------------------------------------------------------------------------------------------
// CLI

function parseArgs(argv) {
  const a = { calls: 2000, seed: 1, timeLimitMs: 2000, hangLimitMs: 30000, checkEvery: 100, maxPrint: 20, json: false, quiet: false, slow: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--calls') a.calls = +next();
    else if (k === '--seed') a.seed = +next();
    else if (k === '--only') a.only = next().split(',').map(Number);
    else if (k === '--families') a.families = next().split(',');
    else if (k === '--time-limit') a.timeLimitMs = +next();
    else if (k === '--hang-limit') a.hangLimitMs = +next();
    else if (k === '--check-every') a.checkEvery = Math.max(1, +next());
    else if (k === '--max-print') a.maxPrint = +next();
    else if (k === '--json') a.json = true;
    else if (k === '--quiet') a.quiet = true;
    else if (k === '--slow') a.slow = true;
    else if (k === '--help' || k === '-h') a.help = true;
    else throw new Error(`unknown argument ${k} (see the header of tests/fuzz/junk-fuzz.mjs)`);
  }
  return a;
}

async function main() {
  const args = argsOrExit(parseArgs);
  if (args.help) {
    console.log('node [--experimental-wasm-relaxed-simd] tests/fuzz/junk-fuzz.mjs --calls N --seed S [--only I,J] [--families a,b] [--time-limit MS] [--hang-limit MS] [--check-every K] [--slow] [--max-print K] [--json] [--quiet]');
    console.log(`families: ${Object.keys(FAMILIES).join(', ')}`);
    return;
  }
  const say = args.json || args.quiet ? () => {} : (s) => console.log(s);
  let printed = 0;
  const summary = await runJunkFuzz({
    calls: args.calls, seed: args.seed, only: args.only, families: args.families, slow: args.slow,
    timeLimitMs: args.timeLimitMs, hangLimitMs: args.hangLimitMs, checkEvery: args.checkEvery,
    log: say,
    onViolation: (v) => {
      if (args.json || printed >= args.maxPrint) return;
      printed++;
      console.log(`\nVIOLATION case ${v.index} (${v.family}): ${v.reason}\n--- reproducer ---\n${v.reproducer}\n------------------`);
    },
  });
  if (args.json) {
    console.log(JSON.stringify(summary));
  } else {
    const mb = (b) => `${(b / 2 ** 20).toFixed(0)} MB`;
    console.log(`\njunk-fuzz: build ${summary.build}, seed ${summary.seed}, ${summary.calls} calls in ${(summary.ms / 1000).toFixed(1)} s; slowest call ${summary.maxMs.toFixed(1)} ms (case ${summary.slowest?.index}, ${summary.slowest?.family}); RSS initial ${mb(summary.rss.initial)}, peak ${mb(summary.rss.peak)}, final ${mb(summary.rss.final)}`);
    console.log('outcomes:');
    for (const [k, n] of Object.entries(summary.tally).sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(28)} ${n}`);
    console.log(`families: ${Object.entries(summary.families).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    const byReason = new Map();
    for (const v of summary.violations) {
      const sig = `${v.family}: ${v.reason.replace(/\d+/g, '#').slice(0, 160)}`;
      byReason.set(sig, [...(byReason.get(sig) ?? []), v.index]);
    }
    console.log(`violations: ${summary.violations.length}${summary.violations.length > printed ? ` (${printed} printed above)` : ''}`);
    for (const [sig, idx] of byReason) console.log(`  ${idx.length}× ${sig}  [cases ${idx.slice(0, 8).join(', ')}${idx.length > 8 ? ', …' : ''}]`);
  }
  process.exitCode = summary.violations.length ? 1 : 0;
}


if (isMain(import.meta.url)) {
  main().catch((e) => {
    writeSync(2, `junk-fuzz crashed: ${e?.stack ?? e}\n`);
    process.exit(3);
  });
}
