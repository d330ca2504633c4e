// ACTIVATION_GRAD: a fused ReLU/ReLU6's backward from its saved int8 output.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_ACTIVATION_GRAD_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_ACTIVATION_GRAD_H_

#include "kernels/training/activation_grad.h"
#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

struct ActivationGradInstruction {
  using A = ActivationGradArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const int32_t* a = ins.args;
    const int32_t out = a[A::kOutput];
    const bool ok = IsBackward<A>(c, ins) && IsInt8ModelTensor(c, out) &&
                    GradientOf(c, a[A::kGrad], out) && c.program->model_offset(out) >= 0;
    return ok ? Status::kOk : InstructionMismatch(c, ins);
  }
  static Status Run(const RunContext& r, const Instruction& ins) {
    const int32_t* a = ins.args;
    float* grad = r.data<float>(a[A::kGrad]);
    ActivationGrad(static_cast<int32_t>(r.session->model_tensor_bytes(a[A::kOutput])),
                   r.data<const int8_t>(a[A::kOutput]), a[A::kLo], a[A::kHi], grad, grad);
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_ACTIVATION_GRAD_H_
