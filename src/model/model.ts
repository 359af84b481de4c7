// The Hugging Face Nyströmformer forward pass (shared MODEL.md) from a safetensors checkpoint, in
// one wasm instance: weights loaded once (every linear layer's [out, in] weight packed once into
// gemm panels, no transpose copy), the memory of a forward pass planned once per input shape (B, n)
// and reused, attention through the core in the 'bnhd' layout the projections produce.
import { Engine } from '../engine.js';
import { checkBuild, type ModuleSource } from '../loader.js';
import { ACT } from '../abi.generated.js';
import { CTX_BYTES } from '../abi.generated.js';
import { align16, gemmWorkBytes, planCall, scratchBytes, sharedBytes, writeContext, type CallPlan } from '../plan.js';
import { attentionProgram, part, type Call, type Program, type Task } from '../schedule.js';
import { POOL_HOST, abortError, type Pool, type PoolCallOptions, type PoolHost } from '../pool-api.js';
import { describe, disposedError, guarded, guardedAsync, rangeError, stateError, typeError } from '../errors.js';
import { readOptions, type Checked } from '../validate.js';
import { loadSafetensors, tensorAsFloat32, type SafetensorsRawTensor } from './safetensors.js';
import type { BuildName } from '../types.js';

/** config.json fields the forward pass reads (HF's names). */
export interface NystromformerConfig {
  vocab_size?: number; hidden_size?: number; num_hidden_layers?: number; num_attention_heads?: number;
  intermediate_size?: number; hidden_act?: string; max_position_embeddings?: number; type_vocab_size?: number;
  layer_norm_eps?: number; segment_means_seq_len?: number; num_landmarks?: number; conv_kernel_size?: number | null;
  inv_coeff_init_option?: boolean | string; position_embedding_type?: string; num_labels?: number;
  id2label?: Record<string, string>; [key: string]: unknown;
}

export interface ModelOptions {
  /** 'config' (default): what HF does — exact attention when num_landmarks == segment_means_seq_len
   *  (every released checkpoint), else Nyström; 'nystrom': Nyström with the configured landmarks at any
   *  length (hf style, left padding when m does not divide n); 'exact': exact attention. */
  attention?: 'config' | 'nystrom' | 'exact';
  /** Landmarks of the Nyström path (default: the config's num_landmarks). */
  landmarks?: number;
  /** Pinv iterations of the Nyström path (default 6, as HF). */
  pinvIterations?: number;
  /** Default: the build one-shot calls use (the pool's build when `pool` is given). */
  build?: BuildName;
  /**
   * Load the weights into a pool's shared memory (they stay there until dispose()): forwardAsync then
   * runs on the pool's workers, bit for bit as forward. A pool without threads: the model loads on
   * its own and forwardAsync runs on the calling thread.
   */
  pool?: Pool;
}

export interface ForwardOptions {
  /** [B][n] of 0/1 (1 = token); default all ones. */
  attentionMask?: ArrayLike<number>[];
  /** [B][n] token types; default 0. */
  tokenTypeIds?: ArrayLike<number>[];
  /** [B][n] positions; default 2, 3, …, n + 1 (HF's, whatever the padding). */
  positionIds?: ArrayLike<number>[];
  /** Also return the embedding output and every layer's output. */
  outputHiddenStates?: boolean;
}

export interface ModelOutput {
  /** [B, n, hidden] row-major. */
  lastHiddenState: Float32Array;
  shape: [number, number, number];
  /** The embedding output, then each layer's output ([B, n, hidden] each), with outputHiddenStates. */
  hiddenStates?: Float32Array[];
}

type Head = 'base' | 'mlm' | 'cls';

interface Cfg {
  V: number; H: number; L: number; heads: number; I: number; act: number; P: number; T: number; eps: number;
  m: number; exactByConfig: boolean; ks: number; init: number; absolute: boolean; labels: number;
}

const actCode = (name: string) => (ACT as readonly string[]).indexOf(name);

function int(config: NystromformerConfig, key: string, dflt: number, min = 1): number {
  const v = config[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw rangeError('ERR_CHECKPOINT', `config.${key} must be an integer ≥ ${min}, got ${describe(v)}`);
  }
  return v;
}

/** The config with HF's defaults (configuration_nystromformer.py), checked. */
function parseConfig(config: unknown): Cfg {
  if (typeof config !== 'object' || config === null) throw typeError('ERR_CHECKPOINT', `config must be the parsed config.json object, got ${describe(config)}`);
  const c = config as NystromformerConfig;
  const H = int(c, 'hidden_size', 768), heads = int(c, 'num_attention_heads', 12);
  if (H % heads !== 0) throw rangeError('ERR_CHECKPOINT', `config.hidden_size (${H}) must be a multiple of num_attention_heads (${heads})`);
  const actName = c.hidden_act ?? 'gelu_new';
  const act = typeof actName === 'string' ? actCode(actName) : -1;
  if (act < 0) throw rangeError('ERR_CHECKPOINT', `config.hidden_act ${describe(actName)} is not supported (supported: ${ACT.join(', ')})`);
  const eps = c.layer_norm_eps ?? 1e-5;
  if (typeof eps !== 'number' || !(eps >= 0)) throw rangeError('ERR_CHECKPOINT', `config.layer_norm_eps must be a number ≥ 0, got ${describe(eps)}`);
  const ksRaw = c.conv_kernel_size === undefined ? 65 : c.conv_kernel_size;
  let ks = 0;
  if (ksRaw !== null) {
    ks = int(c, 'conv_kernel_size', 65);
    if (ks % 2 !== 1) throw rangeError('ERR_CHECKPOINT', `config.conv_kernel_size must be odd, got ${ks}`);
  }
  const m = int(c, 'num_landmarks', 64), seg = int(c, 'segment_means_seq_len', 64);
  const labels = c.id2label && typeof c.id2label === 'object' ? Object.keys(c.id2label).length : int(c, 'num_labels', 2);
  return {
    V: int(c, 'vocab_size', 30000), H, L: int(c, 'num_hidden_layers', 12), heads, I: int(c, 'intermediate_size', 3072),
    act, P: int(c, 'max_position_embeddings', 510), T: int(c, 'type_vocab_size', 2), eps, m, exactByConfig: m === seg, ks,
    // HF: init_option = inv_coeff_init_option or "original"; anything else takes the per-(batch, head) maximum.
    init: !c.inv_coeff_init_option || c.inv_coeff_init_option === 'original' ? 0 : 1,
    absolute: (c.position_embedding_type ?? 'absolute') === 'absolute', labels,
  };
}

