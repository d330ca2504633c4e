// The loss instructions' shared check: the model's int8 output and a float gradient of
// num_classes elements, after the forward pass.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_H_

#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

// The base of LOSS_SOFTMAX_CE, LOSS_LOGITS_CE and LOSS_MSE, whose arguments are alike: (the
// model's int8 output, its float gradient).
struct LossInstruction {
  using A = LossMseArgs;
  static_assert(int32_t{LossSoftmaxCeArgs::kProbs} == A::kPrediction &&
                    int32_t{LossLogitsCeArgs::kLogits} == A::kPrediction &&
                    int32_t{LossSoftmaxCeArgs::kGrad} == A::kGrad &&
                    int32_t{LossLogitsCeArgs::kGrad} == A::kGrad &&
                    int32_t{LossSoftmaxCeArgs::kCount} == A::kCount &&
                    int32_t{LossLogitsCeArgs::kCount} == A::kCount,
                "the loss opcodes share one argument layout");
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const ProgramHeader& h = c.header();
    const int32_t out = ins.args[A::kPrediction];
    const bool ok = IsBackward<A>(c, ins) && out == h.output_tensor &&
                    IsInt8ModelTensor(c, out) && ModelElements(*c.session, out) == h.num_classes &&
                    ExtraFloat(*c.program, ins.args[A::kGrad], h.num_classes);
    return ok ? Status::kOk : InstructionMismatch(c, ins);
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_H_
