// The peers of the benchmark: tfjs (wasm backend, XNNPACK), onnxruntime-web (wasm EP, 1 thread)
// and a plain JavaScript loop. Everything here is set-up or per-call work; timing lives in run.mjs.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-web';
import { matmulModel, attentionModel } from './onnx.mjs';

export { tf, ort };

export async function initPeers() {
  const ok = await tf.setBackend('wasm');
  await tf.ready();
  if (!ok || tf.getBackend() !== 'wasm') throw new Error('tfjs: the wasm backend did not initialise');
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  return {
    tfjsBackend: tf.getBackend(),
    tfjsSimd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    tfjsThreads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
    ortThreads: ort.env.wasm.numThreads,
  };
}

// ---------------------------------------------------------------- plain JavaScript floor

/** C[m×n] = A[m×k]·B[k×n], i-k-j loop. */
export function jsMatmul(a, b, m, k, n, c) {
  c.fill(0);
  for (let i = 0; i < m; i++) {
    const co = i * n;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      const bo = p * n;
      for (let j = 0; j < n; j++) c[co + j] += aip * b[bo + j];
    }
  }
  return c;
}

/** C[m×n] = A[m×k]·Bᵀ with B stored n×k: row-by-row dot products (the natural loop for Bᵀ). */
export function jsMatmulTransposed(a, b, m, k, n, c) {
  for (let i = 0; i < m; i++) {
    const ao = i * k;
    for (let j = 0; j < n; j++) {
      const bo = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ao + p] * b[bo + p];
      c[i * n + j] = s;
    }
  }
  return c;
}

// ---------------------------------------------------------------- tfjs

/**
 * Runs fn in a tf.tidy scope, then reads the result tensor back and disposes it. (Returning the
 * Float32Array from inside tidy would make tidy walk every element looking for tensors: slow.)
 */
function readTidy(fn) {
  const t = tf.tidy(fn);
  const data = t.dataSync();
  t.dispose();
  return data;
}

/** A·B with a fresh B tensor each call (XNNPACK packs B every time). Inputs uploaded, result read back. */
export function tfMatmulFresh(a, b, m, k, n) {
  return readTidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])));
}

/** A·B with B resident as one tensor reused across calls (XNNPACK caches its packed B by tensor id). */
export function tfMatmulReused(a, bT, m, k) {
  return readTidy(() => tf.matMul(tf.tensor2d(a, [m, k]), bT));
}

/** A·Bᵀ, B (n×k) uploaded fresh and transposed each call, then the XNNPACK matMul. */
export function tfMatmulTFresh(a, b, m, k, n) {
  return readTidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.transpose(tf.tensor2d(b, [n, k]))));
}

/** A·Bᵀ as most people write it: matMul(a, b, false, true) (not XNNPACK: a slow loop). */
export function tfMatmulTNaive(a, b, m, k, n) {
  return readTidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [n, k]), false, true));
}

/** Exact attention, one head: softmax(Q·Kᵀ/√d)·V with transpose(K) first so matMul stays on XNNPACK. */
export function tfAttention(q, k, v, n, d, { naive = false } = {}) {
  return readTidy(() => {
    const Q = tf.tensor2d(q, [n, d]);
    const K = tf.tensor2d(k, [n, d]);
    const V = tf.tensor2d(v, [n, d]);
    const s = naive ? tf.matMul(Q, K, false, true) : tf.matMul(Q, tf.transpose(K));
    const p = tf.softmax(tf.mul(s, 1 / Math.sqrt(d)));
    return tf.matMul(p, V);
  });
}

const eyes = new Map();
/** Tensors the peers keep on purpose across calls (the scaled identities of the pinv loop). */
export const keptTensors = () => eyes.size;
function eyeTimes(m, c) {
  const key = `${m}:${c}`;
  let t = eyes.get(key);
  if (!t) {
    t = tf.keep(tf.mul(tf.eye(m), c));
    eyes.set(key, t);
  }
  return t;
}

/** Iterative Moore–Penrose pseudo-inverse (Razavi et al.), Z0 = Aᵀ / max column sum of A. */
function tfPinv(a, m, iters) {
  const i7 = eyeTimes(m, 7), i13 = eyeTimes(m, 13), i15 = eyeTimes(m, 15);
  let z = tf.div(tf.transpose(a), tf.max(tf.sum(a, 0)));
  for (let it = 0; it < iters; it++) {
    const az = tf.matMul(a, z);
    const inner = tf.sub(i7, az);
    const mid = tf.sub(i15, tf.matMul(az, inner));
    const outer = tf.sub(i13, tf.matMul(az, mid));
    z = tf.matMul(tf.mul(z, 0.25), outer);
  }
  return z;
}

/**
 * Nyström attention for one head composed from tfjs ops (the Nyströmformer authors' algorithm):
 * q, k scaled by d^(-1/4); landmarks = means of m equal segments; k1 = softmax(Q·K~ᵀ),
 * k2 = softmax(Q~·K~ᵀ), k3 = softmax(Q~·Kᵀ); out = (k1·pinv(k2))·(k3·V).
 * Every transpose is explicit so each matMul runs on XNNPACK.
 */
export function tfNystrom(q, k, v, n, d, m, iters) {
  if (n % m !== 0) throw new RangeError(`tfNystrom: n (${n}) must be a multiple of m (${m})`);
  return readTidy(() => {
    const s = 1 / Math.sqrt(Math.sqrt(d));
    const Q = tf.mul(tf.tensor2d(q, [n, d]), s);
    const K = tf.mul(tf.tensor2d(k, [n, d]), s);
    const V = tf.tensor2d(v, [n, d]);
    const qL = tf.mean(tf.reshape(Q, [m, n / m, d]), 1);
    const kL = tf.mean(tf.reshape(K, [m, n / m, d]), 1);
    const kLt = tf.transpose(kL);
    const k1 = tf.softmax(tf.matMul(Q, kLt));
    const k2 = tf.softmax(tf.matMul(qL, kLt));
    const k3 = tf.softmax(tf.matMul(qL, tf.transpose(K)));
    const z = tfPinv(k2, m, iters);
    return tf.matMul(tf.matMul(k1, z), tf.matMul(k3, V));
  });
}

// ---------------------------------------------------------------- onnxruntime-web

const SESSION_OPTIONS = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };

/** A MatMul session. constantB: B baked in as an initializer (ORT pre-packs it once). */
export async function ortMatmulSession(m, k, n, { transB = false, constantB = null } = {}) {
  const session = await ort.InferenceSession.create(matmulModel(m, k, n, { transB, constantB }), SESSION_OPTIONS);
  const aShape = [m, k];
  const bShape = transB ? [n, k] : [k, n];
  return {
    session,
    async run(a, b) {
      const feeds = { A: new ort.Tensor('float32', a, aShape) };
      if (!constantB) feeds.B = new ort.Tensor('float32', b, bShape);
      const out = await session.run(feeds);
      return out.C.data;
    },
    release: () => session.release(),
  };
}

/** Exact attention session: MatMul(Q, Transpose(K)) · scale → Softmax → MatMul V. */
export async function ortAttentionSession(n, d) {
  const session = await ort.InferenceSession.create(attentionModel(n, d), SESSION_OPTIONS);
  const shape = [n, d];
  return {
    session,
    async run(q, k, v) {
      const out = await session.run({
        Q: new ort.Tensor('float32', q, shape),
        K: new ort.Tensor('float32', k, shape),
        V: new ort.Tensor('float32', v, shape),
      });
      return out.O.data;
    },
    release: () => session.release(),
  };
}
