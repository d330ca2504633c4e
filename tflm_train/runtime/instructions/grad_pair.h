// The check GRAD_ACCUMULATE and GRAD_COPY share: two extra float tensors of equal size.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_GRAD_PAIR_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_GRAD_PAIR_H_

#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

inline Status CheckGradPair(const CheckContext& c, const Instruction& ins) {
  const int32_t* a = ins.args;
  const bool ok = ins.num_args == 2 && !c.in_forward() && ExtraFloat(*c.program, a[0], 1) &&
                  ExtraFloat(*c.program, a[1], 1) &&
                  ExtraElements(*c.program, a[0]) == ExtraElements(*c.program, a[1]);
  return ok ? Status::kOk : InstructionMismatch(c, ins);
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_GRAD_PAIR_H_