const packedBytes = (N: number, K: number) => Math.ceil(N / 8) * K * 32;
const f32s = (n: number) => n * 4;

interface Linear { w: number; b: number; out: number; in: number }

/** A checked forward call. */
interface Job {
  B: number; n: number; keep: boolean;
  ids: ArrayLike<number>[]; mask: ArrayLike<number>[] | null; tts: ArrayLike<number>[] | null; poss: ArrayLike<number>[] | null;
}

/** The memory of a forward pass (see Runtime.plan). */
interface Planned {
  key: string; plan: CallPlan; c: Checked; threads: number;
  R: Record<'ids' | 'tts' | 'poss' | 'mask' | 'xs' | 'q' | 'k' | 'v' | 'ctx' | 'a' | 'inter' | 'apack' | 'ctxs' | 'attn' | 'head' | 'logits', number>;
  /** The hidden state after the embeddings (0) and after each layer. */
  xAt: number[];
  /** Each layer's attention context. */
  ctxAt: number[];
}

/** Tasks over tokens [a, b) on thread t, or one layer's attention. */
type Segment = { rows: (a: number, b: number, t: number) => Call[] } | { attention: number };
interface Layer {
  q: Linear; k: Linear; v: Linear; o: Linear; ln1: [number, number]; ffn1: Linear; ffn2: Linear; ln2: [number, number]; conv: number;
}

/** The checkpoint's tensors by name, accepting bare and `nystromformer.`-prefixed base-model names. */
class Weights {
  private readonly tensors: Map<string, SafetensorsRawTensor>;
  constructor(bytes: unknown) {
    if (!(bytes instanceof Uint8Array)) throw typeError('ERR_CHECKPOINT', `bytes must be a Uint8Array of model.safetensors, got ${describe(bytes)}`);
    this.tensors = loadSafetensors(bytes, { convert: false }).tensors;
  }
  has(name: string): boolean {
    return this.find(name) !== undefined;
  }
  private find(name: string): SafetensorsRawTensor | undefined {
    return this.tensors.get(name) ?? this.tensors.get(`nystromformer.${name}`);
  }
  /** The tensor, checked against its expected shape (a missing or misshaped tensor is ERR_CHECKPOINT). */
  get(name: string, shape: number[]): SafetensorsRawTensor {
    const t = this.find(name);
    if (!t) throw rangeError('ERR_CHECKPOINT', `the checkpoint has no tensor '${name}' (nor 'nystromformer.${name}')`);
    const same = t.shape.length === shape.length && t.shape.every((x, i) => x === shape[i]);
    if (!same) throw rangeError('ERR_CHECKPOINT', `tensor '${name}' has shape [${t.shape.join(', ')}]; the config needs [${shape.join(', ')}]`);
    if (!['F32', 'F16', 'BF16', 'F64'].includes(t.dtype)) throw rangeError('ERR_CHECKPOINT', `tensor '${name}' is ${t.dtype}; a float dtype (F32, F16, BF16, F64) is needed`);
    return t;
  }
}

/** The compiled model in one engine: weights laid out once from the heap start. */
class Runtime {
  readonly e: Engine;
  readonly cfg: Cfg;
  readonly head: Head;
  readonly attention: 'exact' | 'nystrom';
  readonly landmarks: number;
  readonly iters: number;
  readonly noShortcut: boolean;
  word = 0; pos = 0; types = 0; embLn: [number, number] = [0, 0];
  layers: Layer[] = [];
  mlm?: { dense: Linear; ln: [number, number]; decoder: Linear };
  cls?: { dense: Linear; out: Linear };
  private weightsEnd = 0;
  private apackBytes = 0;
  private planned: Planned | null = null;
  /** The pool whose memory holds the weights, if any. */
  private readonly host: PoolHost | undefined;
  private releaseResident: (() => void) | undefined;
  private released = false;

  constructor(module: WebAssembly.Module, build: BuildName, bytes: unknown, config: unknown, head: Head, options: ModelOptions, host?: PoolHost) {
    const cfg = (this.cfg = parseConfig(config));
    this.head = head;
    const mode = options.attention ?? 'config';
    if (mode !== 'config' && mode !== 'nystrom' && mode !== 'exact') throw typeError('ERR_OPTION', `options.attention must be 'config', 'nystrom' or 'exact', got ${describe(mode)}`);
    this.attention = mode === 'exact' || (mode === 'config' && cfg.exactByConfig) ? 'exact' : 'nystrom';
    // HF decides exact vs Nyström from its config, never from the length: on its Nyström path a
    // sequence as long as the landmarks still takes the Nyström formulas.
    this.noShortcut = mode === 'config';
    this.landmarks = options.landmarks === undefined ? cfg.m : checkPositive(options.landmarks, 'options.landmarks');
    this.iters = options.pinvIterations === undefined ? 6 : checkPositive(options.pinvIterations, 'options.pinvIterations', 0);
    const w = new Weights(bytes);
    this.host = host;
    if (host) {
      if (host.closedBy) throw stateError('ERR_LOAD', `options.pool is closed (${host.closedBy})`);
      if (host.busy) throw stateError('ERR_BUSY', 'options.pool is running a call: load the model before, or after it settles');
      this.e = host.engine;
    } else {
      this.e = new Engine(module, build);
    }
    try {
      this.load(w);
    } catch (e) {
      this.releaseResident?.();
      throw e;
    }
  }

