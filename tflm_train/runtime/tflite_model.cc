#include "tflm_train/runtime/tflite_model.h"

#include <cstdio>

namespace tflm_train {
namespace {

// Field ids (vtable slot = 4 + 2 * id) of the TFLite schema tables we read.
namespace model_f { enum : uint16_t { kVersion = 0, kOperatorCodes = 1, kSubgraphs = 2,
                                      kDescription = 3, kBuffers = 4, kMetadata = 6 }; }
namespace opcode_f { enum : uint16_t { kDeprecatedBuiltinCode = 0, kCustomCode = 1, kVersion = 2,
                                       kBuiltinCode = 3 }; }
namespace subgraph_f { enum : uint16_t { kTensors = 0, kInputs = 1, kOutputs = 2, kOperators = 3,
                                         kName = 4 }; }
namespace tensor_f { enum : uint16_t { kShape = 0, kType = 1, kBuffer = 2, kName = 3,
                                       kQuantization = 4, kIsVariable = 5, kSparsity = 6,
                                       kShapeSignature = 7 }; }
namespace quant_f { enum : uint16_t { kMin = 0, kMax = 1, kScale = 2, kZeroPoint = 3,
                                      kDetailsType = 4, kQuantizedDimension = 6 }; }
namespace buffer_f { enum : uint16_t { kData = 0, kOffset = 1, kSize = 2 }; }
namespace metadata_f { enum : uint16_t { kName = 0, kBuffer = 1 }; }
namespace op_f { enum : uint16_t { kOpcodeIndex = 0, kInputs = 1, kOutputs = 2,
                                   kBuiltinOptionsType = 3, kCustomOptions = 5 }; }

// Field layouts of the builtin options tables we interpret: {id, byte size}.
struct FieldSpec {
  uint16_t id;
  uint8_t size;
};
constexpr FieldSpec kConv2DFields[] = {{0, 1}, {1, 4}, {2, 4}, {3, 1}, {4, 4}, {5, 4}, {6, 1}};
constexpr FieldSpec kDepthwiseFields[] = {{0, 1}, {1, 4}, {2, 4}, {3, 4}, {4, 1}, {5, 4}, {6, 4}};
constexpr FieldSpec kFullyConnectedFields[] = {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}};
constexpr FieldSpec kPool2DFields[] = {{0, 1}, {1, 4}, {2, 4}, {3, 4}, {4, 4}, {5, 1}};
constexpr FieldSpec kSoftmaxFields[] = {{0, 4}};
constexpr FieldSpec kReducerFields[] = {{0, 1}};
constexpr FieldSpec kAddFields[] = {{0, 1}, {1, 1}};
constexpr FieldSpec kConcatenationFields[] = {{0, 4}, {1, 1}};
constexpr FieldSpec kMulFields[] = {{0, 1}};
constexpr FieldSpec kSubFields[] = {{0, 1}, {1, 1}};
constexpr FieldSpec kLeakyReluFields[] = {{0, 4}};
constexpr FieldSpec kStridedSliceFields[] = {{0, 4}, {1, 4}, {2, 4}, {3, 4}, {4, 4}, {5, 1}};
constexpr FieldSpec kResizeNearestNeighborFields[] = {{0, 1}, {1, 1}};

// Options type each builtin operator we know must carry (or NONE); 255 when we do not check.
constexpr uint8_t kAnyOptions = 255;

uint8_t ExpectedOptionsType(int32_t builtin_code) {
  switch (builtin_code) {
    case tflite::kConv2D: return tflite::kConv2DOptions;
    case tflite::kDepthwiseConv2D: return tflite::kDepthwiseConv2DOptions;
    case tflite::kFullyConnected: return tflite::kFullyConnectedOptions;
    case tflite::kAveragePool2D:
    case tflite::kMaxPool2D:
    case tflite::kL2Pool2D: return tflite::kPool2DOptions;
    case tflite::kReshape: return tflite::kReshapeOptions;
    case tflite::kSoftmax: return tflite::kSoftmaxOptions;
    case tflite::kMean:
    case tflite::kSum:
    case tflite::kReduceProd:
    case tflite::kReduceMax:
    case tflite::kReduceMin:
    case tflite::kReduceAny:
    case tflite::kReduceAll: return tflite::kReducerOptions;
    case tflite::kAdd: return tflite::kAddOptions;
    case tflite::kConcatenation: return tflite::kConcatenationOptions;
    case tflite::kPad: return tflite::kPadOptions;
    case tflite::kMul: return tflite::kMulOptions;
    case tflite::kSub: return tflite::kSubOptions;
    case tflite::kLeakyRelu: return tflite::kLeakyReluOptions;
    case tflite::kSqueeze: return tflite::kSqueezeOptions;
    case tflite::kStridedSlice: return tflite::kStridedSliceOptions;
    case tflite::kResizeNearestNeighbor: return tflite::kResizeNearestNeighborOptions;
    default: return kAnyOptions;
  }
}

int32_t ResolveBuiltinCode(const fb::Reader& r, const fb::Table& t) {
  // Codes above 127 live in builtin_code; older files only have the int8 deprecated field, so
  // TFLite takes the larger of the two.
  const int32_t deprecated = r.GetScalar<int8_t>(t, opcode_f::kDeprecatedBuiltinCode, 0);
  const int32_t code = r.GetScalar<int32_t>(t, opcode_f::kBuiltinCode, 0);
  return code > deprecated ? code : deprecated;
}

template <size_t N>
Status CheckFields(const fb::Reader& r, const fb::Table& t, const FieldSpec (&fields)[N],
                   const char* what, ErrorMessage* err) {
  for (size_t i = 0; i < N; ++i) {
    TT_RETURN_IF_ERROR(r.CheckScalar(t, fields[i].id, fields[i].size, what, err));
  }
  return Status::kOk;
}

// Every element of an int32 index vector must name a tensor (or be -1 where allowed).
Status CheckIndices(const fb::ScalarArray<int32_t>& indices, uint32_t num_tensors,
                    bool allow_optional, const char* what, ErrorMessage* err) {
  for (uint32_t i = 0; i < indices.size(); ++i) {
    const int32_t index = indices[i];
    if (allow_optional && index == -1) continue;
    TT_ENSURE(err, index >= 0 && static_cast<uint32_t>(index) < num_tensors,
              Status::kInvalidModel, "%s[%u] = %d is not a valid tensor index (subgraph has %u)",
              what, static_cast<unsigned>(i), static_cast<int>(index),
              static_cast<unsigned>(num_tensors));
  }
  return Status::kOk;
}

struct VerifyContext {
  const fb::Reader& r;
  const ModelLimits& limits;
  uint32_t num_buffers;
  uint32_t num_opcodes;
  const fb::Vector& opcodes;
};

Status VerifyOperatorCode(const fb::Reader& r, const fb::Table& t, uint32_t index,
                          ErrorMessage* err) {
  char what[64];
  snprintf(what, sizeof(what), "operator_codes[%u]", static_cast<unsigned>(index));
  TT_RETURN_IF_ERROR(r.CheckScalar(t, opcode_f::kDeprecatedBuiltinCode, 1, what, err));
  TT_RETURN_IF_ERROR(r.CheckScalar(t, opcode_f::kVersion, 4, what, err));
  TT_RETURN_IF_ERROR(r.CheckScalar(t, opcode_f::kBuiltinCode, 4, what, err));
  fb::StringRef custom;
  TT_RETURN_IF_ERROR(r.GetString(t, opcode_f::kCustomCode, what, &custom, err));
  const int32_t code = ResolveBuiltinCode(r, t);
  TT_ENSURE(err, code >= 0, Status::kInvalidModel, "%s: builtin code %d is negative", what,
            static_cast<int>(code));
  return Status::kOk;
}

Status VerifyBuffer(const fb::Reader& r, const fb::Table& t, uint32_t index, ErrorMessage* err) {
  char what[64];
  snprintf(what, sizeof(what), "buffers[%u]", static_cast<unsigned>(index));
  fb::Vector data;
  TT_RETURN_IF_ERROR(r.GetVector(t, buffer_f::kData, 1, fb::kMaxBufferSize, what, &data, err));
  TT_RETURN_IF_ERROR(r.CheckScalar(t, buffer_f::kOffset, 8, what, err));
  TT_RETURN_IF_ERROR(r.CheckScalar(t, buffer_f::kSize, 8, what, err));
  // Models above 2 GB keep tensor data after the flatbuffer and point at it with offset/size
  // (offset 1 is the converter's placeholder for "none").
  const uint64_t offset = r.GetScalar<uint64_t>(t, buffer_f::kOffset, 0);
  const uint64_t size = r.GetScalar<uint64_t>(t, buffer_f::kSize, 0);
  TT_ENSURE(err, offset <= 1 && size == 0, Status::kUnsupported,
            "%s: data stored outside the flatbuffer (offset %llu, size %llu, the >2 GB model "
            "layout) is not supported", what, static_cast<unsigned long long>(offset),
            static_cast<unsigned long long>(size));
  return Status::kOk;
}

Status VerifyQuantization(const fb::Reader& r, const fb::Table& q, const ModelLimits& limits,
                          const char* what, ErrorMessage* err) {
  fb::Vector v;
  TT_RETURN_IF_ERROR(r.GetVector(q, quant_f::kMin, 4, limits.max_quant_params, what, &v, err));
  TT_RETURN_IF_ERROR(r.GetVector(q, quant_f::kMax, 4, limits.max_quant_params, what, &v, err));
  fb::Vector scale, zero_point;
  TT_RETURN_IF_ERROR(
      r.GetVector(q, quant_f::kScale, 4, limits.max_quant_params, what, &scale, err));
  TT_RETURN_IF_ERROR(
      r.GetVector(q, quant_f::kZeroPoint, 8, limits.max_quant_params, what, &zero_point, err));
  TT_RETURN_IF_ERROR(r.CheckScalar(q, quant_f::kQuantizedDimension, 4, what, err));
  uint8_t details_type = 0;
  fb::Table details;
  TT_RETURN_IF_ERROR(r.GetUnion(q, quant_f::kDetailsType, what, &details_type, &details, err));
  // Neither quantized_dimension nor matching scale and zero-point counts are checked here: TFLM
  // reads them only for per-channel weights (WeightScales checks them there; kernels read the
  // first entry elsewhere), and older converters left stale values on biases and per-tensor
  // tensors (person_detect's rank-1 biases say 3), which TFLM runs.
  return Status::kOk;
}

Status VerifyTensor(const VerifyContext& c, const fb::Table& t, uint32_t sg, uint32_t index,
                    ErrorMessage* err) {
  const fb::Reader& r = c.r;
  char what[80];
  snprintf(what, sizeof(what), "subgraph %u tensor %u", static_cast<unsigned>(sg),
           static_cast<unsigned>(index));
  fb::Vector shape_v, sig_v;
  TT_RETURN_IF_ERROR(r.GetVector(t, tensor_f::kShape, 4, c.limits.max_dims, what, &shape_v, err));
  TT_RETURN_IF_ERROR(
      r.GetVector(t, tensor_f::kShapeSignature, 4, c.limits.max_dims, what, &sig_v, err));
  TT_RETURN_IF_ERROR(r.CheckScalar(t, tensor_f::kType, 1, what, err));
  TT_RETURN_IF_ERROR(r.CheckScalar(t, tensor_f::kBuffer, 4, what, err));
  TT_RETURN_IF_ERROR(r.CheckScalar(t, tensor_f::kIsVariable, 1, what, err));
  fb::StringRef name;
  TT_RETURN_IF_ERROR(r.GetString(t, tensor_f::kName, what, &name, err));

  const fb::ScalarArray<int32_t> shape = r.Scalars<int32_t>(shape_v);
  for (uint32_t d = 0; d < shape.size(); ++d) {
    TT_ENSURE(err, shape[d] >= 0, Status::kInvalidModel, "%s: shape[%u] = %d is negative", what,
              static_cast<unsigned>(d), static_cast<int>(shape[d]));
  }
  if (sig_v.present()) {
    const fb::ScalarArray<int32_t> sig = r.Scalars<int32_t>(sig_v);
    TT_ENSURE(err, sig.size() == shape.size(), Status::kInvalidModel,
              "%s: shape_signature has rank %u but shape has rank %u", what,
              static_cast<unsigned>(sig.size()),
              static_cast<unsigned>(shape.size()));
    for (uint32_t d = 0; d < sig.size(); ++d) {
      TT_ENSURE(err, sig[d] >= -1, Status::kInvalidModel, "%s: shape_signature[%u] = %d", what,
                static_cast<unsigned>(d),
                static_cast<int>(sig[d]));
    }
  }
  const int8_t type = r.GetScalar<int8_t>(t, tensor_f::kType, 0);
  TT_ENSURE(err, type >= 0 && type <= tflite::kMaxTensorType, Status::kUnsupported,
            "%s: unknown tensor type %d", what, static_cast<int>(type));
  const uint32_t buffer = r.GetScalar<uint32_t>(t, tensor_f::kBuffer, 0);
  TT_ENSURE(err, buffer < c.num_buffers, Status::kInvalidModel,
            "%s: buffer index %u is out of range (model has %u buffers)", what,
            static_cast<unsigned>(buffer),
            static_cast<unsigned>(c.num_buffers));
  fb::Table sparsity;
  TT_RETURN_IF_ERROR(r.GetTable(t, tensor_f::kSparsity, what, &sparsity, err));
  TT_ENSURE(err, !sparsity.present(), Status::kUnsupported,
            "%s: sparse tensors are not supported", what);
  fb::Table quant;
  TT_RETURN_IF_ERROR(r.GetTable(t, tensor_f::kQuantization, what, &quant, err));
  if (quant.present()) {
    TT_RETURN_IF_ERROR(VerifyQuantization(r, quant, c.limits, what, err));
  }
  return Status::kOk;
}

Status VerifyOptions(const fb::Reader& r, uint8_t type, const fb::Table& o,
                     const ModelLimits& limits, const char* what, ErrorMessage* err) {
  if (!o.present()) return Status::kOk;
  switch (type) {
    case tflite::kConv2DOptions: return CheckFields(r, o, kConv2DFields, what, err);
    case tflite::kDepthwiseConv2DOptions: return CheckFields(r, o, kDepthwiseFields, what, err);
    case tflite::kFullyConnectedOptions: return CheckFields(r, o, kFullyConnectedFields, what, err);
    case tflite::kPool2DOptions: return CheckFields(r, o, kPool2DFields, what, err);
    case tflite::kSoftmaxOptions: return CheckFields(r, o, kSoftmaxFields, what, err);
    case tflite::kReducerOptions: return CheckFields(r, o, kReducerFields, what, err);
    case tflite::kAddOptions: return CheckFields(r, o, kAddFields, what, err);
    case tflite::kConcatenationOptions: return CheckFields(r, o, kConcatenationFields, what, err);
    case tflite::kMulOptions: return CheckFields(r, o, kMulFields, what, err);
    case tflite::kSubOptions: return CheckFields(r, o, kSubFields, what, err);
    case tflite::kLeakyReluOptions: return CheckFields(r, o, kLeakyReluFields, what, err);
    case tflite::kReshapeOptions:
    case tflite::kSqueezeOptions: {
      fb::Vector v;
      return r.GetVector(o, 0, 4, limits.max_dims, what, &v, err);
    }
    case tflite::kStridedSliceOptions: return CheckFields(r, o, kStridedSliceFields, what, err);
    case tflite::kResizeNearestNeighborOptions:
      return CheckFields(r, o, kResizeNearestNeighborFields, what, err);
    default: return Status::kOk;  // PadOptions has no fields; others are not interpreted
  }
}

Status VerifyOperator(const VerifyContext& c, const fb::Table& t, uint32_t sg, uint32_t index,
                      uint32_t num_tensors, ErrorMessage* err) {
  const fb::Reader& r = c.r;
  char what[80];
  snprintf(what, sizeof(what), "subgraph %u operator %u", static_cast<unsigned>(sg),
           static_cast<unsigned>(index));
  TT_RETURN_IF_ERROR(r.CheckScalar(t, op_f::kOpcodeIndex, 4, what, err));
  const uint32_t opcode_index = r.GetScalar<uint32_t>(t, op_f::kOpcodeIndex, 0);
  TT_ENSURE(err, opcode_index < c.num_opcodes, Status::kInvalidModel,
            "%s: opcode_index %u is out of range (model has %u operator codes)", what,
            static_cast<unsigned>(opcode_index), static_cast<unsigned>(c.num_opcodes));
  fb::Vector inputs, outputs, custom;
  TT_RETURN_IF_ERROR(r.GetVector(t, op_f::kInputs, 4, c.limits.max_io, what, &inputs, err));
  TT_RETURN_IF_ERROR(r.GetVector(t, op_f::kOutputs, 4, c.limits.max_io, what, &outputs, err));
  TT_RETURN_IF_ERROR(
      r.GetVector(t, op_f::kCustomOptions, 1, fb::kMaxBufferSize, what, &custom, err));
  char list[96];
  snprintf(list, sizeof(list), "%s inputs", what);
  TT_RETURN_IF_ERROR(CheckIndices(r.Scalars<int32_t>(inputs), num_tensors, true, list, err));
  snprintf(list, sizeof(list), "%s outputs", what);
  TT_RETURN_IF_ERROR(CheckIndices(r.Scalars<int32_t>(outputs), num_tensors, false, list, err));

  uint8_t type = 0;
  fb::Table options;
  TT_RETURN_IF_ERROR(r.GetUnion(t, op_f::kBuiltinOptionsType, what, &type, &options, err));
  fb::Table opcode;
  TT_RETURN_IF_ERROR(r.GetTableElement(c.opcodes, opcode_index, what, &opcode, err));
  const int32_t code = ResolveBuiltinCode(r, opcode);
  const uint8_t expected = ExpectedOptionsType(code);
  TT_ENSURE(err, type == tflite::kNoOptions || expected == kAnyOptions || type == expected,
            Status::kInvalidModel,
            "%s: builtin operator %d carries builtin_options of type %u, expected type %u", what,
            static_cast<int>(code), static_cast<unsigned>(type), static_cast<unsigned>(expected));
  return VerifyOptions(r, type, options, c.limits, what, err);
}

Status VerifySubgraph(const VerifyContext& c, const fb::Table& t, uint32_t sg, ErrorMessage* err) {
  const fb::Reader& r = c.r;
  char what[64];
  snprintf(what, sizeof(what), "subgraph %u", static_cast<unsigned>(sg));
  fb::Vector tensors, inputs, outputs, operators;
  fb::StringRef name;
  TT_RETURN_IF_ERROR(
      r.GetVector(t, subgraph_f::kTensors, 4, c.limits.max_tensors, what, &tensors, err));
  TT_RETURN_IF_ERROR(r.GetVector(t, subgraph_f::kInputs, 4, c.limits.max_io, what, &inputs, err));
  TT_RETURN_IF_ERROR(
      r.GetVector(t, subgraph_f::kOutputs, 4, c.limits.max_io, what, &outputs, err));
  TT_RETURN_IF_ERROR(
      r.GetVector(t, subgraph_f::kOperators, 4, c.limits.max_operators, what, &operators, err));
  TT_RETURN_IF_ERROR(r.GetString(t, subgraph_f::kName, what, &name, err));
  char list[80];
  snprintf(list, sizeof(list), "%s inputs", what);
  TT_RETURN_IF_ERROR(CheckIndices(r.Scalars<int32_t>(inputs), tensors.length, false, list, err));
  snprintf(list, sizeof(list), "%s outputs", what);
  TT_RETURN_IF_ERROR(CheckIndices(r.Scalars<int32_t>(outputs), tensors.length, false, list, err));
  for (uint32_t i = 0; i < tensors.length; ++i) {
    fb::Table tensor;
    TT_RETURN_IF_ERROR(r.GetTableElement(tensors, i, what, &tensor, err));
    TT_RETURN_IF_ERROR(VerifyTensor(c, tensor, sg, i, err));
  }
  for (uint32_t i = 0; i < operators.length; ++i) {
    fb::Table op;
    TT_RETURN_IF_ERROR(r.GetTableElement(operators, i, what, &op, err));
    TT_RETURN_IF_ERROR(VerifyOperator(c, op, sg, i, tensors.length, err));
  }
  return Status::kOk;
}

Status VerifyMetadata(const fb::Reader& r, const fb::Table& t, uint32_t index,
                      uint32_t num_buffers, ErrorMessage* err) {
  char what[64];
  snprintf(what, sizeof(what), "metadata[%u]", static_cast<unsigned>(index));
  fb::StringRef name;
  TT_RETURN_IF_ERROR(r.GetString(t, metadata_f::kName, what, &name, err));
  TT_RETURN_IF_ERROR(r.CheckScalar(t, metadata_f::kBuffer, 4, what, err));
  const uint32_t buffer = r.GetScalar<uint32_t>(t, metadata_f::kBuffer, 0);
  TT_ENSURE(err, buffer < num_buffers, Status::kInvalidModel,
            "%s: buffer index %u is out of range (model has %u buffers)", what,
            static_cast<unsigned>(buffer),
            static_cast<unsigned>(num_buffers));
  return Status::kOk;
}

}  // namespace

