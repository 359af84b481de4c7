// Builds small ONNX models in memory (no model files, nothing downloaded) for the onnxruntime-web
// peer of the benchmark. The schema below is a hand-written subset of onnx.proto: only the messages
// and fields these graphs need, with the field numbers of the official schema.
import protobuf from 'protobufjs';

const ONNX_SUBSET = `
syntax = "proto3";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10;
  }
  string name = 1;
  string doc_string = 13;
  AttributeType type = 20;
  float f = 2;
  int64 i = 3;
  bytes s = 4;
  TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
}

message ValueInfoProto {
  string name = 1;
  TypeProto type = 2;
  string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  string domain = 7;
  repeated AttributeProto attribute = 5;
  string doc_string = 6;
}

message ModelProto {
  int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  string producer_name = 2;
  string producer_version = 3;
  string domain = 4;
  int64 model_version = 5;
  string doc_string = 6;
  GraphProto graph = 7;
}

message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  enum DataType { UNDEFINED = 0; FLOAT = 1; INT32 = 6; INT64 = 7; }
  repeated int64 dims = 1;
  int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  string name = 8;
  bytes raw_data = 9;
  string doc_string = 12;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    int32 elem_type = 1;
    TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  string denotation = 6;
}

message OperatorSetIdProto {
  string domain = 1;
  int64 version = 2;
}
`;

const root = protobuf.parse(ONNX_SUBSET, { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');
const ATTR = root.lookupEnum('onnx.AttributeProto.AttributeType').values;
const FLOAT = 1;
const IR_VERSION = 8;
const OPSET = 17;

function valueInfo(name, dims) {
  return {
    name,
    type: { tensor_type: { elem_type: FLOAT, shape: { dim: dims.map((d) => ({ dim_value: d })) } } },
  };
}

function scalarInitializer(name, value) {
  return { name, data_type: FLOAT, dims: [], float_data: [value] };
}

function attrInts(name, ints) {
  return { name, type: ATTR.INTS, ints };
}

function attrInt(name, i) {
  return { name, type: ATTR.INT, i };
}

function encodeModel(graph) {
  const model = {
    ir_version: IR_VERSION,
    producer_name: 'nystrom-wasm-bench',
    opset_import: [{ domain: '', version: OPSET }],
    graph,
  };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`ONNX model does not verify: ${err}`);
  return ModelProto.encode(ModelProto.create(model)).finish();
}

/**
 * C[m×n] = A[m×k]·B[k×n], or with transB C = A·Bᵀ where B is stored n×k (a Transpose node first).
 * With constantB (a Float32Array) B is an initializer instead of an input, so ORT can pre-pack it.
 */
export function matmulModel(m, k, n, { transB = false, constantB = null } = {}) {
  const bDims = transB ? [n, k] : [k, n];
  const nodes = [];
  let bName = 'B';
  if (transB) {
    nodes.push({ op_type: 'Transpose', input: ['B'], output: ['Bt'], name: 'transposeB', attribute: [attrInts('perm', [1, 0])] });
    bName = 'Bt';
  }
  nodes.push({ op_type: 'MatMul', input: ['A', bName], output: ['C'], name: 'matmul' });
  const graph = {
    name: transB ? 'matmul_transB' : 'matmul',
    node: nodes,
    input: [valueInfo('A', [m, k])],
    output: [valueInfo('C', [m, n])],
  };
  if (constantB) {
    if (constantB.length !== bDims[0] * bDims[1]) throw new RangeError('matmulModel: constantB has the wrong length');
    const bytes = new Uint8Array(constantB.buffer, constantB.byteOffset, constantB.byteLength);
    graph.initializer = [{ name: 'B', data_type: FLOAT, dims: bDims, raw_data: bytes.slice() }];
  } else {
    graph.input.push(valueInfo('B', bDims));
  }
  return encodeModel(graph);
}

/** Exact attention for one head: softmax(Q·Kᵀ · scale)·V with Q, K, V of shape [n, d]. */
export function attentionModel(n, d, scale = 1 / Math.sqrt(d)) {
  return encodeModel({
    name: 'softmax_attention',
    node: [
      { op_type: 'Transpose', input: ['K'], output: ['Kt'], name: 'transposeK', attribute: [attrInts('perm', [1, 0])] },
      { op_type: 'MatMul', input: ['Q', 'Kt'], output: ['S'], name: 'scores' },
      { op_type: 'Mul', input: ['S', 'scale'], output: ['Ss'], name: 'scale' },
      { op_type: 'Softmax', input: ['Ss'], output: ['P'], name: 'softmax', attribute: [attrInt('axis', -1)] },
      { op_type: 'MatMul', input: ['P', 'V'], output: ['O'], name: 'context' },
    ],
    initializer: [scalarInitializer('scale', scale)],
    input: [valueInfo('Q', [n, d]), valueInfo('K', [n, d]), valueInfo('V', [n, d])],
    output: [valueInfo('O', [n, d])],
  });
}

function floatInit(name, data, dims) {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { name, data_type: FLOAT, dims, raw_data: bytes.slice() };
}
function int64Init(name, values) {
  return { name, data_type: 7, dims: [values.length], int64_data: values };
}
function transposed(w, out, inp) {
  // [out, in] (nn.Linear) → [in, out] for MatMul(x, Wᵀ)
  const t = new Float32Array(out * inp);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) t[i * out + o] = w[o * inp + i];
  return t;
}