  /** Lays out and fills every weight: linears packed into gemm panels (from [out, in], no transpose copy). */
  private load(w: Weights): void {
    const { V, H, L, I, P, T, heads, ks } = this.cfg;
    const sizes: number[] = [];
    const take = (bytes: number) => sizes.push(bytes) - 1;
    const lin = (out: number, inp: number) => ({ w: take(packedBytes(out, inp)), b: take(f32s(out)), out, in: inp });
    const word = take(f32s(V * H)), pos = this.cfg.absolute ? take(f32s((P + 2) * H)) : -1, types = take(f32s(T * H));
    const embLn = [take(f32s(H)), take(f32s(H))];
    const layers = Array.from({ length: L }, () => ({
      q: lin(H, H), k: lin(H, H), v: lin(H, H), o: lin(H, H), ln1: [take(f32s(H)), take(f32s(H))],
      ffn1: lin(I, H), ffn2: lin(H, I), ln2: [take(f32s(H)), take(f32s(H))], conv: ks ? take(f32s(heads * ks)) : -1,
    }));
    const mlm = this.head === 'mlm' ? { dense: lin(H, H), ln: [take(f32s(H)), take(f32s(H))], decoder: lin(V, H) } : undefined;
    const cls = this.head === 'cls' ? { dense: lin(H, H), out: lin(this.cfg.labels, H) } : undefined;
    const untied = mlm && w.has('cls.predictions.decoder.weight');
    const raw = take(f32s(Math.max(I * H, untied ? V * H : 0))); // one weight at a time before packing
    const { offsets, end } = this.e.layout(sizes, 'the model weights', this.host ? this.host.top : undefined);
    this.weightsEnd = end;
    if (this.host) this.releaseResident = this.host.keep(end);
    const at = (i: number) => (i < 0 ? 0 : offsets[i]);
    const mem = () => this.e.buffer;
    const fill = (name: string, shape: number[], i: number) => {
      const t = w.get(name, shape);
      tensorAsFloat32(t, new Float32Array(mem(), at(i), t.size));
    };
    const linear = (prefix: string, l: { w: number; b: number; out: number; in: number }, bias = true): Linear => {
      const t = w.get(`${prefix}.weight`, [l.out, l.in]);
      tensorAsFloat32(t, new Float32Array(mem(), offsets[raw], t.size));
      this.e.k.packB(l.out, l.in, offsets[raw], l.in, 1, offsets[l.w]);
      if (bias) fill(`${prefix}.bias`, [l.out], l.b);
      this.apackBytes = Math.max(this.apackBytes, gemmWorkBytes(l.out, l.in) - packedBytes(l.out, l.in));
      return { w: offsets[l.w], b: offsets[l.b], out: l.out, in: l.in };
    };
    fill('embeddings.word_embeddings.weight', [V, H], word);
    if (pos >= 0) fill('embeddings.position_embeddings.weight', [P + 2, H], pos);
    fill('embeddings.token_type_embeddings.weight', [T, H], types);
    fill('embeddings.LayerNorm.weight', [H], embLn[0]);
    fill('embeddings.LayerNorm.bias', [H], embLn[1]);
    this.word = at(word); this.pos = at(pos); this.types = at(types); this.embLn = [at(embLn[0]), at(embLn[1])];
    this.layers = layers.map((l, i) => {
      const p = `encoder.layer.${i}`;
      const layer: Layer = {
        q: linear(`${p}.attention.self.query`, l.q), k: linear(`${p}.attention.self.key`, l.k), v: linear(`${p}.attention.self.value`, l.v),
        o: linear(`${p}.attention.output.dense`, l.o), ln1: [at(l.ln1[0]), at(l.ln1[1])],
        ffn1: linear(`${p}.intermediate.dense`, l.ffn1), ffn2: linear(`${p}.output.dense`, l.ffn2), ln2: [at(l.ln2[0]), at(l.ln2[1])],
        conv: at(l.conv),
      };
      fill(`${p}.attention.output.LayerNorm.weight`, [H], l.ln1[0]);
      fill(`${p}.attention.output.LayerNorm.bias`, [H], l.ln1[1]);
      fill(`${p}.output.LayerNorm.weight`, [H], l.ln2[0]);
      fill(`${p}.output.LayerNorm.bias`, [H], l.ln2[1]);
      // torch's [H, 1, k, 1] conv weight flattened is the [H, k] taps the core takes.
      if (ks) fill(`${p}.attention.self.conv.weight`, [heads, 1, ks, 1], l.conv);
      return layer;
    });
    if (mlm) {
      const dense = linear('cls.predictions.transform.dense', mlm.dense);
      fill('cls.predictions.transform.LayerNorm.weight', [H], mlm.ln[0]);
      fill('cls.predictions.transform.LayerNorm.bias', [H], mlm.ln[1]);
      let decoder: Linear;
      if (untied) {
        decoder = linear('cls.predictions.decoder', mlm.decoder, false);
      } else {
        // Tied: the decoder is the word embeddings, packed from where they already are.
        this.e.k.packB(V, H, this.word, H, 1, offsets[mlm.decoder.w]);
        this.apackBytes = Math.max(this.apackBytes, gemmWorkBytes(V, H) - packedBytes(V, H));
        decoder = { w: offsets[mlm.decoder.w], b: offsets[mlm.decoder.b], out: V, in: H };
      }
      // The decoder's bias is cls.predictions.bias (older files: cls.predictions.decoder.bias).
      fill(w.has('cls.predictions.bias') ? 'cls.predictions.bias' : 'cls.predictions.decoder.bias', [V], mlm.decoder.b);
      this.mlm = { dense, ln: [at(mlm.ln[0]), at(mlm.ln[1])], decoder };
    }
    if (cls) this.cls = { dense: linear('classifier.dense', cls.dense), out: linear('classifier.out_proj', cls.out) };
  }

