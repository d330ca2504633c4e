#include "tflm_train/runtime/ops.h"

#include <cmath>
#include <cstring>

#include "kernels/average_pool.h"
#include "tflm_train/runtime/channel_data.h"
#include "tflm_train/runtime/op_registrations.h"

namespace tflm_train {

const OpRegistration* FindRegistration(int32_t builtin_code) {
  for (const OpRegistration* r : kRegistrations) {
    if (r->builtin_code == builtin_code) return r;
  }
  return nullptr;
}

Dims ToDims(const TensorInfo& t) {
  int32_t d[4] = {1, 1, 1, 1};
  const uint32_t rank = t.shape.size();
  for (uint32_t i = 0; i < rank && i < 4; ++i) d[4 - rank + i] = t.shape[i];
  return Dims{d[0], d[1], d[2], d[3]};
}

int32_t Elements(const TensorInfo& t) {
  int32_t n = 1;
  for (uint32_t i = 0; i < t.shape.size(); ++i) n *= t.shape[i];
  return n;
}

Status CheckInt8Quantized(const TensorInfo& t, const char* what, int32_t op, ErrorMessage* err) {
  TT_ENSURE(err, t.type == tflite::kInt8, Status::kUnsupported,
            "op %ld: %s must be int8 (full-integer model)", static_cast<long>(op), what);
  TT_ENSURE(err, t.quantization.present && t.quantization.scale.size() >= 1 &&
                     t.quantization.zero_point.size() >= 1 && t.quantization.scale.aligned(),
            Status::kInvalidModel, "op %ld: %s has no int8 quantisation parameters",
            static_cast<long>(op), what);
  const float scale = t.quantization.scale[0];
  const int64_t zp = t.quantization.zero_point[0];
  TT_ENSURE(err, scale > 0.0f && std::isfinite(scale) && zp >= -128 && zp <= 127,
            Status::kInvalidModel,
            "op %ld: %s has scale %g / zero point %ld outside int8 rules", static_cast<long>(op),
            what, static_cast<double>(scale), static_cast<long>(zp));
  return Status::kOk;
}

Status CheckConstant(const Session& s, int32_t tensor, int8_t type, int64_t elements,
                     const char* what, int32_t op, ErrorMessage* err) {
  TT_ENSURE(err, tensor >= 0, Status::kInvalidModel, "op %ld: %s is missing",
            static_cast<long>(op), what);
  const TensorInfo t = s.tensor(tensor);
  TT_ENSURE(err, t.type == type, Status::kUnsupported, "op %ld: %s has type %d, expected %d",
            static_cast<long>(op), what, t.type, type);
  TT_ENSURE(err, Elements(t) == elements, Status::kInvalidModel,
            "op %ld: %s has %ld elements, expected %ld", static_cast<long>(op), what,
            static_cast<long>(Elements(t)), static_cast<long>(elements));
  return Status::kOk;
}

}  // namespace tflm_train

