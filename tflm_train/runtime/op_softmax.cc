// SOFTMAX int8 -> int8. Its gradient is folded into the cross-entropy loss instruction.
#include "kernels/softmax.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const int32_t op = ctx.index;
  TT_ENSURE(err, ctx.op.inputs().size() == 1 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (SOFTMAX): needs 1 input and 1 output",
            static_cast<long>(op));
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  TT_RETURN_IF_ERROR(CheckInt8Quantized(in, "SOFTMAX input", op, err));
  TT_RETURN_IF_ERROR(CheckInt8Quantized(out, "SOFTMAX output", op, err));
  TT_ENSURE(err, in.shape.size() >= 1 && Elements(in) == Elements(out), Status::kInvalidModel,
            "op %ld (SOFTMAX): input and output sizes differ", static_cast<long>(op));
  // TFLM requires int8 probabilities with scale 1/256 and zero point -128.
  TT_ENSURE(err, out.quantization.zero_point[0] == -128 &&
                     out.quantization.scale[0] == 1.0f / 256.0f,
            Status::kUnsupported,
            "op %ld (SOFTMAX): int8 output must have scale 1/256 and zero point -128",
            static_cast<long>(op));
  SoftmaxOptions opts;
  TT_ENSURE(err, ctx.op.GetOptions(&opts), Status::kInvalidModel,
            "op %ld (SOFTMAX): options of another op type", static_cast<long>(op));
  TT_ENSURE(err, SoftmaxPrepare(opts.beta, in.quantization.scale[0], &ctx.state->softmax),
            Status::kInvalidModel, "op %ld (SOFTMAX): beta/scale rejected",
            static_cast<long>(op));
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const TensorInfo in = ctx.input(0);
  const int32_t depth = in.shape[in.shape.size() - 1];
  SoftmaxInt8(ctx.state->softmax, Elements(in) / depth, depth,
              reinterpret_cast<const int8_t*>(ctx.input_data(0)),
              reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

}  // namespace

extern const OpRegistration kSoftmaxRegistration = {
    tflite::kSoftmax, "SOFTMAX", Prepare, Eval, nullptr, nullptr, nullptr, nullptr};

}  // namespace tflm_train