  /** Where a forward pass's memory starts: above the weights (and, on a pool, above every resident region). */
  private get callStart(): number {
    return this.host ? this.host.top : this.weightsEnd;
  }

  /**
   * The memory of a forward pass of shape (B, n) for `threads` threads: planned once per shape and
   * reused. Regions: the inputs, the hidden states (one region, or one per layer when they are
   * returned), the projections, each thread's gemm A block, one attention context per layer (they
   * share the attention workspace), the head's buffers.
   */
  private plan(B: number, n: number, masked: boolean, keep: boolean, threads: number): Planned {
    const start = this.callStart;
    const key = `${B}x${n}:${masked}:${keep}:${threads}@${start}`;
    if (this.planned?.key === key) return this.planned;
    const { H, I, V, L, heads, ks, labels } = this.cfg;
    const Tn = B * n;
    const c: Checked = {
      B, H: heads, n, d: H / heads, style: 1, layout: 1, mask: masked ? new Float32Array(0) : null, conv: null, ks,
      m: this.landmarks, iters: this.iters, init: this.cfg.init, remainder: 0, out: undefined, noShortcut: this.noShortcut,
    };
    const kind = this.attention === 'exact' ? 'softmax' : 'nystrom';
    const plan = planCall(kind, c, 'attention', threads);
    const xs = keep ? L + 1 : 1;
    const names = ['ids', 'tts', 'poss', 'mask', 'xs', 'q', 'k', 'v', 'ctx', 'a', 'inter', 'apack', 'ctxs', 'attn', 'head', 'logits'];
    const sizes = [
      f32s(Tn), f32s(Tn), f32s(Tn), f32s(Tn), xs * align16(f32s(Tn * H)), f32s(Tn * H), f32s(Tn * H), f32s(Tn * H), f32s(Tn * H), f32s(Tn * H),
      f32s(Tn * I), threads * align16(this.apackBytes), L * align16(CTX_BYTES), sharedBytes(plan) + threads * scratchBytes(plan),
      this.head === 'mlm' ? f32s(Tn * H) : this.head === 'cls' ? f32s(2 * B * H) : 0,
      this.head === 'mlm' ? f32s(Tn * V) : this.head === 'cls' ? f32s(B * labels) : 0,
    ];
    const { offsets } = this.e.layout(sizes, `a forward pass of batch ${B} × ${n} tokens`, start);
    const R = Object.fromEntries(names.map((nm, i) => [nm, offsets[i]])) as Planned['R'];
    const xAt = Array.from({ length: L + 1 }, (_, l) => (keep ? R.xs + l * align16(f32s(Tn * H)) : R.xs));
    const ctxAt = Array.from({ length: L }, (_, l) => R.ctxs + l * align16(CTX_BYTES));
    this.planned = { key, R, plan, c, xAt, ctxAt, threads };
    return this.planned;
  }

  /** Checks a forward call's inputs (before anything is written). */
  check(inputIds: unknown, opts: unknown, extra: string[] = []): Job {
    const o = readOptions<ForwardOptions>(opts, ['attentionMask', 'tokenTypeIds', 'positionIds', 'outputHiddenStates', ...extra], 'forward options', false);
    const { V, T, P } = this.cfg;
    const ids = grid(inputIds, 'inputIds', undefined, V);
    const B = ids.length, n = ids[0].length;
    if (n > P) throw rangeError('ERR_OPTION', `inputIds: ${n} tokens per sequence, more than max_position_embeddings (${P})`);
    const mask = o.attentionMask === undefined ? null : grid(o.attentionMask, 'attentionMask', [B, n], 2, true);
    const tts = o.tokenTypeIds === undefined ? null : grid(o.tokenTypeIds, 'tokenTypeIds', [B, n], T);
    const poss = o.positionIds === undefined ? null : grid(o.positionIds, 'positionIds', [B, n], P + 2);
    if (o.outputHiddenStates !== undefined && typeof o.outputHiddenStates !== 'boolean') {
      throw typeError('ERR_OPTION', `outputHiddenStates must be a boolean, got ${describe(o.outputHiddenStates)}`);
    }
    return { B, n, ids, mask, tts, poss, keep: o.outputHiddenStates === true };
  }

