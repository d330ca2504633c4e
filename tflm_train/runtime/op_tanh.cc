// TANH int8 -> int8 (kernels/tanh.h); like TFLM, the output's declared quantisation is neither
// checked nor used (the kernel writes 1/128 steps around 0).
#include "kernels/tanh.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {

namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  TT_RETURN_IF_ERROR(PrepareUnary(ctx, "TANH", err));
  return PrepareSigmoidInput(ctx, "TANH", err);
}

void Eval(const OpContext& ctx) {
  TanhInt8(ctx.state->sigmoid, Elements(ctx.input(0)),
           reinterpret_cast<const int8_t*>(ctx.input_data(0)),
           reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

}  // namespace

extern const OpRegistration kTanhRegistration = {
    tflite::kTanh, "TANH", Prepare, Eval, nullptr, nullptr, nullptr, nullptr};

}  // namespace tflm_train
