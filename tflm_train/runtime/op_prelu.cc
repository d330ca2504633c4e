// PRELU int8 -> int8 (kernels/prelu.h): input 1 is alpha, broadcast against the input up to
// 4-D (TFLM's BroadcastPrelu4DSlow).
#include "kernels/prelu.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  int32_t broadcast = 0;
  TT_RETURN_IF_ERROR(PrepareBinary(ctx, "PRELU", 4, &broadcast, err));
  // TFLM's kernel indexes 4-D shapes even when input and alpha are alike.
  TT_ENSURE(err, ctx.output(0).shape.size() <= 4, Status::kUnsupported,
            "op %ld (PRELU): tensors of more than 4 dimensions", static_cast<long>(ctx.index));
  const TensorInfo in = ctx.input(0), alpha = ctx.input(1), out = ctx.output(0);
  PreluPrepare(in.quantization.scale[0], static_cast<int32_t>(in.quantization.zero_point[0]),
               alpha.quantization.scale[0], static_cast<int32_t>(alpha.quantization.zero_point[0]),
               out.quantization.scale[0], static_cast<int32_t>(out.quantization.zero_point[0]),
               &ctx.state->prelu);
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  PreluInt8(ctx.state->prelu, BinaryBroadcast(ctx),
            reinterpret_cast<const int8_t*>(ctx.input_data(0)),
            reinterpret_cast<const int8_t*>(ctx.input_data(1)),
            reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

}  // namespace

extern const OpRegistration kPreluRegistration = {
    tflite::kPrelu, "PRELU", Prepare, Eval, nullptr, nullptr, nullptr, nullptr};

}  // namespace tflm_train
