// GRAD_ACCUMULATE: dst += src, for a tensor read by several ops (their gradients summed).
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_GRAD_ACCUMULATE_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_GRAD_ACCUMULATE_H_

#include "kernels/training/grad_accumulate.h"
#include "tflm_train/runtime/instructions/grad_pair.h"

namespace tflm_train {

struct GradAccumulateInstruction : GradPairInstruction {
  using A = GradAccumulateArgs;
  static Status Run(const RunContext& r, const Instruction& ins) {
    const int32_t* a = ins.args;
    GradAccumulate(static_cast<int32_t>(ExtraElements(*r.program, a[A::kSrc])),
                   r.data<const float>(a[A::kSrc]), r.data<float>(a[A::kDst]));
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_GRAD_ACCUMULATE_H_