/**
 * The HF Nyströmformer base model on its exact-attention path (every released checkpoint's) as an
 * ONNX graph for batch 1 and a fixed n, from the same weights as ours (`get(name)` → Float32Array of
 * the HF tensor): embeddings, per layer Q/K/V, softmax(QKᵀ/√d)·V plus the depthwise conv of V,
 * output dense + LayerNorm, FFN with gelu_new (Gelu, approximate 'tanh') + LayerNorm.
 * Inputs: ids and positions (int64 [1, n]); output last_hidden_state [1, n, H]. Opset 20 (Gelu).
 */
export function nystromformerExactModel(get, { n, H = 768, heads = 12, I = 3072, layers = 12, ks = 65, eps = 1e-5, vocab, maxPos }) {
  const d = H / heads;
  const nodes = [];
  const inits = [];
  let k = 0;
  const node = (op, input, output, attribute = []) => nodes.push({ op_type: op, input, output: [output], name: `n${k++}`, attribute });
  const linear = (x, name, out, inp, y) => {
    inits.push(floatInit(`${name}.wT`, transposed(get(`${name}.weight`), out, inp), [inp, out]), floatInit(`${name}.b`, get(`${name}.bias`), [out]));
    node('MatMul', [x, `${name}.wT`], `${y}.mm`);
    node('Add', [`${y}.mm`, `${name}.b`], y);
  };
  const layerNorm = (x, name, y) => {
    inits.push(floatInit(`${name}.g`, get(`${name}.weight`), [H]), floatInit(`${name}.beta`, get(`${name}.bias`), [H]));
    node('LayerNormalization', [x, `${name}.g`, `${name}.beta`], y, [{ name: 'axis', type: ATTR.INT, i: -1 }, { name: 'epsilon', type: ATTR.FLOAT, f: eps }]);
  };
  inits.push(floatInit('word', get('embeddings.word_embeddings.weight'), [vocab, H]));
  inits.push(floatInit('pos', get('embeddings.position_embeddings.weight'), [maxPos + 2, H]));
  inits.push(floatInit('type0', get('embeddings.token_type_embeddings.weight').subarray(0, H), [H]));
  inits.push(int64Init('headsShape', [1, n, heads, d]), int64Init('mergedShape', [1, n, H]));
  inits.push(scalarInitializer('scale', 1 / Math.sqrt(d)));
  node('Gather', ['word', 'ids'], 'we');
  node('Gather', ['pos', 'positions'], 'pe');
  node('Add', ['we', 'type0'], 'e1');
  node('Add', ['e1', 'pe'], 'e2');
  layerNorm('e2', 'embeddings.LayerNorm', 'x0');
  let x = 'x0';
  for (let l = 0; l < layers; l++) {
    const p = `encoder.layer.${l}`;
    const L = `l${l}`;
    for (const [w, perm] of [['query', [0, 2, 1, 3]], ['key', [0, 2, 3, 1]], ['value', [0, 2, 1, 3]]]) {
      linear(x, `${p}.attention.self.${w}`, H, H, `${L}.${w}`);
      node('Reshape', [`${L}.${w}`, 'headsShape'], `${L}.${w}.r`);
      node('Transpose', [`${L}.${w}.r`], `${L}.${w}.t`, [attrInts('perm', perm)]);
    }
    node('MatMul', [`${L}.query.t`, `${L}.key.t`], `${L}.s`);
    node('Mul', [`${L}.s`, 'scale'], `${L}.ss`);
    node('Softmax', [`${L}.ss`], `${L}.p`, [attrInt('axis', -1)]);
    node('MatMul', [`${L}.p`, `${L}.value.t`], `${L}.ctx0`);
    if (ks) {
      inits.push(floatInit(`${L}.conv`, get(`${p}.attention.self.conv.weight`), [heads, 1, ks, 1]));
      node('Conv', [`${L}.value.t`, `${L}.conv`], `${L}.cv`, [attrInt('group', heads), attrInts('kernel_shape', [ks, 1]), attrInts('pads', [ks >> 1, 0, ks >> 1, 0])]);
      node('Add', [`${L}.ctx0`, `${L}.cv`], `${L}.ctx1`);
    }
    node('Transpose', [ks ? `${L}.ctx1` : `${L}.ctx0`], `${L}.ctxT`, [attrInts('perm', [0, 2, 1, 3])]);
    node('Reshape', [`${L}.ctxT`, 'mergedShape'], `${L}.ctx`);
    linear(`${L}.ctx`, `${p}.attention.output.dense`, H, H, `${L}.o`);
    node('Add', [`${L}.o`, x], `${L}.ores`);
    layerNorm(`${L}.ores`, `${p}.attention.output.LayerNorm`, `${L}.a`);
    linear(`${L}.a`, `${p}.intermediate.dense`, I, H, `${L}.i`);
    node('Gelu', [`${L}.i`], `${L}.g`, [{ name: 'approximate', type: ATTR.STRING, s: new TextEncoder().encode('tanh') }]);
    linear(`${L}.g`, `${p}.output.dense`, H, I, `${L}.f`);
    node('Add', [`${L}.f`, `${L}.a`], `${L}.fres`);
    layerNorm(`${L}.fres`, `${p}.output.LayerNorm`, `${L}.out`);
    x = `${L}.out`;
  }
  node('Identity', [x], 'last_hidden_state');
  const i64 = (name, dims) => ({ name, type: { tensor_type: { elem_type: 7, shape: { dim: dims.map((v) => ({ dim_value: v })) } } } });
  const model = {
    ir_version: 9, producer_name: 'nystrom-wasm-bench', opset_import: [{ domain: '', version: 20 }],
    graph: { name: 'nystromformer_exact', node: nodes, initializer: inits, input: [i64('ids', [1, n]), i64('positions', [1, n])], output: [valueInfo('last_hidden_state', [1, n, H])] },
  };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`ONNX model does not verify: ${err}`);
  return ModelProto.encode(ModelProto.create(model)).finish();
}
