// Typed, verified view of a TFLite model flatbuffer.
//
// LoadModel() walks everything the runtime touches (model, operator codes, subgraphs, tensors,
// quantization, operators and their builtin options, buffers, metadata) once, with bounds and
// sanity limits, and reports the first problem as a sentence. After a successful load the
// accessors need no checks: they only re-read verified positions (and are still bounds-safe).
// The view does not own the bytes: the caller keeps the buffer alive and unchanged.
//
// Field ids, enum values and defaults come from the TFLite schema (schema version 3).
#ifndef TFLM_TRAIN_RUNTIME_TFLITE_MODEL_H_
#define TFLM_TRAIN_RUNTIME_TFLITE_MODEL_H_

#include <cstddef>
#include <cstdint>

#include "tflm_train/runtime/flatbuffer_reader.h"
#include "tflm_train/runtime/status.h"

namespace tflm_train {

// TFLite schema enum values used by the runtime.
namespace tflite {

constexpr char kFileIdentifier[] = "TFL3";
constexpr uint32_t kSchemaVersion = 3;

enum TensorType : int8_t {
  kFloat32 = 0, kFloat16 = 1, kInt32 = 2, kUInt8 = 3, kInt64 = 4, kString = 5, kBool = 6,
  kInt16 = 7, kComplex64 = 8, kInt8 = 9, kFloat64 = 10, kComplex128 = 11, kUInt64 = 12,
  kResource = 13, kVariant = 14, kUInt32 = 15, kUInt16 = 16, kInt4 = 17, kBFloat16 = 18,
  kInt2 = 19, kUInt4 = 20,
  kMaxTensorType = kUInt4,
};

enum BuiltinOperator : int32_t {
  kAdd = 0, kAveragePool2D = 1, kConcatenation = 2, kConv2D = 3, kDepthwiseConv2D = 4,
  kDequantize = 6, kFullyConnected = 9, kL2Pool2D = 12, kMaxPool2D = 17, kReshape = 22,
  kSoftmax = 25, kCustom = 32, kPad = 34, kMean = 40, kPadV2 = 60, kSum = 74, kReduceProd = 81,
  kReduceMax = 82, kReduceMin = 89, kReduceAny = 91, kQuantize = 114, kReduceAll = 140,
  // Element-wise and activation ops.
  kLogistic = 14, kMul = 18, kRelu = 19, kRelu6 = 21, kTanh = 28, kSub = 41, kPrelu = 54,
  kMaximum = 55, kMinimum = 57, kLeakyRelu = 98, kHardSwish = 117,
  // Layout ops (issue 12).
  kTranspose = 39, kSqueeze = 43, kStridedSlice = 45, kSplit = 49, kExpandDims = 70,
  kResizeNearestNeighbor = 97, kSplitV = 102,
};

enum BuiltinOptionsType : uint8_t {
  kNoOptions = 0, kConv2DOptions = 1, kDepthwiseConv2DOptions = 2, kPool2DOptions = 5,
  kFullyConnectedOptions = 8, kSoftmaxOptions = 9, kConcatenationOptions = 10,
  kAddOptions = 11, kReshapeOptions = 17, kPadOptions = 22, kReducerOptions = 27,
  kMulOptions = 21, kSubOptions = 28, kLeakyReluOptions = 75,
  kSqueezeOptions = 30, kStridedSliceOptions = 32, kResizeNearestNeighborOptions = 74,
};

enum Padding : int8_t { kPaddingSame = 0, kPaddingValid = 1 };

enum ActivationFunctionType : int8_t {
  kActNone = 0, kActRelu = 1, kActReluN1To1 = 2, kActRelu6 = 3, kActTanh = 4, kActSignBit = 5,
};

}  // namespace tflite

// Upper bounds enforced by LoadModel(); they keep a hostile file from making the verifier (or
// the runtime's planning loops) do unbounded work. Defaults suit microcontroller models.
struct ModelLimits {
  uint32_t max_subgraphs = 16;
  uint32_t max_operator_codes = 1024;
  uint32_t max_buffers = 16384;
  uint32_t max_metadata = 64;
  uint32_t max_tensors = 16384;        // per subgraph
  uint32_t max_operators = 16384;      // per subgraph
  uint32_t max_dims = 8;               // tensor rank
  uint32_t max_io = 256;               // inputs/outputs of one operator or subgraph
  uint32_t max_quant_params = 65536;   // scale / zero_point entries (per-channel)
};

struct OperatorCodeInfo {
  int32_t builtin_code = 0;  // max(deprecated_builtin_code, builtin_code), as TFLite resolves it
  fb::StringRef custom_code;
  int32_t version = 1;
};

struct QuantizationInfo {
  bool present = false;
  fb::ScalarArray<float> scale;
  fb::ScalarArray<int64_t> zero_point;
  int32_t quantized_dimension = 0;
};

struct TensorInfo {
  fb::StringRef name;
  int8_t type = tflite::kFloat32;
  fb::ScalarArray<int32_t> shape;  // empty for scalars
  bool has_shape_signature = false;
  fb::ScalarArray<int32_t> shape_signature;  // -1 marks a dynamic dimension
  uint32_t buffer = 0;                       // index into ModelView buffers (0: no data)
  bool is_variable = false;
  QuantizationInfo quantization;
};

struct BufferInfo {
  const uint8_t* data = nullptr;  // nullptr when the buffer is empty
  uint32_t size = 0;
  // Whether data may be used in place as an array of elements with this alignment.
  bool aligned(size_t alignment) const { return data == nullptr || fb::IsAligned(data, alignment); }
};

struct MetadataInfo {
  fb::StringRef name;
  uint32_t buffer = 0;
};

// Builtin options, with the schema's defaults for absent fields.
struct Conv2DOptions {
  int8_t padding = tflite::kPaddingSame;
  int32_t stride_w = 0;
  int32_t stride_h = 0;
  int8_t fused_activation_function = tflite::kActNone;
  int32_t dilation_w_factor = 1;
  int32_t dilation_h_factor = 1;
  int8_t quantized_bias_type = 0;
};

struct DepthwiseConv2DOptions {
  int8_t padding = tflite::kPaddingSame;
  int32_t stride_w = 0;
  int32_t stride_h = 0;
  int32_t depth_multiplier = 0;
  int8_t fused_activation_function = tflite::kActNone;
  int32_t dilation_w_factor = 1;
  int32_t dilation_h_factor = 1;
};

struct FullyConnectedOptions {
  int8_t fused_activation_function = tflite::kActNone;
  int8_t weights_format = 0;
  bool keep_num_dims = false;
  bool asymmetric_quantize_inputs = false;
  int8_t quantized_bias_type = 0;
};

struct Pool2DOptions {
  int8_t padding = tflite::kPaddingSame;
  int32_t stride_w = 0;
  int32_t stride_h = 0;
  int32_t filter_width = 0;
  int32_t filter_height = 0;
  int8_t fused_activation_function = tflite::kActNone;
};

struct ReshapeOptions {
  bool has_new_shape = false;
  fb::ScalarArray<int32_t> new_shape;
};

struct SoftmaxOptions {
  float beta = 0.0f;
};

struct ReducerOptions {
  bool keep_dims = false;
};

struct AddOptions {
  int8_t fused_activation_function = tflite::kActNone;
  bool pot_scale_int16 = true;
};

struct ConcatenationOptions {
  int32_t axis = 0;
  int8_t fused_activation_function = tflite::kActNone;
};

struct PadOptions {};

struct MulOptions {
  int8_t fused_activation_function = tflite::kActNone;
};

struct SubOptions {
  int8_t fused_activation_function = tflite::kActNone;
  bool pot_scale_int16 = true;
};

struct LeakyReluOptions {
  float alpha = 0.0f;
};

struct StridedSliceOptions {
  int32_t begin_mask = 0;
  int32_t end_mask = 0;
  int32_t ellipsis_mask = 0;
  int32_t new_axis_mask = 0;
  int32_t shrink_axis_mask = 0;
  bool offset = false;
};

struct SqueezeOptions {
  fb::ScalarArray<int32_t> squeeze_dims;  // empty: every dimension of size 1
};

struct ResizeNearestNeighborOptions {
  bool align_corners = false;
  bool half_pixel_centers = false;
};

class OperatorView {
 public:
  OperatorView() = default;
  OperatorView(const fb::Reader& reader, const fb::Table& table) : reader_(reader), table_(table) {}

