// MAX_POOL_2D: forward int8 (window and checks shared with AVERAGE_POOL_2D) and its input
// gradient, which routes each window's gradient to its maximum in the saved input.
#include "kernels/max_pool.h"
#include "kernels/training/max_pool_grad.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  return PreparePool2D(ctx, "MAX_POOL_2D", err);
}

void Eval(const OpContext& ctx) {
  MaxPoolInt8(ctx.state->pool, ToDims(ctx.input(0)),
              reinterpret_cast<const int8_t*>(ctx.input_data(0)), ToDims(ctx.output(0)),
              reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

void InputGrad(const OpContext& ctx, const float* grad_out, const float*, float* grad_in) {
  MaxPoolGrad(ctx.state->pool, ToDims(ctx.input(0)),
              reinterpret_cast<const int8_t*>(ctx.input_data(0)), ToDims(ctx.output(0)), grad_out,
              grad_in);
}

}  // namespace

extern const OpRegistration kMaxPool2DRegistration = {
    tflite::kMaxPool2D, "MAX_POOL_2D", Prepare, Eval, InputGrad, nullptr, nullptr, nullptr};

}  // namespace tflm_train