Status LoadModel(const uint8_t* data, size_t size, const ModelLimits& limits, ModelView* out,
                 ErrorMessage* err) {
  *out = ModelView();
  const fb::Reader r(data, size);
  fb::Table root;
  TT_RETURN_IF_ERROR(r.Root(tflite::kFileIdentifier, &root, err));
  TT_RETURN_IF_ERROR(r.CheckScalar(root, model_f::kVersion, 4, "model", err));
  fb::StringRef description;
  TT_RETURN_IF_ERROR(r.GetString(root, model_f::kDescription, "model description", &description,
                                 err));
  fb::Vector opcodes, subgraphs, buffers, metadata;
  TT_RETURN_IF_ERROR(r.GetVector(root, model_f::kOperatorCodes, 4, limits.max_operator_codes,
                                 "model operator_codes", &opcodes, err));
  TT_RETURN_IF_ERROR(r.GetVector(root, model_f::kSubgraphs, 4, limits.max_subgraphs,
                                 "model subgraphs", &subgraphs, err));
  TT_RETURN_IF_ERROR(r.GetVector(root, model_f::kBuffers, 4, limits.max_buffers, "model buffers",
                                 &buffers, err));
  TT_RETURN_IF_ERROR(r.GetVector(root, model_f::kMetadata, 4, limits.max_metadata,
                                 "model metadata", &metadata, err));
  TT_ENSURE(err, subgraphs.length > 0, Status::kInvalidModel, "model has no subgraphs");

  for (uint32_t i = 0; i < opcodes.length; ++i) {
    fb::Table t;
    TT_RETURN_IF_ERROR(r.GetTableElement(opcodes, i, "operator_codes", &t, err));
    TT_RETURN_IF_ERROR(VerifyOperatorCode(r, t, i, err));
  }
  for (uint32_t i = 0; i < buffers.length; ++i) {
    fb::Table t;
    TT_RETURN_IF_ERROR(r.GetTableElement(buffers, i, "buffers", &t, err));
    TT_RETURN_IF_ERROR(VerifyBuffer(r, t, i, err));
  }
  for (uint32_t i = 0; i < metadata.length; ++i) {
    fb::Table t;
    TT_RETURN_IF_ERROR(r.GetTableElement(metadata, i, "metadata", &t, err));
    TT_RETURN_IF_ERROR(VerifyMetadata(r, t, i, buffers.length, err));
  }
  const VerifyContext context{r, limits, buffers.length, opcodes.length, opcodes};
  for (uint32_t i = 0; i < subgraphs.length; ++i) {
    fb::Table t;
    TT_RETURN_IF_ERROR(r.GetTableElement(subgraphs, i, "subgraphs", &t, err));
    TT_RETURN_IF_ERROR(VerifySubgraph(context, t, i, err));
  }

  out->reader_ = r;
  out->root_ = root;
  out->operator_codes_ = opcodes;
  out->subgraphs_ = subgraphs;
  out->buffers_ = buffers;
  out->metadata_ = metadata;
  return Status::kOk;
}