namespace tflm_train {

Status ToActivation(int8_t code, int32_t op, FusedActivation* out, ErrorMessage* err) {
  TT_ENSURE(err, code >= tflite::kActNone && code <= tflite::kActRelu6, Status::kUnsupported,
            "op %ld: fused activation %d is not supported (NONE, RELU, RELU_N1_TO_1, RELU6 are)",
            static_cast<long>(op), code);
  *out = static_cast<FusedActivation>(code);
  return Status::kOk;
}

Status WeightScales(const TensorInfo& w, int32_t channels, int32_t op, const float** scales,
                    int32_t* count, ErrorMessage* err) {
  const uint32_t n = w.quantization.scale.size();
  TT_ENSURE(err, w.quantization.present && (n == 1 || n == static_cast<uint32_t>(channels)),
            Status::kInvalidModel, "op %ld: weights need 1 or %ld scales, have %lu",
            static_cast<long>(op), static_cast<long>(channels), static_cast<unsigned long>(n));
  TT_ENSURE(err, w.quantization.scale.aligned(), Status::kInvalidModel,
            "op %ld: weight scales are not 4-byte aligned in the model", static_cast<long>(op));
  // TFLM takes a tensor without zero points as not quantised (its conv refuses such weights;
  // its FULLY_CONNECTED runs them with a zero multiplier, a constant output).
  TT_ENSURE(err, w.quantization.zero_point.size() >= 1, Status::kInvalidModel,
            "op %ld: weights have scales but no zero points (not quantised)",
            static_cast<long>(op));
  // Per-channel scales run along quantized_dimension, which must have one entry per scale
  // (TFLM's Prepare); per-tensor weights ignore it (older converters left stale values).
  if (n > 1) {
    const int32_t dim = w.quantization.quantized_dimension;
    TT_ENSURE(err, dim >= 0 && static_cast<uint32_t>(dim) < w.shape.size() &&
                       static_cast<uint32_t>(w.shape[static_cast<uint32_t>(dim)]) == n,
              Status::kInvalidModel,
              "op %ld: weights have %lu scales along quantized_dimension %ld, which is not an "
              "axis of that size (shape rank %lu)", static_cast<long>(op),
              static_cast<unsigned long>(n), static_cast<long>(dim),
              static_cast<unsigned long>(w.shape.size()));
  }
  // Requantisation multipliers are computed from these (QuantizeMultiplier): a NaN, infinite,
  // zero or negative scale has no meaning and would reach a float-to-int conversion.
  for (uint32_t i = 0; i < n; ++i) {
    const float s = w.quantization.scale[i];
    TT_ENSURE(err, s > 0.0f && std::isfinite(s), Status::kInvalidModel,
              "op %ld: weight scale %lu is %g, not a positive finite number",
              static_cast<long>(op), static_cast<unsigned long>(i), static_cast<double>(s));
  }
  for (uint32_t i = 0; i < w.quantization.zero_point.size(); ++i) {
    TT_ENSURE(err, w.quantization.zero_point[i] == 0, Status::kUnsupported,
              "op %ld: weights must be symmetric (zero point 0)", static_cast<long>(op));
  }
  *scales = reinterpret_cast<const float*>(w.quantization.scale.data());
  *count = static_cast<int32_t>(n);
  return Status::kOk;
}

Status PrepareWeights(const OpContext& ctx, const char* name, int32_t out_channels,
                      WeightQuant* out, ErrorMessage* err) {
  if (ctx.op.inputs().size() > 2 && ctx.input_id(2) >= 0) {
    char what[48];
    snprintf(what, sizeof(what), "%s bias", name);
    TT_RETURN_IF_ERROR(CheckConstant(*ctx.session, ctx.input_id(2), tflite::kInt32,
                                     out_channels, what, ctx.index, err));
  }
  TT_RETURN_IF_ERROR(
      WeightScales(ctx.input(1), out_channels, ctx.index, &out->scales, &out->num_scales, err));
  return VerifyChannelData(ctx, name, ctx.input(0).quantization.scale[0], out->scales,
                           out->num_scales, ctx.output(0).quantization.scale[0], out_channels,
                           &out->quant, err);
}

const int32_t* OptionalBias(const OpContext& ctx) {
  return ctx.op.inputs().size() > 2 && ctx.input_id(2) >= 0
             ? reinterpret_cast<const int32_t*>(ctx.input_data(2))
             : nullptr;
}

Status CheckInt8Operand(const TensorInfo& t, const char* op_name, const char* role, int32_t op,
                        ErrorMessage* err) {
  char what[48];
  snprintf(what, sizeof(what), "%s %s", op_name, role);
  return CheckInt8Quantized(t, what, op, err);
}

Status CheckWeightedOpOperands(const OpContext& ctx, const char* name, const char* weights,
                               ErrorMessage* err) {
  TT_ENSURE(err, ctx.op.inputs().size() >= 2 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (%s): needs input, %s[, bias] and 1 output",
            static_cast<long>(ctx.index), name, weights);
  TT_RETURN_IF_ERROR(CheckInt8Operand(ctx.input(0), name, "input", ctx.index, err));
  return CheckInt8Operand(ctx.output(0), name, "output", ctx.index, err);
}

Status PreparePool2D(OpContext& ctx, const char* name, ErrorMessage* err) {
  const long op = ctx.index;
  TT_ENSURE(err, ctx.op.inputs().size() == 1 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (%s): needs 1 input and 1 output", op, name);
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  TT_RETURN_IF_ERROR(CheckInt8Operand(in, name, "input", ctx.index, err));
  TT_RETURN_IF_ERROR(CheckInt8Operand(out, name, "output", ctx.index, err));
  TT_ENSURE(err, in.shape.size() == 4 && out.shape.size() == 4, Status::kUnsupported,
            "op %ld (%s): needs 4-D tensors", op, name);
  // The kernels pick or average int8 values without rescaling them.
  TT_ENSURE(err, in.quantization.scale[0] == out.quantization.scale[0] &&
                     in.quantization.zero_point[0] == out.quantization.zero_point[0],
            Status::kUnsupported, "op %ld (%s): input and output quantisation must be equal",
            op, name);
  Pool2DOptions opts;
  TT_ENSURE(err, ctx.op.GetOptions(&opts), Status::kInvalidModel,
            "op %ld (%s): options of another op type", op, name);
  FusedActivation act = FusedActivation::kNone;
  TT_RETURN_IF_ERROR(ToActivation(opts.fused_activation_function, ctx.index, &act, err));
  TT_ENSURE(err, opts.padding == tflite::kPaddingSame || opts.padding == tflite::kPaddingValid,
            Status::kInvalidModel, "op %ld (%s): padding %d is neither SAME nor VALID", op, name,
            opts.padding);
  const Dims in_d = ToDims(in), out_d = ToDims(out);
  TT_ENSURE(err, in_d.n == out_d.n && in_d.c == out_d.c, Status::kInvalidModel,
            "op %ld (%s): input %ldx%ldx%ldx%ld and output %ldx%ldx%ldx%ld differ in batch or "
            "channels", op, name, static_cast<long>(in_d.n), static_cast<long>(in_d.h),
            static_cast<long>(in_d.w), static_cast<long>(in_d.c), static_cast<long>(out_d.n),
            static_cast<long>(out_d.h), static_cast<long>(out_d.w), static_cast<long>(out_d.c));
  TT_ENSURE(err, opts.stride_h > 0 && opts.stride_w > 0 && opts.filter_height > 0 &&
                     opts.filter_width > 0,
            Status::kInvalidModel, "op %ld (%s): window %ldx%ld / stride %ldx%ld must be positive",
            op, name, static_cast<long>(opts.filter_height), static_cast<long>(opts.filter_width),
            static_cast<long>(opts.stride_h), static_cast<long>(opts.stride_w));
  int32_t out_h = 0, out_w = 0;
  PoolPrepare(out.quantization.scale[0], static_cast<int32_t>(out.quantization.zero_point[0]),
              in_d.h, in_d.w, Tile{opts.filter_height, opts.filter_width},
              Tile{opts.stride_h, opts.stride_w}, static_cast<Padding>(opts.padding), act,
              &ctx.state->pool, &out_h, &out_w);
  TT_ENSURE(err, out_h == out_d.h && out_w == out_d.w, Status::kInvalidModel,
            "op %ld (%s): output %ldx%ld does not match the computed %ldx%ld", op, name,
            static_cast<long>(out_d.h), static_cast<long>(out_d.w), static_cast<long>(out_h),
            static_cast<long>(out_w));
  return Status::kOk;
}

void EvalSameBytes(const OpContext& ctx) {
  const uint8_t* in = ctx.input_data(0);
  uint8_t* out = ctx.output_data(0);
  if (in != out) {
    memmove(out, in, static_cast<size_t>(ctx.session->model_tensor_bytes(ctx.input_id(0))));
  }
}

Status PrepareUnary(const OpContext& ctx, const char* name, ErrorMessage* err) {
  TT_ENSURE(err, ctx.op.inputs().size() == 1 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (%s): needs 1 input and 1 output",
            static_cast<long>(ctx.index), name);
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  TT_RETURN_IF_ERROR(CheckInt8Operand(in, name, "input", ctx.index, err));
  TT_RETURN_IF_ERROR(CheckInt8Operand(out, name, "output", ctx.index, err));
  TT_ENSURE(err, Elements(in) == Elements(out), Status::kInvalidModel,
            "op %ld (%s): input has %ld elements, output %ld", static_cast<long>(ctx.index), name,
            static_cast<long>(Elements(in)), static_cast<long>(Elements(out)));
  return Status::kOk;
}

namespace {

// "2x3x4" (or "scalar") for error messages.
const char* ShapeText(const TensorInfo& t, char* buf, size_t size) {
  if (t.shape.empty()) {
    snprintf(buf, size, "scalar");
    return buf;
  }
  size_t used = 0;
  buf[0] = '\0';
  for (uint32_t i = 0; i < t.shape.size() && used < size; ++i) {
    const int n = snprintf(buf + used, size - used, i == 0 ? "%ld" : "x%ld",
                           static_cast<long>(t.shape[i]));
    if (n < 0) break;
    used += static_cast<size_t>(n);
  }
  return buf;
}

bool SameShape(const TensorInfo& a, const TensorInfo& b) {
  if (a.shape.size() != b.shape.size()) return false;
  for (uint32_t i = 0; i < a.shape.size(); ++i) {
    if (a.shape[i] != b.shape[i]) return false;
  }
  return true;
}

// Copies a verified shape (rank <= ModelLimits::max_dims) into `dims`; returns the rank.
int32_t ShapeDims(const TensorInfo& t, int32_t* dims, int32_t capacity) {
  const int32_t rank = static_cast<int32_t>(t.shape.size());
  for (int32_t i = 0; i < rank && i < capacity; ++i) dims[i] = t.shape[static_cast<uint32_t>(i)];
  return rank;
}

}  // namespace

Status PrepareBinary(const OpContext& ctx, const char* name, int32_t max_broadcast_rank,
                     int32_t* broadcast, ErrorMessage* err) {
  const long op = ctx.index;
  TT_ENSURE(err, ctx.op.inputs().size() == 2 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (%s): needs 2 inputs and 1 output", op, name);
  const TensorInfo in1 = ctx.input(0), in2 = ctx.input(1), out = ctx.output(0);
  TT_RETURN_IF_ERROR(CheckInt8Operand(in1, name, "input 1", ctx.index, err));
  TT_RETURN_IF_ERROR(CheckInt8Operand(in2, name, "input 2", ctx.index, err));
  TT_RETURN_IF_ERROR(CheckInt8Operand(out, name, "output", ctx.index, err));
  char s1[96], s2[96], so[96];
  if (SameShape(in1, in2)) {
    TT_ENSURE(err, SameShape(in1, out), Status::kInvalidModel,
              "op %ld (%s): output shape %s differs from the input shape %s", op, name,
              ShapeText(out, so, sizeof(so)), ShapeText(in1, s1, sizeof(s1)));
    *broadcast = 0;
    return Status::kOk;
  }
  TT_ENSURE(err, in1.shape.size() <= static_cast<uint32_t>(max_broadcast_rank) &&
                     in2.shape.size() <= static_cast<uint32_t>(max_broadcast_rank),
            Status::kUnsupported,
            "op %ld (%s): broadcasting %s against %s: more than %ld dimensions", op, name,
            ShapeText(in1, s1, sizeof(s1)), ShapeText(in2, s2, sizeof(s2)),
            static_cast<long>(max_broadcast_rank));
  int32_t d1[kMaxBroadcastRank], d2[kMaxBroadcastRank];
  const int32_t r1 = ShapeDims(in1, d1, kMaxBroadcastRank);
  const int32_t r2 = ShapeDims(in2, d2, kMaxBroadcastRank);
  Broadcast b;
  TT_ENSURE(err, PrepareBroadcast(d1, r1, d2, r2, &b), Status::kInvalidModel,
            "op %ld (%s): input shapes %s and %s do not broadcast", op, name,
            ShapeText(in1, s1, sizeof(s1)), ShapeText(in2, s2, sizeof(s2)));
  bool match = out.shape.size() == static_cast<uint32_t>(b.rank);
  for (int32_t i = 0; match && i < b.rank; ++i) {
    match = out.shape[static_cast<uint32_t>(i)] == b.out[i];
  }
  TT_ENSURE(err, match, Status::kInvalidModel,
            "op %ld (%s): output shape %s is not the broadcast of input shapes %s and %s", op,
            name, ShapeText(out, so, sizeof(so)), ShapeText(in1, s1, sizeof(s1)),
            ShapeText(in2, s2, sizeof(s2)));
  *broadcast = 1;
  return Status::kOk;
}

Broadcast BinaryBroadcast(const OpContext& ctx) {
  const TensorInfo in1 = ctx.input(0), in2 = ctx.input(1);
  Broadcast b;
  if (SameShape(in1, in2)) {
    const int32_t n = Elements(in1);
    b.rank = 1;
    b.out[0] = n;
    b.stride1[0] = 1;
    b.stride2[0] = 1;
    return b;
  }
  int32_t d1[kMaxBroadcastRank], d2[kMaxBroadcastRank];
  const int32_t r1 = ShapeDims(in1, d1, kMaxBroadcastRank);
  const int32_t r2 = ShapeDims(in2, d2, kMaxBroadcastRank);
  PrepareBroadcast(d1, r1, d2, r2, &b);
  return b;
}

bool IsConstantInput(const OpContext& ctx, uint32_t i) {
  const int32_t t = ctx.input_id(i);
  // Session::CheckTensors verified that an input without an arena slot is constant model data.
  return t >= 0 && t < ctx.session->program().header().n_model_tensors &&
         ctx.session->program().model_offset(t) < 0;
}

}  // namespace tflm_train
