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
