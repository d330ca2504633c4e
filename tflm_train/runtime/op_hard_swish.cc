// HARD_SWISH int8 -> int8 (kernels/hard_swish.h).
#include "kernels/hard_swish.h"
#include "kernels/training/hard_swish_grad.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  TT_RETURN_IF_ERROR(PrepareUnary(ctx, "HARD_SWISH", err));
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  // TFLM refuses an output rescaling that needs a left shift; float overflow of a multiplier
  // (scales near float's limits) is refused with it.
  TT_ENSURE(err,
            HardSwishPrepare(in.quantization.scale[0],
                             static_cast<int32_t>(in.quantization.zero_point[0]),
                             out.quantization.scale[0],
                             static_cast<int32_t>(out.quantization.zero_point[0]),
                             &ctx.state->hard_swish),
            Status::kUnsupported,
            "op %ld (HARD_SWISH): output scale %g with input scale %g needs a rescaling TFLM "
            "refuses (output scale below input / 128) or cannot represent (float overflow)",
            static_cast<long>(ctx.index),
            static_cast<double>(out.quantization.scale[0]),
            static_cast<double>(in.quantization.scale[0]));
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  HardSwishInt8(ctx.state->hard_swish, Elements(ctx.input(0)),
                reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

void InputGrad(const OpContext& ctx, const float* grad_out, const float*, float* grad_in) {
  const TensorInfo in = ctx.input(0);
  HardSwishGrad(Elements(in), reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                in.quantization.scale[0], static_cast<int32_t>(in.quantization.zero_point[0]),
                grad_out, grad_in);
}

}  // namespace

extern const OpRegistration kHardSwishRegistration = {
    tflite::kHardSwish, "HARD_SWISH", Prepare, Eval, InputGrad, nullptr, nullptr, nullptr};

}  // namespace tflm_train