// ---- Accessors: re-read verified data in quiet mode (null ErrorMessage). ----

uint32_t ModelView::version() const {
  return reader_.GetScalar<uint32_t>(root_, model_f::kVersion, 0);
}

fb::StringRef ModelView::description() const {
  fb::StringRef s;
  reader_.GetString(root_, model_f::kDescription, "", &s, nullptr);
  return s;
}

OperatorCodeInfo ModelView::operator_code(uint32_t i) const {
  OperatorCodeInfo info;
  fb::Table t;
  if (i >= operator_codes_.length ||
      reader_.GetTableElement(operator_codes_, i, "", &t, nullptr) != Status::kOk) {
    return info;
  }
  info.builtin_code = ResolveBuiltinCode(reader_, t);
  info.version = reader_.GetScalar<int32_t>(t, opcode_f::kVersion, 1);
  reader_.GetString(t, opcode_f::kCustomCode, "", &info.custom_code, nullptr);
  return info;
}

SubgraphView ModelView::subgraph(uint32_t i) const {
  fb::Table t;
  if (i >= subgraphs_.length ||
      reader_.GetTableElement(subgraphs_, i, "", &t, nullptr) != Status::kOk) {
    return SubgraphView();
  }
  return SubgraphView(reader_, t);
}

BufferInfo ModelView::buffer(uint32_t i) const {
  BufferInfo info;
  fb::Table t;
  fb::Vector v;
  if (i >= buffers_.length ||
      reader_.GetTableElement(buffers_, i, "", &t, nullptr) != Status::kOk ||
      reader_.GetVector(t, buffer_f::kData, 1, fb::kMaxBufferSize, "", &v, nullptr) !=
          Status::kOk ||
      v.length == 0) {
    return info;
  }
  info.data = reader_.data() + v.data_pos();
  info.size = v.length;
  return info;
}

