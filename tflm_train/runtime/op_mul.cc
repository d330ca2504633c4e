// MUL int8 -> int8: the product of the offset operands requantised once, with fused activation;
// equal shapes or NumPy-style broadcast up to 6-D (TFLM's BroadcastMul6DSlow).
#include "kernels/mul.h"
#include "kernels/training/mul_grad.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  MulState& s = ctx.state->mul;
  TT_RETURN_IF_ERROR(PrepareBinary(ctx, "MUL", kMaxBroadcastRank, &s.broadcast, err));
  MulOptions opts;
  TT_ENSURE(err, ctx.op.GetOptions(&opts), Status::kInvalidModel,
            "op %ld (MUL): options of another op type", static_cast<long>(ctx.index));
  FusedActivation act = FusedActivation::kNone;
  TT_RETURN_IF_ERROR(ToActivation(opts.fused_activation_function, ctx.index, &act, err));
  const TensorInfo in1 = ctx.input(0), in2 = ctx.input(1), out = ctx.output(0);
  MulPrepare(in1.quantization.scale[0], static_cast<int32_t>(in1.quantization.zero_point[0]),
             in2.quantization.scale[0], static_cast<int32_t>(in2.quantization.zero_point[0]),
             out.quantization.scale[0], static_cast<int32_t>(out.quantization.zero_point[0]), act,
             &s.params);
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const MulState& s = ctx.state->mul;
  const int8_t* in1 = reinterpret_cast<const int8_t*>(ctx.input_data(0));
  const int8_t* in2 = reinterpret_cast<const int8_t*>(ctx.input_data(1));
  int8_t* out = reinterpret_cast<int8_t*>(ctx.output_data(0));
  if (s.broadcast) {
    MulBroadcastInt8(s.params, BinaryBroadcast(ctx), in1, in2, out);
  } else {
    MulInt8(s.params, Elements(ctx.output(0)), in1, in2, out);
  }
}

// The gradient of operand `input` reads the other operand's saved values.
void InputGradAt(const OpContext& ctx, const float* grad_out, int32_t input, float* grad_in) {
  const uint32_t other = input == 0 ? 1u : 0u;
  const TensorInfo o = ctx.input(other);
  MulInputGrad(BinaryBroadcast(ctx), input, Elements(ctx.input(static_cast<uint32_t>(input))),
               reinterpret_cast<const int8_t*>(ctx.input_data(other)), o.quantization.scale[0],
               static_cast<int32_t>(o.quantization.zero_point[0]), grad_out, grad_in);
}

}  // namespace

extern const OpRegistration kMulRegistration = {
    tflite::kMul, "MUL", Prepare, Eval, nullptr, nullptr, nullptr, nullptr,
    InputGradAt};

}  // namespace tflm_train
