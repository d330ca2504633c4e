// Standalone RELU and RELU6 int8 -> int8 (kernels/relu.h): RELU requantises to the output's
// parameters, RELU6 clamps in the input's (as TFLM, which does not read the output's there).
#include "kernels/relu.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status PrepareRelu(OpContext& ctx, ErrorMessage* err) {
  TT_RETURN_IF_ERROR(PrepareUnary(ctx, "RELU", err));
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  ReluPrepare(in.quantization.scale[0], static_cast<int32_t>(in.quantization.zero_point[0]),
              out.quantization.scale[0], static_cast<int32_t>(out.quantization.zero_point[0]),
              &ctx.state->relu);
  return Status::kOk;
}

void EvalRelu(const OpContext& ctx) {
  ReluInt8(ctx.state->relu, Elements(ctx.input(0)),
           reinterpret_cast<const int8_t*>(ctx.input_data(0)),
           reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

Status PrepareRelu6(OpContext& ctx, ErrorMessage* err) {
  TT_RETURN_IF_ERROR(PrepareUnary(ctx, "RELU6", err));
  const TensorInfo in = ctx.input(0);
  TT_ENSURE(err,
            Relu6Prepare(in.quantization.scale[0],
                         static_cast<int32_t>(in.quantization.zero_point[0]), &ctx.state->relu6),
            Status::kUnsupported,
            "op %ld (RELU6): input scale %g is so small that 6 / scale passes 2^30 (TFLM's "
            "conversion of it is undefined)", static_cast<long>(ctx.index),
            static_cast<double>(in.quantization.scale[0]));
  return Status::kOk;
}

void EvalRelu6(const OpContext& ctx) {
  Relu6Int8(ctx.state->relu6, Elements(ctx.input(0)),
            reinterpret_cast<const int8_t*>(ctx.input_data(0)),
            reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

}  // namespace

extern const OpRegistration kReluRegistration = {
    tflite::kRelu, "RELU", PrepareRelu, EvalRelu, nullptr, nullptr, nullptr, nullptr};
extern const OpRegistration kRelu6Registration = {
    tflite::kRelu6, "RELU6", PrepareRelu6, EvalRelu6, nullptr, nullptr, nullptr, nullptr};

}  // namespace tflm_train