MetadataInfo ModelView::metadata(uint32_t i) const {
  MetadataInfo info;
  fb::Table t;
  if (i >= metadata_.length ||
      reader_.GetTableElement(metadata_, i, "", &t, nullptr) != Status::kOk) {
    return info;
  }
  reader_.GetString(t, metadata_f::kName, "", &info.name, nullptr);
  info.buffer = reader_.GetScalar<uint32_t>(t, metadata_f::kBuffer, 0);
  return info;
}

int32_t ModelView::FindMetadata(const char* name) const {
  for (uint32_t i = 0; i < metadata_.length; ++i) {
    const MetadataInfo m = metadata(i);
    if (m.name.Equals(name)) return static_cast<int32_t>(m.buffer);
  }
  return -1;
}

SubgraphView::SubgraphView(const fb::Reader& reader, const fb::Table& table)
    : reader_(reader), table_(table) {
  reader_.GetVector(table_, subgraph_f::kTensors, 4, fb::kMaxBufferSize, "", &tensors_, nullptr);
  reader_.GetVector(table_, subgraph_f::kOperators, 4, fb::kMaxBufferSize, "", &operators_,
                    nullptr);
}

fb::StringRef SubgraphView::name() const {
  fb::StringRef s;
  reader_.GetString(table_, subgraph_f::kName, "", &s, nullptr);
  return s;
}

