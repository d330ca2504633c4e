// The check GRAD_ACCUMULATE and GRAD_COPY share: two extra float tensors of equal size.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_GRAD_PAIR_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_GRAD_PAIR_H_

#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

// The base of GRAD_ACCUMULATE and GRAD_COPY, whose arguments are alike: (src, dst).
struct GradPairInstruction {
  using A = GradCopyArgs;
  static_assert(int32_t{GradAccumulateArgs::kSrc} == A::kSrc &&
                    int32_t{GradAccumulateArgs::kDst} == A::kDst &&
                    int32_t{GradAccumulateArgs::kCount} == A::kCount,
                "the gradient pair opcodes share one argument layout");
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const int32_t src = ins.args[A::kSrc], dst = ins.args[A::kDst];
    const bool ok = IsBackward<A>(c, ins) && ExtraFloat(*c.program, src, 1) &&
                    ExtraFloat(*c.program, dst, 1) &&
                    ExtraElements(*c.program, src) == ExtraElements(*c.program, dst);
    return ok ? Status::kOk : InstructionMismatch(c, ins);
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_GRAD_PAIR_H_
