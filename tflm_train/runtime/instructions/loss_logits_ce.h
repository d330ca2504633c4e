// LOSS_LOGITS_CE: softmax cross-entropy from int8 logits.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_LOGITS_CE_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_LOGITS_CE_H_

#include "kernels/training/softmax_cross_entropy.h"
#include "tflm_train/runtime/instructions/loss.h"

namespace tflm_train {

struct LossLogitsCeInstruction : LossInstruction<false> {
  using A = LossLogitsCeArgs;
  static Status Run(const RunContext& r, const Instruction& ins) {
    const int32_t* a = ins.args;
    const TensorInfo logits = r.session->tensor(a[A::kLogits]);
    SoftmaxCrossEntropyFromInt8Logits(r.program->header().num_classes,
                                      r.data<const int8_t>(a[A::kLogits]),
                                      logits.quantization.scale[0], 1.0f, r.label,
                                      r.data<float>(a[A::kGrad]), r.loss);
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_LOGITS_CE_H_