  /** Plans the call's memory and writes its inputs and the layers' attention contexts. */
  private setup(job: Job, threads: number): Planned {
    const P = this.plan(job.B, job.n, job.mask !== null, job.keep, threads);
    const { R, plan, c, ctxAt } = P;
    const { B, n, ids, mask, tts, poss } = job;
    const mem = this.e.buffer;
    const Tn = B * n;
    const i32 = (at: number) => new Int32Array(mem, at, Tn);
    const idv = i32(R.ids), ttv = i32(R.tts), pv = i32(R.poss), mv = new Float32Array(mem, R.mask, Tn);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < n; i++) {
        const t = b * n + i;
        idv[t] = ids[b][i];
        ttv[t] = tts ? tts[b][i] : 0;
        pv[t] = poss ? poss[b][i] : i + 2; // HF: positions 2 … n + 1 whatever the padding
        mv[t] = mask ? mask[b][i] : 1;
      }
    }
    const kind = this.attention === 'exact' ? 'softmax' : 'nystrom';
    // One context per layer (its conv taps); every one points at the same workspace.
    this.layers.forEach((layer, l) => {
      writeContext(mem, R.attn, kind, c, plan, { q: R.q, k: R.k, v: R.v, out: R.ctx, mask: R.mask, conv: layer.conv }, true);
      new Uint8Array(mem, ctxAt[l], CTX_BYTES).set(new Uint8Array(mem, R.attn, CTX_BYTES));
    });
    return P;
  }

  /**
   * The forward pass up to the head as segments: row segments (tasks over a token range [a, b) on
   * thread t: every step of a row depends only on the same rows of its inputs, so consecutive row
   * segments need no barrier) and attention segments (one layer's attention, by its context).
   */
  private segments(P: Planned): Segment[] {
    const { R, xAt, ctxAt } = P;
    const { H, I, eps, act } = this.cfg;
    const apack = (t: number) => R.apack + t * align16(this.apackBytes);
    const at = (base: number, row: number, cols: number) => base + row * cols * 4;
    const lin = (l: Linear, x: number, out: number, res: number, a: number, b: number, t: number): Call[] => [
      ['gemmPackedB', b - a, l.out, l.in, at(x, a, l.in), l.in, l.w, apack(t), at(out, a, l.out), l.out],
      ['addBias', at(out, a, l.out), b - a, l.out, l.b, res ? at(res, a, l.out) : 0],
    ];
    const ln = (x: number, g: [number, number], a: number, b: number): Call =>
      ['layerNorm', at(x, a, H), b - a, H, g[0], g[1], eps, at(x, a, H)];
    const segs: Segment[] = [{
      rows: (a, b) => [
        ['embed', at(xAt[0], a, H), this.word, this.types, this.pos, R.ids + a * 4, R.tts + a * 4, R.poss + a * 4, b - a, H],
        ln(xAt[0], this.embLn, a, b),
      ],
    }];
    this.layers.forEach((layer, l) => {
      const x = xAt[l], y = xAt[l + 1];
      segs.push({ rows: (a, b, t) => [...lin(layer.q, x, R.q, 0, a, b, t), ...lin(layer.k, x, R.k, 0, a, b, t), ...lin(layer.v, x, R.v, 0, a, b, t)] });
      segs.push({ attention: ctxAt[l] });
      segs.push({
        rows: (a, b, t) => [
          ...lin(layer.o, R.ctx, R.a, x, a, b, t), // dense + bias + residual
          ln(R.a, layer.ln1, a, b),
          ['gemmPackedB', b - a, I, H, at(R.a, a, H), H, layer.ffn1.w, apack(t), at(R.inter, a, I), I],
          ['biasActivation', at(R.inter, a, I), b - a, I, layer.ffn1.b, act],
          ...lin(layer.ffn2, R.inter, y, R.a, a, b, t),
          ln(y, layer.ln2, a, b),
        ],
      });
    });
    if (this.mlm) {
      const { dense, ln: g, decoder } = this.mlm;
      const x = xAt[this.cfg.L];
      segs.push({
        rows: (a, b, t) => [
          ['gemmPackedB', b - a, H, H, at(x, a, H), H, dense.w, apack(t), at(R.head, a, H), H],
          ['biasActivation', at(R.head, a, H), b - a, H, dense.b, act],
          ln(R.head, g, a, b),
          ...lin(decoder, R.head, R.logits, 0, a, b, t),
        ],
      });
    }
    return segs;
  }

  /** The outputs, once the segments have run (the classifier's few rows computed here). */
  private finish(job: Job, P: Planned): { base: ModelOutput; logits?: Float32Array; logitsShape?: number[] } {
    const { H, V, L, act, labels } = this.cfg;
    const { R, xAt } = P;
    const e = this.e, k = e.k;
    const { B, n } = job;
    const Tn = B * n;
    const x = xAt[L];
    if (k.firstNonFinite(x, Tn * H) >= 0) {
      throw rangeError('ERR_NOT_FINITE', 'the hidden states overflow float32 (non-finite values): the weights or inputs are out of range');
    }
    const base: ModelOutput = { lastHiddenState: e.f32(x, Tn * H).slice(), shape: [B, n, H] };
    if (job.keep) base.hiddenStates = xAt.map((at) => e.f32(at, Tn * H).slice());
    if (this.mlm) return { base, logits: e.f32(R.logits, Tn * V).slice(), logitsShape: [B, n, V] };
    if (this.cls) {
      const { dense, out } = this.cls;
      for (let b = 0; b < B; b++) e.f32(R.head + b * H * 4, H).set(e.f32(x + b * n * H * 4, H)); // token 0 of each sequence
      const h2 = R.head + B * H * 4;
      const ap = R.apack;
      k.gemmPackedB(B, H, H, R.head, H, dense.w, ap, h2, H);
      k.biasActivation(h2, B, H, dense.b, act);
      k.gemmPackedB(B, out.out, out.in, h2, H, out.w, ap, R.logits, out.out);
      k.addBias(R.logits, B, out.out, out.b, 0);
      return { base, logits: e.f32(R.logits, B * labels).slice(), logitsShape: [B, labels] };
    }
    return { base };
  }

  /** Whether forward may run on the calling thread now (a pool's memory is not in use). */
  private checkIdle(): void {
    const h = this.host;
    if (!h) return;
    if (h.closedBy) throw stateError('ERR_DISPOSED', `the pool this model was loaded on is closed (${h.closedBy})`);
    if (h.busy) throw stateError('ERR_BUSY', 'the pool this model was loaded on is running a call: await it, or use forwardAsync (queued on the pool)');
  }

  /** The forward pass on the calling thread. */
  forward(inputIds: unknown, opts: unknown): { base: ModelOutput; logits?: Float32Array; logitsShape?: number[] } {
    const job = this.check(inputIds, opts);
    this.checkIdle();
    const P = this.setup(job, 1);
    const k = this.e.k as unknown as Record<string, (...args: number[]) => number>;
    const Tn = job.B * job.n;
    for (const seg of this.segments(P)) {
      if ('rows' in seg) for (const [name, ...args] of seg.rows(0, Tn, 0)) k[name](...args);
      else k.attention(seg.attention);
    }
    return this.finish(job, P);
  }

  /**
   * The forward pass as a Promise: on the pool's workers when the model was loaded on a pool with
   * threads (the same bits as forward), else forward on the calling thread.
   */
  forwardAsync(inputIds: unknown, opts: unknown): Promise<{ base: ModelOutput; logits?: Float32Array; logitsShape?: number[] }> {
    const h = this.host;
    if (!h) {
      if (signalOf(opts)?.aborted) throw abortError();
      return Promise.resolve(this.forward(inputIds, stripSignal(opts)));
    }
    const signal = signalOf(opts);
    const job = this.check(inputIds, opts, ['signal']);
    if (h.closedBy) throw stateError('ERR_DISPOSED', `the pool this model was loaded on is closed (${h.closedBy})`);
    return h.run(signal, async (exec) => {
      if (this.disposed) throw disposedError('this model');
      const T = h.threads;
      const P = this.setup(job, T);
      await exec(this.program(P, job.B * job.n, T));
      return this.finish(job, P);
    });
  }

  /** The segments as a pool program: row segments split into T token ranges (multiples of 4 rows). */
  private program(P: Planned, Tn: number, T: number): Program {
    const program: Program = [];
    let open: Task[][] | null = null;
    const units = Math.ceil(Tn / 4);
    for (const seg of this.segments(P)) {
      if ('rows' in seg) {
        if (!open) program.push((open = Array.from({ length: T }, () => [])));
        for (let t = 0; t < T; t++) {
          const [u0, u1] = part(units, T, t);
          const a = u0 * 4, b = Math.min(Tn, u1 * 4);
          if (a < b) open[t].push(...seg.rows(a, b, t));
        }
        continue;
      }
      const phases = attentionProgram(seg.attention, P.c, P.plan, T);
      const first = phases[0];
      // prepare (the masks' keep/bias) reads nothing the rows before it write: it joins their phase.
      if (open && first[0].length === 1 && first[0][0][0] === 'prepare' && first.every((ts, t) => t === 0 || ts.length === 0)) {
        open[T - 1].push(first[0][0]);
        phases.shift();
      }
      program.push(...phases);
      open = null;
    }
    return program;
  }

  get disposed(): boolean {
    return this.released;
  }

  dispose(): void {
    if (this.released) return;
    this.released = true;
    this.planned = null;
    if (this.host) this.releaseResident?.();
    else this.e.dispose();
  }
}