  uint32_t opcode_index() const;
  fb::ScalarArray<int32_t> inputs() const;   // -1 marks an omitted optional input
  fb::ScalarArray<int32_t> outputs() const;
  uint8_t builtin_options_type() const;       // a tflite::BuiltinOptionsType value
  fb::ScalarArray<uint8_t> custom_options() const;

  // Each fills `out` with the stored options, or the schema defaults when the operator has no
  // options table. Returns false (and leaves defaults) when the operator carries options of a
  // different type.
  bool GetOptions(Conv2DOptions* out) const;
  bool GetOptions(DepthwiseConv2DOptions* out) const;
  bool GetOptions(FullyConnectedOptions* out) const;
  bool GetOptions(Pool2DOptions* out) const;
  bool GetOptions(ReshapeOptions* out) const;
  bool GetOptions(SoftmaxOptions* out) const;
  bool GetOptions(ReducerOptions* out) const;
  bool GetOptions(AddOptions* out) const;
  bool GetOptions(ConcatenationOptions* out) const;
  bool GetOptions(PadOptions* out) const;
  bool GetOptions(MulOptions* out) const;
  bool GetOptions(SubOptions* out) const;
  bool GetOptions(LeakyReluOptions* out) const;
  bool GetOptions(StridedSliceOptions* out) const;
  bool GetOptions(SqueezeOptions* out) const;
  bool GetOptions(ResizeNearestNeighborOptions* out) const;

