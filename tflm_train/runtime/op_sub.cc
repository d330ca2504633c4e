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
  return PrepareAddSubRescaling(ctx, "SUB", opts.fused_activation_function, err);
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