function signalOf(opts: unknown): AbortSignal | undefined {
  if (typeof opts !== 'object' || opts === null) return undefined;
  const s = (opts as { signal?: unknown }).signal;
  if (s === undefined) return undefined;
  if (typeof s !== 'object' || s === null || typeof (s as AbortSignal).aborted !== 'boolean' || typeof (s as AbortSignal).addEventListener !== 'function') {
    throw typeError('ERR_OPTION', `forward options.signal must be an AbortSignal, got ${describe(s)}`);
  }
  return s as AbortSignal;
}

function stripSignal(opts: unknown): unknown {
  if (typeof opts !== 'object' || opts === null || !('signal' in opts)) return opts;
  signalOf(opts);
  const { signal: _s, ...rest } = opts as Record<string, unknown>;
  return rest;
}

function checkPositive(x: unknown, name: string, min = 1): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > 0x7fffffff) {
    throw (typeof x === 'number' ? rangeError : typeError)('ERR_OPTION', `${name} must be an integer ≥ ${min}, got ${describe(x)}`);
  }
  return x;
}

/**
 * A [B][n] grid of integers in [0, limit): number[][] or typed arrays per row, rows of one length
 * (a ragged batch is a RangeError), `shape` when it must match the ids'.
 */
function grid(x: unknown, name: string, shape: [number, number] | undefined, limit: number, mask = false): ArrayLike<number>[] {
  if (!Array.isArray(x) || x.length === 0) throw typeError('ERR_OPTION', `${name} must be a non-empty array of rows (number[][] or Int32Array[]), got ${describe(x)}`);
  const rows = x as unknown[];
  if (shape && rows.length !== shape[0]) throw rangeError('ERR_OPTION', `${name} has ${rows.length} rows; inputIds has ${shape[0]}`);
  const n = shape ? shape[1] : (rows[0] as ArrayLike<number>)?.length;
  rows.forEach((r, b) => {
    if (typeof r !== 'object' || r === null || typeof (r as ArrayLike<number>).length !== 'number') {
      throw typeError('ERR_OPTION', `${name}[${b}] must be an array of integers, got ${describe(r)}`);
    }
    const row = r as ArrayLike<unknown>;
    if (row.length !== n || n === 0) {
      throw rangeError('ERR_OPTION', shape ? `${name}[${b}] has ${row.length} entries; inputIds rows have ${n}` : `${name} is ragged or empty: row 0 has ${n} tokens, row ${b} has ${row.length}`);
    }
    for (let i = 0; i < n; i++) {
      const v = row[i];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= limit) {
        throw rangeError('ERR_OPTION', `${name}[${b}][${i}] must be ${mask ? '0 or 1' : `an integer in [0, ${limit})`}, got ${describe(v)}`);
      }
    }
  });
  return rows as ArrayLike<number>[];
}

