// The loss instructions' shared check: the model's int8 output and a float gradient of
// num_classes elements, after the forward pass.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_H_

#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

// Both arguments (output, grad) of LOSS_SOFTMAX_CE, LOSS_LOGITS_CE and LOSS_MSE.
inline Status CheckLoss(const CheckContext& c, const Instruction& ins) {
  const ProgramHeader& h = c.header();
  const int32_t* a = ins.args;
  const bool ok = ins.num_args == 2 && !c.in_forward() && a[0] == h.output_tensor &&
                  c.session->tensor(a[0]).type == tflite::kInt8 &&
                  ModelElements(*c.session, a[0]) == h.num_classes &&
                  ExtraFloat(*c.program, a[1], h.num_classes);
  return ok ? Status::kOk : InstructionMismatch(c, ins);
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_H_
