// LOSS_SOFTMAX_CE: cross-entropy of the model's final SOFTMAX, taken from the int8 logits it reads
// (the softmax folded into the loss; why not from its int8 probabilities: softmax_cross_entropy.h).
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_SOFTMAX_CE_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_SOFTMAX_CE_H_

#include "kernels/training/softmax_cross_entropy.h"
#include "tflm_train/runtime/instructions/loss.h"

namespace tflm_train {

struct LossSoftmaxCeInstruction : LossInstruction<true> {
  using A = LossSoftmaxCeArgs;
  static Status Run(const RunContext& r, const Instruction& ins) {
    const int32_t* a = ins.args;
    const Session& s = *r.session;
    const int32_t op = FinalSoftmaxOf(s, r.program->header().output_tensor, a[A::kLogits]);
    SoftmaxOptions opts;
    s.subgraph().op(static_cast<uint32_t>(op)).GetOptions(&opts);  // Check found the op
    const TensorInfo logits = s.tensor(a[A::kLogits]);
    SoftmaxCrossEntropyFromInt8Logits(r.program->header().num_classes,
                                      r.data<const int8_t>(a[A::kLogits]),
                                      logits.quantization.scale[0], opts.beta, r.label,
                                      r.data<float>(a[A::kGrad]), r.loss);
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_SOFTMAX_CE_H_