/** A loaded model. */
export interface NystromformerModelInstance {
  /** 'exact' or 'nystrom': the attention this model runs. */
  readonly attention: 'exact' | 'nystrom';
  readonly build: BuildName;
  forward(inputIds: ArrayLike<number>[], options?: ForwardOptions): ModelOutput;
  /**
   * The forward pass as a Promise: on the pool's workers for a model loaded with `options.pool` (the
   * same bits as forward; `signal` aborts it), else forward on the calling thread.
   */
  forwardAsync(inputIds: ArrayLike<number>[], options?: ForwardOptions & PoolCallOptions): Promise<ModelOutput>;
  /** Releases the model's memory (weights and plans); later use throws ERR_DISPOSED. */
  dispose(): void;
}

/** A model with a head: `logits` ([B, n, vocab] for MaskedLM, [B, numLabels] for classification). */
export interface NystromformerHeadInstance extends NystromformerModelInstance {
  forward(inputIds: ArrayLike<number>[], options?: ForwardOptions): ModelOutput & { logits: Float32Array; logitsShape: number[] };
  forwardAsync(inputIds: ArrayLike<number>[], options?: ForwardOptions & PoolCallOptions): Promise<ModelOutput & { logits: Float32Array; logitsShape: number[] }>;
}

/** Progress of fromPretrained, per file. */
export interface LoadProgress { file: string; loaded: number; total: number | null }

/** A model class: `fromSafetensors(bytes, config, options?)`, `fromPretrained(urlOrDir, options?)`. */
export interface ModelClass<T> {
  /** bytes: model.safetensors; config: the parsed config.json. */
  fromSafetensors(bytes: Uint8Array, config: NystromformerConfig, options?: ModelOptions): T;
  /**
   * Loads config.json and model.safetensors from a checkpoint directory: an http(s) URL (fetched,
   * progress reported as bytes arrive) or a local path / file: URL (Node, Deno, Bun).
   */
  fromPretrained(urlOrDir: string | URL, options?: ModelOptions & { onProgress?: (p: LoadProgress) => void }): Promise<T>;
}

/** Reads one file of a checkpoint directory, reporting progress. */
async function readCheckpointFile(base: string | URL, file: string, onProgress?: (p: LoadProgress) => void): Promise<Uint8Array> {
  const g = globalThis as any;
  const href = base instanceof URL ? base.href : base;
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(href);
  const url = isUrl ? new URL(file, href.endsWith('/') ? href : `${href}/`) : null;
  if (url && url.protocol !== 'file:') {
    const res = await fetch(url);
    if (!res.ok || !res.body) throw rangeError('ERR_CHECKPOINT', `could not fetch ${url.href}: HTTP ${res.status}`);
    const total = Number(res.headers.get('content-length')) || null;
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      onProgress?.({ file, loaded, total });
    }
    const out = new Uint8Array(loaded);
    let o = 0;
    for (const c of chunks) { out.set(c, o); o += c.length; }
    return out;
  }
  const path = url ?? (href.endsWith('/') ? href + file : `${href}/${file}`);
  let bytes: Uint8Array;
  try {
    if (g.Deno) bytes = await g.Deno.readFile(path);
    else {
      const spec = 'node:fs/promises';
      const fs = await import(spec);
      bytes = new Uint8Array(await fs.readFile(path));
    }
  } catch (e) {
    throw rangeError('ERR_CHECKPOINT', `could not read ${String(path)}: ${(e as Error)?.message ?? e}`);
  }
  onProgress?.({ file, loaded: bytes.length, total: bytes.length });
  return bytes;
}

async function readCheckpoint(urlOrDir: unknown, onProgress?: (p: LoadProgress) => void): Promise<{ bytes: Uint8Array; config: NystromformerConfig }> {
  if (typeof urlOrDir !== 'string' && !(urlOrDir instanceof URL)) {
    throw typeError('ERR_OPTION', `fromPretrained: urlOrDir must be a string or URL of a checkpoint directory, got ${describe(urlOrDir)}`);
  }
  const configBytes = await readCheckpointFile(urlOrDir, 'config.json', onProgress);
  let config: NystromformerConfig;
  try {
    config = JSON.parse(new TextDecoder().decode(configBytes));
  } catch (e) {
    throw rangeError('ERR_CHECKPOINT', `config.json is not valid JSON: ${(e as Error).message}`);
  }
  return { bytes: await readCheckpointFile(urlOrDir, 'model.safetensors', onProgress), config };
}

