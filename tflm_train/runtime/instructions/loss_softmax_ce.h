// LOSS_SOFTMAX_CE: cross-entropy from the int8 softmax output (the softmax folded into the loss).
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_SOFTMAX_CE_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_SOFTMAX_CE_H_

#include "kernels/training/softmax_cross_entropy.h"
#include "tflm_train/runtime/instructions/loss.h"

namespace tflm_train {

struct LossSoftmaxCeInstruction : LossInstruction {
  using A = LossSoftmaxCeArgs;
  // Probabilities are clamped below by this before the log.
  static constexpr float kProbabilityEps = 1e-7f;
  static Status Run(const RunContext& r, const Instruction& ins) {
    const int32_t* a = ins.args;
    const TensorInfo probs = r.session->tensor(a[A::kProbs]);
    SoftmaxCrossEntropyFromProbs(r.program->header().num_classes,
                                 r.data<const int8_t>(a[A::kProbs]), probs.quantization.scale[0],
                                 static_cast<int32_t>(probs.quantization.zero_point[0]), r.label,
                                 kProbabilityEps, r.data<float>(a[A::kGrad]), r.loss);
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_SOFTMAX_CE_H_
