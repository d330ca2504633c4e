// INPUT_GRAD: the gradient of an op's input 0 (its registration's input_grad).
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_INPUT_GRAD_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_INPUT_GRAD_H_

#include "tflm_train/runtime/instruction.h"
#include "tflm_train/runtime/stream_chain.h"

namespace tflm_train {

// Ops whose input gradient reads their forward input again.
inline bool ReadsSavedInput(int32_t builtin_code) {
  return builtin_code == tflite::kMaxPool2D || builtin_code == tflite::kHardSwish ||
         builtin_code == tflite::kLogistic || builtin_code == tflite::kLeakyRelu;
}

struct InputGradInstruction {
  using A = InputGradArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const int32_t* a = ins.args;
    if (!(IsBackward<A>(c, ins) && IsOp(*c.program, a[A::kOp]))) {
      return InstructionMismatch(c, ins);
    }
    const OpContext ctx = c.op(a[A::kOp]);
    const TensorInfo out = ctx.output(0);
    const int32_t channels = out.shape.size() > 0 ? out.shape[out.shape.size() - 1] : 0;
    const OpRegistration* reg = ctx.state->registration;
    // Trainable ops read per-channel weight scales from the float pool.
    const bool needs_scales = reg->weight_grad != nullptr;
    const int32_t scales = a[A::kWeightScales];
    const bool ok =
        reg->input_grad != nullptr &&
        GradientOf(c, a[A::kGradOut], ctx.output_id(0)) &&
        GradientOf(c, a[A::kGradIn], ctx.input_id(0)) &&
        (needs_scales ? InFloatPool(c, scales, channels) : scales == -1) &&
        // max pooling finds the argmax again in its forward input, and the activations'
        // derivatives are functions of it; a streamed chain may have left it without storage
        (!ReadsSavedInput(reg->builtin_code) || OpInputReadable(*c.session, a[A::kOp], 0));
    return ok ? Status::kOk : InstructionMismatch(c, ins);
  }
  static Status Run(const RunContext& r, const Instruction& ins) {
    const int32_t* a = ins.args;
    const OpContext ctx = r.op(a[A::kOp]);
    ctx.state->registration->input_grad(
        ctx, r.data<const float>(a[A::kGradOut]),
        a[A::kWeightScales] >= 0 ? r.program->FloatPointer(a[A::kWeightScales]) : nullptr,
        r.data<float>(a[A::kGradIn]));
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_INPUT_GRAD_H_
