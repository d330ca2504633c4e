// SUB int8 -> int8: prepared exactly like ADD (AddPrepare), the rescaled second operand
// subtracted; equal shapes or NumPy-style broadcast up to 6-D (TFLM's BroadcastSubSlow).
#include "kernels/sub.h"
#include "kernels/training/sub_grad.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const long op = ctx.index;
  AddState& s = ctx.state->add;
  TT_RETURN_IF_ERROR(PrepareBinary(ctx, "SUB", kMaxBroadcastRank, &s.broadcast, err));
  SubOptions opts;
  TT_ENSURE(err, ctx.op.GetOptions(&opts), Status::kInvalidModel,
            "op %ld (SUB): options of another op type", op);
  FusedActivation act = FusedActivation::kNone;
  TT_RETURN_IF_ERROR(ToActivation(opts.fused_activation_function, ctx.index, &act, err));
  const TensorInfo in1 = ctx.input(0), in2 = ctx.input(1), out = ctx.output(0);
  const bool ok = AddPrepare(in1.quantization.scale[0],
                             static_cast<int32_t>(in1.quantization.zero_point[0]),
                             in2.quantization.scale[0],
                             static_cast<int32_t>(in2.quantization.zero_point[0]),
                             out.quantization.scale[0],
                             static_cast<int32_t>(out.quantization.zero_point[0]), act, &s.params);
  // As for ADD, TFLM requires every rescaling factor to be below 1.
  TT_ENSURE(err, ok, Status::kUnsupported,
            "op %ld (SUB): output scale %g is too small for input scales %g and %g (the "
            "rescaling multiplier would exceed 1)", op,
            static_cast<double>(out.quantization.scale[0]),
            static_cast<double>(in1.quantization.scale[0]),
            static_cast<double>(in2.quantization.scale[0]));
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const AddState& s = ctx.state->add;
  const int8_t* in1 = reinterpret_cast<const int8_t*>(ctx.input_data(0));
  const int8_t* in2 = reinterpret_cast<const int8_t*>(ctx.input_data(1));
  int8_t* out = reinterpret_cast<int8_t*>(ctx.output_data(0));
  if (s.broadcast) {
    SubBroadcastInt8(s.params, BinaryBroadcast(ctx), in1, in2, out);
  } else {
    SubInt8(s.params, Elements(ctx.output(0)), in1, in2, out);
  }
}

void InputGradAt(const OpContext& ctx, const float* grad_out, int32_t input, float* grad_in) {
  SubInputGrad(BinaryBroadcast(ctx), input, Elements(ctx.input(static_cast<uint32_t>(input))),
               grad_out, grad_in);
}

}  // namespace

extern const OpRegistration kSubRegistration = {
    tflite::kSub, "SUB", Prepare, Eval, nullptr, nullptr, nullptr, nullptr,
    InputGradAt};

}  // namespace tflm_train