namespace {
fb::ScalarArray<int32_t> Int32Field(const fb::Reader& r, const fb::Table& t, uint16_t id) {
  fb::Vector v;
  if (r.GetVector(t, id, 4, fb::kMaxBufferSize, "", &v, nullptr) != Status::kOk) return {};
  return r.Scalars<int32_t>(v);
}
}  // namespace

fb::ScalarArray<int32_t> SubgraphView::inputs() const {
  return Int32Field(reader_, table_, subgraph_f::kInputs);
}
fb::ScalarArray<int32_t> SubgraphView::outputs() const {
  return Int32Field(reader_, table_, subgraph_f::kOutputs);
}

TensorInfo SubgraphView::tensor(uint32_t i) const {
  TensorInfo info = tensor_runtime_fields(i);
  fb::Table t;
  if (i >= tensors_.length ||
      reader_.GetTableElement(tensors_, i, "", &t, nullptr) != Status::kOk) {
    return info;
  }
  reader_.GetString(t, tensor_f::kName, "", &info.name, nullptr);
  fb::Vector sig;
  if (reader_.GetVector(t, tensor_f::kShapeSignature, 4, fb::kMaxBufferSize, "", &sig, nullptr) ==
          Status::kOk &&
      sig.present()) {
    info.has_shape_signature = true;
    info.shape_signature = reader_.Scalars<int32_t>(sig);
  }
  return info;
}