 private:
  // The options table if its type is `type` (absent table otherwise); false on a type mismatch.
  bool OptionsTable(uint8_t type, fb::Table* out) const;

  fb::Reader reader_;
  fb::Table table_;
};

class SubgraphView {
 public:
  SubgraphView() = default;
  SubgraphView(const fb::Reader& reader, const fb::Table& table);

  fb::StringRef name() const;
  fb::ScalarArray<int32_t> inputs() const;
  fb::ScalarArray<int32_t> outputs() const;
  uint32_t num_tensors() const { return tensors_.length; }
  TensorInfo tensor(uint32_t i) const;
  // The same without name and shape signature (left empty), which the runtime never reads:
  // the session reads tensors on every step, and those two fields cost a third of a read.
  TensorInfo tensor_runtime_fields(uint32_t i) const;
  uint32_t num_operators() const { return operators_.length; }
  OperatorView op(uint32_t i) const;

 private:
  fb::Reader reader_;
  fb::Table table_;
  fb::Vector tensors_;
  fb::Vector operators_;
};

class ModelView {
 public:
  uint32_t version() const;
  fb::StringRef description() const;

  uint32_t num_operator_codes() const { return operator_codes_.length; }
  OperatorCodeInfo operator_code(uint32_t i) const;

  uint32_t num_subgraphs() const { return subgraphs_.length; }
  SubgraphView subgraph(uint32_t i) const;

  uint32_t num_buffers() const { return buffers_.length; }
  BufferInfo buffer(uint32_t i) const;

  uint32_t num_metadata() const { return metadata_.length; }
  MetadataInfo metadata(uint32_t i) const;
  // Buffer index of the first metadata entry called `name`, or -1.
  int32_t FindMetadata(const char* name) const;

  bool loaded() const { return root_.present(); }

 private:
  friend Status LoadModel(const uint8_t* data, size_t size, const ModelLimits& limits,
                          ModelView* out, ErrorMessage* err);

  fb::Reader reader_;
  fb::Table root_;
  fb::Vector operator_codes_;
  fb::Vector subgraphs_;
  fb::Vector buffers_;
  fb::Vector metadata_;
};

// Verifies the whole model and, on success, fills `out`. On failure `out` is left unloaded and
// `err` names the problem (kInvalidModel for malformed data, kUnsupported for valid features the
// runtime does not handle, such as buffers stored outside the flatbuffer or sparse tensors).
Status LoadModel(const uint8_t* data, size_t size, const ModelLimits& limits, ModelView* out,
                 ErrorMessage* err);
inline Status LoadModel(const uint8_t* data, size_t size, ModelView* out, ErrorMessage* err) {
  return LoadModel(data, size, ModelLimits(), out, err);
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_TFLITE_MODEL_H_
