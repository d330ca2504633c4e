// GRAD_COPY: dst = src.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_GRAD_COPY_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_GRAD_COPY_H_

#include <cstring>

#include "tflm_train/runtime/instructions/grad_pair.h"

namespace tflm_train {

struct GradCopyInstruction : GradPairInstruction {
  using A = GradCopyArgs;
  static Status Run(const RunContext& r, const Instruction& ins) {
    const int32_t* a = ins.args;
    const int32_t n_elements = static_cast<int32_t>(ExtraElements(*r.program, a[A::kSrc]));
    memcpy(r.data<float>(a[A::kDst]), r.data<const float>(a[A::kSrc]),
           sizeof(float) * static_cast<size_t>(n_elements));
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_GRAD_COPY_H_