TensorInfo SubgraphView::tensor_runtime_fields(uint32_t i) const {
  TensorInfo info;
  fb::Table t;
  if (i >= tensors_.length ||
      reader_.GetTableElement(tensors_, i, "", &t, nullptr) != Status::kOk) {
    return info;
  }
  info.type = reader_.GetScalar<int8_t>(t, tensor_f::kType, 0);
  info.shape = Int32Field(reader_, t, tensor_f::kShape);
  info.buffer = reader_.GetScalar<uint32_t>(t, tensor_f::kBuffer, 0);
  info.is_variable = reader_.GetScalar<uint8_t>(t, tensor_f::kIsVariable, 0) != 0;
  fb::Table q;
  if (reader_.GetTable(t, tensor_f::kQuantization, "", &q, nullptr) == Status::kOk &&
      q.present()) {
    QuantizationInfo& quant = info.quantization;
    quant.present = true;
    fb::Vector v;
    if (reader_.GetVector(q, quant_f::kScale, 4, fb::kMaxBufferSize, "", &v, nullptr) ==
        Status::kOk) {
      quant.scale = reader_.Scalars<float>(v);
    }
    if (reader_.GetVector(q, quant_f::kZeroPoint, 8, fb::kMaxBufferSize, "", &v, nullptr) ==
        Status::kOk) {
      quant.zero_point = reader_.Scalars<int64_t>(v);
    }
    quant.quantized_dimension = reader_.GetScalar<int32_t>(q, quant_f::kQuantizedDimension, 0);
  }
  return info;
}

