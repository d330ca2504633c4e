// DEQUANTIZE int8 -> float32 (what the TFLite converter puts before a model's float output).
#include "kernels/dequantize.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const long op = ctx.index;
  TT_ENSURE(err, ctx.op.inputs().size() == 1 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (DEQUANTIZE): needs 1 input and 1 output", op);
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  TT_ENSURE(err, in.type == tflite::kInt8 && out.type == tflite::kFloat32, Status::kUnsupported,
            "op %ld (DEQUANTIZE): input type %d to output type %d is not supported (int8 to "
            "float32 is)", op, in.type, out.type);
  TT_RETURN_IF_ERROR(CheckInt8Operand(in, "DEQUANTIZE", "input", ctx.index, err));
  TT_ENSURE(err, in.quantization.scale.size() == 1, Status::kUnsupported,
            "op %ld (DEQUANTIZE): input has %lu scales; only per-tensor quantisation is "
            "supported", op, static_cast<unsigned long>(in.quantization.scale.size()));
  TT_ENSURE(err, Elements(in) == Elements(out), Status::kInvalidModel,
            "op %ld (DEQUANTIZE): input has %ld elements, output %ld", op,
            static_cast<long>(Elements(in)), static_cast<long>(Elements(out)));
  ctx.state->dequantize = DequantizeState{in.quantization.scale[0],
                                          static_cast<int32_t>(in.quantization.zero_point[0])};
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const DequantizeState& s = ctx.state->dequantize;
  DequantizeInt8(Elements(ctx.input(0)), reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                 s.scale, s.zero_point, reinterpret_cast<float*>(ctx.output_data(0)));
}

}  // namespace

extern const OpRegistration kDequantizeRegistration = {
    tflite::kDequantize, "DEQUANTIZE", Prepare, Eval, nullptr, nullptr, nullptr, nullptr};

}  // namespace tflm_train
