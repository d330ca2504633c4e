// AVERAGE_POOL_2D: forward int8 and its input gradient.
#include "kernels/average_pool.h"
#include "kernels/training/average_pool_grad.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  return PreparePool2D(ctx, "AVERAGE_POOL_2D", err);
}

void Eval(const OpContext& ctx) {
  AveragePoolInt8(ctx.state->pool, ToDims(ctx.input(0)),
                  reinterpret_cast<const int8_t*>(ctx.input_data(0)), ToDims(ctx.output(0)),
                  reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

void InputGrad(const OpContext& ctx, const float* grad_out, const float*, float* grad_in) {
  AveragePoolGrad(ctx.state->pool, ToDims(ctx.output(0)), grad_out, ToDims(ctx.input(0)),
                  grad_in);
}

}  // namespace

extern const OpRegistration kAveragePool2DRegistration = {
    tflite::kAveragePool2D, "AVERAGE_POOL_2D", Prepare, Eval, InputGrad, nullptr, nullptr,
    nullptr};

}  // namespace tflm_train