OperatorView SubgraphView::op(uint32_t i) const {
  fb::Table t;
  if (i >= operators_.length ||
      reader_.GetTableElement(operators_, i, "", &t, nullptr) != Status::kOk) {
    return OperatorView();
  }
  return OperatorView(reader_, t);
}

uint32_t OperatorView::opcode_index() const {
  return reader_.GetScalar<uint32_t>(table_, op_f::kOpcodeIndex, 0);
}
fb::ScalarArray<int32_t> OperatorView::inputs() const {
  return Int32Field(reader_, table_, op_f::kInputs);
}
fb::ScalarArray<int32_t> OperatorView::outputs() const {
  return Int32Field(reader_, table_, op_f::kOutputs);
}
uint8_t OperatorView::builtin_options_type() const {
  return reader_.GetScalar<uint8_t>(table_, op_f::kBuiltinOptionsType, 0);
}
fb::ScalarArray<uint8_t> OperatorView::custom_options() const {
  fb::Vector v;
  if (reader_.GetVector(table_, op_f::kCustomOptions, 1, fb::kMaxBufferSize, "", &v, nullptr) !=
      Status::kOk) {
    return {};
  }
  return reader_.Scalars<uint8_t>(v);
}

bool OperatorView::OptionsTable(uint8_t type, fb::Table* out) const {
  *out = fb::Table();
  uint8_t actual = 0;
  if (reader_.GetUnion(table_, op_f::kBuiltinOptionsType, "", &actual, out, nullptr) !=
      Status::kOk) {
    *out = fb::Table();
    return actual == tflite::kNoOptions || actual == type;
  }
  if (actual == tflite::kNoOptions) return true;
  if (actual != type) {
    *out = fb::Table();
    return false;
  }
  return true;
}

bool OperatorView::GetOptions(Conv2DOptions* out) const {
  *out = Conv2DOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kConv2DOptions, &o)) return false;
  out->padding = reader_.GetScalar<int8_t>(o, 0, out->padding);
  out->stride_w = reader_.GetScalar<int32_t>(o, 1, out->stride_w);
  out->stride_h = reader_.GetScalar<int32_t>(o, 2, out->stride_h);
  out->fused_activation_function = reader_.GetScalar<int8_t>(o, 3, out->fused_activation_function);
  out->dilation_w_factor = reader_.GetScalar<int32_t>(o, 4, out->dilation_w_factor);
  out->dilation_h_factor = reader_.GetScalar<int32_t>(o, 5, out->dilation_h_factor);
  out->quantized_bias_type = reader_.GetScalar<int8_t>(o, 6, out->quantized_bias_type);
  return true;
}

bool OperatorView::GetOptions(DepthwiseConv2DOptions* out) const {
  *out = DepthwiseConv2DOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kDepthwiseConv2DOptions, &o)) return false;
  out->padding = reader_.GetScalar<int8_t>(o, 0, out->padding);
  out->stride_w = reader_.GetScalar<int32_t>(o, 1, out->stride_w);
  out->stride_h = reader_.GetScalar<int32_t>(o, 2, out->stride_h);
  out->depth_multiplier = reader_.GetScalar<int32_t>(o, 3, out->depth_multiplier);
  out->fused_activation_function = reader_.GetScalar<int8_t>(o, 4, out->fused_activation_function);
  out->dilation_w_factor = reader_.GetScalar<int32_t>(o, 5, out->dilation_w_factor);
  out->dilation_h_factor = reader_.GetScalar<int32_t>(o, 6, out->dilation_h_factor);
  return true;
}

bool OperatorView::GetOptions(FullyConnectedOptions* out) const {
  *out = FullyConnectedOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kFullyConnectedOptions, &o)) return false;
  out->fused_activation_function = reader_.GetScalar<int8_t>(o, 0, out->fused_activation_function);
  out->weights_format = reader_.GetScalar<int8_t>(o, 1, out->weights_format);
  out->keep_num_dims = reader_.GetScalar<uint8_t>(o, 2, 0) != 0;
  out->asymmetric_quantize_inputs = reader_.GetScalar<uint8_t>(o, 3, 0) != 0;
  out->quantized_bias_type = reader_.GetScalar<int8_t>(o, 4, out->quantized_bias_type);
  return true;
}

