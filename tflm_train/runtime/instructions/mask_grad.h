// MASK_GRAD: an activation's backward from the bits SAVE_MASK kept of its output.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_MASK_GRAD_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_MASK_GRAD_H_

#include "kernels/training/activation_grad.h"
#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

struct MaskGradInstruction {
  using A = MaskGradArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const int32_t* a = ins.args;
    const int32_t out = a[A::kOutput];
    const bool ok = IsBackward<A>(c, ins) && IsInt8ModelTensor(c, out) &&
                    GradientOf(c, a[A::kGrad], out) && MaskOf(c, a[A::kMask], out);
    return ok ? Status::kOk : InstructionMismatch(c, ins);
  }
  static Status Run(const RunContext& r, const Instruction& ins) {
    const int32_t* a = ins.args;
    float* grad = r.data<float>(a[A::kGrad]);
    ActivationGradFromMask(static_cast<int32_t>(r.session->model_tensor_bytes(a[A::kOutput])),
                           r.data<const uint8_t>(a[A::kMask]), grad, grad);
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_MASK_GRAD_H_
