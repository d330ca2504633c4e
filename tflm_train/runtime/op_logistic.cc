// LOGISTIC int8 -> int8 (kernels/logistic.h); the output must have TFLM's zero point -128 (its
// scale is not checked by TFLM, nor used: the kernel writes 1/256 steps).
#include "kernels/logistic.h"
#include "kernels/training/logistic_grad.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {

// Shared with TANH (op_tanh.cc): the input rescaling and its domain.
Status PrepareSigmoidInput(OpContext& ctx, const char* name, ErrorMessage* err) {
  const TensorInfo in = ctx.input(0);
  TT_ENSURE(err,
            SigmoidInputPrepare(in.quantization.scale[0],
                                static_cast<int32_t>(in.quantization.zero_point[0]),
                                &ctx.state->sigmoid),
            Status::kUnsupported,
            "op %ld (%s): input scale %g is outside [2^-28, 2^35), where TFLM's input range "
            "computation is undefined", static_cast<long>(ctx.index), name,
            static_cast<double>(in.quantization.scale[0]));
  return Status::kOk;
}

namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  TT_RETURN_IF_ERROR(PrepareUnary(ctx, "LOGISTIC", err));
  const TensorInfo out = ctx.output(0);
  TT_ENSURE(err, out.quantization.zero_point[0] == -128, Status::kInvalidModel,
            "op %ld (LOGISTIC): output zero point %ld, TFLM requires -128",
            static_cast<long>(ctx.index), static_cast<long>(out.quantization.zero_point[0]));
  return PrepareSigmoidInput(ctx, "LOGISTIC", err);
}

void Eval(const OpContext& ctx) {
  LogisticInt8(ctx.state->sigmoid, Elements(ctx.input(0)),
               reinterpret_cast<const int8_t*>(ctx.input_data(0)),
               reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

void InputGrad(const OpContext& ctx, const float* grad_out, const float*, float* grad_in) {
  const TensorInfo in = ctx.input(0);
  LogisticGrad(Elements(in), reinterpret_cast<const int8_t*>(ctx.input_data(0)),
               in.quantization.scale[0], static_cast<int32_t>(in.quantization.zero_point[0]),
               grad_out, grad_in);
}

}  // namespace

extern const OpRegistration kLogisticRegistration = {
    tflite::kLogistic, "LOGISTIC", Prepare, Eval, InputGrad, nullptr, nullptr, nullptr};

}  // namespace tflm_train
