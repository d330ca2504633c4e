// QUANTIZE to int8: from float32 (a model's float input) or from int8 (the TFLite converter's
// requantisation, e.g. to give CONCATENATION inputs the output's scale).
#include "kernels/quantize.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const long op = ctx.index;
  TT_ENSURE(err, ctx.op.inputs().size() == 1 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (QUANTIZE): needs 1 input and 1 output", op);
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  TT_ENSURE(err, out.type == tflite::kInt8 && (in.type == tflite::kInt8 ||
                                               in.type == tflite::kFloat32),
            Status::kUnsupported,
            "op %ld (QUANTIZE): input type %d to output type %d is not supported (float32 or "
            "int8 to int8 are)", op, in.type, out.type);
  TT_RETURN_IF_ERROR(CheckInt8Operand(out, "QUANTIZE", "output", ctx.index, err));
  // TFLM quantises to one scale per tensor.
  TT_ENSURE(err, out.quantization.scale.size() == 1, Status::kUnsupported,
            "op %ld (QUANTIZE): output has %lu scales; only per-tensor quantisation is "
            "supported", op, static_cast<unsigned long>(out.quantization.scale.size()));
  TT_ENSURE(err, Elements(in) == Elements(out), Status::kInvalidModel,
            "op %ld (QUANTIZE): input has %ld elements, output %ld", op,
            static_cast<long>(Elements(in)), static_cast<long>(Elements(out)));
  QuantizeState& s = ctx.state->quantize;
  const float out_scale = out.quantization.scale[0];
  const int32_t out_zp = static_cast<int32_t>(out.quantization.zero_point[0]);
  s.output_scale = out_scale;
  if (in.type == tflite::kFloat32) {
    s.from_float = 1;
    s.requantize = RequantizeParams{0, out_zp, QuantMultiplier{0, 0}};
    return Status::kOk;
  }
  TT_RETURN_IF_ERROR(CheckInt8Operand(in, "QUANTIZE", "input", ctx.index, err));
  s.from_float = 0;
  s.requantize = RequantizePrepare(in.quantization.scale[0],
                                   static_cast<int32_t>(in.quantization.zero_point[0]),
                                   out_scale, out_zp);
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const QuantizeState& s = ctx.state->quantize;
  const int32_t size = Elements(ctx.output(0));
  int8_t* out = reinterpret_cast<int8_t*>(ctx.output_data(0));
  if (s.from_float) {
    QuantizeFloatToInt8(size, reinterpret_cast<const float*>(ctx.input_data(0)), s.output_scale,
                        s.requantize.output_zero_point, out);
  } else {
    RequantizeInt8(s.requantize, size, reinterpret_cast<const int8_t*>(ctx.input_data(0)), out);
  }
}

}  // namespace

extern const OpRegistration kQuantizeRegistration = {
    tflite::kQuantize, "QUANTIZE", Prepare, Eval, nullptr, nullptr, nullptr, nullptr};

}  // namespace tflm_train