bool OperatorView::GetOptions(Pool2DOptions* out) const {
  *out = Pool2DOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kPool2DOptions, &o)) return false;
  out->padding = reader_.GetScalar<int8_t>(o, 0, out->padding);
  out->stride_w = reader_.GetScalar<int32_t>(o, 1, out->stride_w);
  out->stride_h = reader_.GetScalar<int32_t>(o, 2, out->stride_h);
  out->filter_width = reader_.GetScalar<int32_t>(o, 3, out->filter_width);
  out->filter_height = reader_.GetScalar<int32_t>(o, 4, out->filter_height);
  out->fused_activation_function = reader_.GetScalar<int8_t>(o, 5, out->fused_activation_function);
  return true;
}

bool OperatorView::GetOptions(ReshapeOptions* out) const {
  *out = ReshapeOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kReshapeOptions, &o)) return false;
  fb::Vector v;
  if (o.present() &&
      reader_.GetVector(o, 0, 4, fb::kMaxBufferSize, "", &v, nullptr) == Status::kOk &&
      v.present()) {
    out->has_new_shape = true;
    out->new_shape = reader_.Scalars<int32_t>(v);
  }
  return true;
}

bool OperatorView::GetOptions(SoftmaxOptions* out) const {
  *out = SoftmaxOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kSoftmaxOptions, &o)) return false;
  out->beta = reader_.GetScalar<float>(o, 0, out->beta);
  return true;
}

bool OperatorView::GetOptions(ReducerOptions* out) const {
  *out = ReducerOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kReducerOptions, &o)) return false;
  out->keep_dims = reader_.GetScalar<uint8_t>(o, 0, 0) != 0;
  return true;
}

bool OperatorView::GetOptions(AddOptions* out) const {
  *out = AddOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kAddOptions, &o)) return false;
  out->fused_activation_function = reader_.GetScalar<int8_t>(o, 0, out->fused_activation_function);
  out->pot_scale_int16 = reader_.GetScalar<uint8_t>(o, 1, 1) != 0;
  return true;
}

bool OperatorView::GetOptions(ConcatenationOptions* out) const {
  *out = ConcatenationOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kConcatenationOptions, &o)) return false;
  out->axis = reader_.GetScalar<int32_t>(o, 0, out->axis);
  out->fused_activation_function = reader_.GetScalar<int8_t>(o, 1, out->fused_activation_function);
  return true;
}

bool OperatorView::GetOptions(PadOptions* out) const {
  *out = PadOptions();
  fb::Table o;
  return OptionsTable(tflite::kPadOptions, &o);
}

bool OperatorView::GetOptions(MulOptions* out) const {
  *out = MulOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kMulOptions, &o)) return false;
  out->fused_activation_function = reader_.GetScalar<int8_t>(o, 0, out->fused_activation_function);
  return true;
}

bool OperatorView::GetOptions(SubOptions* out) const {
  *out = SubOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kSubOptions, &o)) return false;
  out->fused_activation_function = reader_.GetScalar<int8_t>(o, 0, out->fused_activation_function);
  out->pot_scale_int16 = reader_.GetScalar<uint8_t>(o, 1, 1) != 0;
  return true;
}

bool OperatorView::GetOptions(LeakyReluOptions* out) const {
  *out = LeakyReluOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kLeakyReluOptions, &o)) return false;
  out->alpha = reader_.GetScalar<float>(o, 0, out->alpha);
  return true;
}

bool OperatorView::GetOptions(StridedSliceOptions* out) const {
  *out = StridedSliceOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kStridedSliceOptions, &o)) return false;
  out->begin_mask = reader_.GetScalar<int32_t>(o, 0, 0);
  out->end_mask = reader_.GetScalar<int32_t>(o, 1, 0);
  out->ellipsis_mask = reader_.GetScalar<int32_t>(o, 2, 0);
  out->new_axis_mask = reader_.GetScalar<int32_t>(o, 3, 0);
  out->shrink_axis_mask = reader_.GetScalar<int32_t>(o, 4, 0);
  out->offset = reader_.GetScalar<uint8_t>(o, 5, 0) != 0;
  return true;
}

bool OperatorView::GetOptions(SqueezeOptions* out) const {
  *out = SqueezeOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kSqueezeOptions, &o)) return false;
  fb::Vector v;
  if (o.present() &&
      reader_.GetVector(o, 0, 4, fb::kMaxBufferSize, "", &v, nullptr) == Status::kOk &&
      v.present()) {
    out->squeeze_dims = reader_.Scalars<int32_t>(v);
  }
  return true;
}

bool OperatorView::GetOptions(ResizeNearestNeighborOptions* out) const {
  *out = ResizeNearestNeighborOptions();
  fb::Table o;
  if (!OptionsTable(tflite::kResizeNearestNeighborOptions, &o)) return false;
  out->align_corners = reader_.GetScalar<uint8_t>(o, 0, 0) != 0;
  out->half_pixel_centers = reader_.GetScalar<uint8_t>(o, 1, 0) != 0;
  return true;
}

}  // namespace tflm_train
