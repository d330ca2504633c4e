// LEAKY_RELU int8 -> int8 (kernels/leaky_relu.h), alpha from the op's options.
#include <cmath>

#include "kernels/leaky_relu.h"
#include "kernels/training/leaky_relu_grad.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  TT_RETURN_IF_ERROR(PrepareUnary(ctx, "LEAKY_RELU", err));
  LeakyReluOptions opts;
  TT_ENSURE(err, ctx.op.GetOptions(&opts), Status::kInvalidModel,
            "op %ld (LEAKY_RELU): options of another op type", static_cast<long>(ctx.index));
  // alpha reaches a float-to-int conversion in QuantizeMultiplier.
  TT_ENSURE(err, std::isfinite(opts.alpha), Status::kInvalidModel,
            "op %ld (LEAKY_RELU): alpha %g is not finite", static_cast<long>(ctx.index),
            static_cast<double>(opts.alpha));
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  TT_ENSURE(err,
            LeakyReluPrepare(in.quantization.scale[0],
                             static_cast<int32_t>(in.quantization.zero_point[0]),
                             out.quantization.scale[0],
                             static_cast<int32_t>(out.quantization.zero_point[0]), opts.alpha,
                             &ctx.state->leaky_relu),
            Status::kUnsupported,
            "op %ld (LEAKY_RELU): input scale %g * alpha %g / output scale %g overflows float "
            "(TFLM's conversion of it is undefined)", static_cast<long>(ctx.index),
            static_cast<double>(in.quantization.scale[0]), static_cast<double>(opts.alpha),
            static_cast<double>(out.quantization.scale[0]));
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  LeakyReluInt8(ctx.state->leaky_relu, Elements(ctx.input(0)),
                reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

void InputGrad(const OpContext& ctx, const float* grad_out, const float*, float* grad_in) {
  // alpha is read from the options again: the prepared state holds only its fixed-point form.
  LeakyReluOptions opts;
  ctx.op.GetOptions(&opts);  // checked at Prepare
  const TensorInfo in = ctx.input(0);
  LeakyReluGrad(Elements(in), reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                static_cast<int32_t>(in.quantization.zero_point[0]), opts.alpha, grad_out,
                grad_in);
}

}  // namespace

extern const OpRegistration kLeakyReluRegistration = {
    tflite::kLeakyRelu, "LEAKY_RELU", Prepare, Eval, InputGrad, nullptr, nullptr, nullptr};

}  // namespace tflm_train
