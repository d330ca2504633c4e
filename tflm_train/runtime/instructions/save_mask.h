// SAVE_MASK: during the forward pass, 1 bit per element of an int8 activation output (inside
// the activation's range), so the int8 tensor need not live until the backward pass.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_SAVE_MASK_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_SAVE_MASK_H_

#include "kernels/training/activation_grad.h"
#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

struct SaveMaskInstruction {
  using A = SaveMaskArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const int32_t* a = ins.args;
    const int32_t out = a[A::kOutput];
    const bool ok = IsForward<A>(c, ins) && IsInt8ModelTensor(c, out) &&
                    c.program->model_offset(out) >= 0 && MaskOf(c, a[A::kMask], out);
    return ok ? Status::kOk : InstructionMismatch(c, ins);
  }
  static Status Run(const RunContext& r, const Instruction& ins) {
    if (r.options() == nullptr) return Status::kOk;  // inference: nothing will read the mask
    const int32_t* a = ins.args;
    ActivationMaskSave(static_cast<int32_t>(r.session->model_tensor_bytes(a[A::kOutput])),
                       r.data<const int8_t>(a[A::kOutput]), a[A::kLo], a[A::kHi],
                       r.data<uint8_t>(a[A::kMask]));
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_SAVE_MASK_H_
