// LOSS_MSE: mean squared error of the int8 output against the step's real targets.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_MSE_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_MSE_H_

#include "kernels/training/mean_squared_error.h"
#include "tflm_train/runtime/instructions/loss.h"

namespace tflm_train {

struct LossMseInstruction : LossInstruction<false> {
  using A = LossMseArgs;
  static Status Run(const RunContext& r, const Instruction& ins) {
    const int32_t* a = ins.args;
    const TensorInfo out = r.session->tensor(a[A::kPrediction]);
    MeanSquaredErrorInt8(r.program->header().num_classes, r.data<const int8_t>(a[A::kPrediction]),
                         out.quantization.scale[0],
                         static_cast<int32_t>(out.quantization.zero_point[0]),
                         r.options()->target, r.data<float>(a[A::kGrad]), r.loss);
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_MSE_H_