/** The model classes for a module source (embedded or by URL) and the default build. */
export function makeModels(source: ModuleSource, defaultBuild: () => BuildName): {
  NystromformerModel: ModelClass<NystromformerModelInstance>;
  NystromformerForMaskedLM: ModelClass<NystromformerHeadInstance>;
  NystromformerForSequenceClassification: ModelClass<NystromformerHeadInstance>;
} {
  const runtime = guarded(makeRuntime, 'fromSafetensors');
  function makeRuntime(bytes: unknown, config: unknown, options: unknown, head: Head): Runtime {
    const o = readOptions<ModelOptions>(options, ['attention', 'landmarks', 'pinvIterations', 'build', 'pool'], 'model options', false);
    let host: PoolHost | undefined;
    let build = o.build === undefined ? undefined : checkBuild(o.build);
    if (o.pool !== undefined) {
      const pool = o.pool as Pool & { [POOL_HOST]?: PoolHost };
      if (typeof pool !== 'object' || pool === null || typeof pool.threads !== 'number' || typeof pool.close !== 'function') {
        throw typeError('ERR_OPTION', `options.pool must be a pool from createPool, got ${describe(o.pool)}`);
      }
      host = pool[POOL_HOST];
      if (build !== undefined && build !== pool.build) {
        throw rangeError('ERR_OPTION', `options.build is '${build}' but options.pool runs the '${pool.build}' build`);
      }
      build = pool.build;
    }
    build ??= defaultBuild();
    return new Runtime(source.module(build), build, bytes, config, head, o, host);
  }

  abstract class Base {
    protected rt: Runtime | null;
    protected constructor(rt: Runtime) {
      this.rt = rt;
    }
    protected live(): Runtime {
      if (!this.rt) throw disposedError('this model');
      return this.rt;
    }
    /** The runtime's forward, with foreign throws (getters, Proxies in the inputs) made coded TypeErrors. */
    protected run(inputIds: unknown, options: unknown) {
      return guarded((ids: unknown, o: unknown) => this.live().forward(ids, o), 'forward')(inputIds, options);
    }
    protected runAsync(inputIds: unknown, options: unknown) {
      return guardedAsync(async (ids: unknown, o: unknown) => this.live().forwardAsync(ids, o), 'forwardAsync')(inputIds, options);
    }
    /** 'exact' or 'nystrom': the attention this model runs. */
    get attention(): 'exact' | 'nystrom' {
      return this.live().attention;
    }
    get build(): BuildName {
      return this.live().e.build;
    }
    /** Releases the model's memory (weights and plans); later use throws ERR_DISPOSED. */
    dispose(): void {
      this.rt?.dispose();
      this.rt = null;
    }
  }

  /** fromPretrained: the checkpoint's two files read (with progress), then `load`. */
  async function pretrained<T>(urlOrDir: string | URL, options: ModelOptions & { onProgress?: (p: LoadProgress) => void },
                               load: (bytes: Uint8Array, config: NystromformerConfig, options: ModelOptions) => T): Promise<T> {
    const { onProgress, ...rest } = options;
    const { bytes, config } = await readCheckpoint(urlOrDir, onProgress);
    return load(bytes, config, rest);
  }

  type WithLogits = ModelOutput & { logits: Float32Array; logitsShape: number[] };
  const withLogits = (r: ReturnType<Runtime['forward']>): WithLogits => ({ ...r.base, logits: r.logits!, logitsShape: r.logitsShape! });

  /** The base model: last hidden state (and every hidden state). */
  class NystromformerModel extends Base {
    static fromSafetensors(bytes: Uint8Array, config: NystromformerConfig, options?: ModelOptions): NystromformerModel {
      return new NystromformerModel(runtime(bytes, config, options, 'base'));
    }
    static fromPretrained(urlOrDir: string | URL, options: ModelOptions & { onProgress?: (p: LoadProgress) => void } = {}): Promise<NystromformerModel> {
      return pretrained(urlOrDir, options, NystromformerModel.fromSafetensors);
    }
    forward(inputIds: ArrayLike<number>[], options?: ForwardOptions): ModelOutput {
      return this.run(inputIds, options).base;
    }
    async forwardAsync(inputIds: ArrayLike<number>[], options?: ForwardOptions & PoolCallOptions): Promise<ModelOutput> {
      return (await this.runAsync(inputIds, options)).base;
    }
  }

  /** A model with a head: the base output and its logits. */
  abstract class HeadModel extends Base {
    forward(inputIds: ArrayLike<number>[], options?: ForwardOptions): WithLogits {
      return withLogits(this.run(inputIds, options));
    }
    async forwardAsync(inputIds: ArrayLike<number>[], options?: ForwardOptions & PoolCallOptions): Promise<WithLogits> {
      return withLogits(await this.runAsync(inputIds, options));
    }
  }

  /** The masked-LM model: logits [B, n, vocab]. */
  class NystromformerForMaskedLM extends HeadModel {
    static fromSafetensors(bytes: Uint8Array, config: NystromformerConfig, options?: ModelOptions): NystromformerForMaskedLM {
      return new NystromformerForMaskedLM(runtime(bytes, config, options, 'mlm'));
    }
    static fromPretrained(urlOrDir: string | URL, options: ModelOptions & { onProgress?: (p: LoadProgress) => void } = {}): Promise<NystromformerForMaskedLM> {
      return pretrained(urlOrDir, options, NystromformerForMaskedLM.fromSafetensors);
    }
  }

  /** The sequence classifier: logits [B, numLabels] from token 0. */
  class NystromformerForSequenceClassification extends HeadModel {
    static fromSafetensors(bytes: Uint8Array, config: NystromformerConfig, options?: ModelOptions): NystromformerForSequenceClassification {
      return new NystromformerForSequenceClassification(runtime(bytes, config, options, 'cls'));
    }
    static fromPretrained(urlOrDir: string | URL, options: ModelOptions & { onProgress?: (p: LoadProgress) => void } = {}): Promise<NystromformerForSequenceClassification> {
      return pretrained(urlOrDir, options, NystromformerForSequenceClassification.fromSafetensors);
    }
  }

  return { NystromformerModel, NystromformerForMaskedLM, NystromformerForSequenceClassification };
}
