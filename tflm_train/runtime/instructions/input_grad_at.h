// INPUT_GRAD_AT: the gradient of one input of an op with several (CONCATENATION, MUL, SUB).
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_INPUT_GRAD_AT_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_INPUT_GRAD_AT_H_

#include "tflm_train/runtime/instruction.h"
#include "tflm_train/runtime/stream_chain.h"

namespace tflm_train {

struct InputGradAtInstruction {
  using A = InputGradAtArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const int32_t* a = ins.args;
    if (!(IsBackward<A>(c, ins) && IsOp(*c.program, a[A::kOp]))) {
      return InstructionMismatch(c, ins);
    }
    const OpContext ctx = c.op(a[A::kOp]);
    const int32_t input = a[A::kInput];
    const bool ok =
        ctx.state->registration->input_grad_at != nullptr && input >= 0 &&
        static_cast<uint32_t>(input) < ctx.op.inputs().size() && ctx.op.inputs()[input] >= 0 &&
        GradientOf(c, a[A::kGradOut], ctx.output_id(0)) &&
        GradientOf(c, a[A::kGradIn], ctx.op.inputs()[input]) &&
        // MUL's gradient of one operand reads the other (2 inputs: checked at Prepare)
        (ctx.state->registration->builtin_code != tflite::kMul ||
         OpInputReadable(*c.session, a[A::kOp], 1 - input));
    return ok ? Status::kOk : InstructionMismatch(c, ins);
  }
  static Status Run(const RunContext& r, const Instruction& ins) {
    const int32_t* a = ins.args;
    const OpContext ctx = r.op(a[A::kOp]);
    ctx.state->registration->input_grad_at(ctx, r.data<const float>(a[A::kGradOut]),
                                           a[A::kInput], r.data<float>(a[A::kGradIn]));
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_INPUT_GRAD_AT_H_
