// BIAS_UPDATE: a layer's bias gradient (summed over positions) applied by the optimizer.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_BIAS_UPDATE_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_BIAS_UPDATE_H_

#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

struct BiasUpdateInstruction {
  using A = BiasUpdateArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const int32_t* a = ins.args;
    const bool ok = IsBackward<A>(c, ins) &&
                    LayerFits(*c.session, a[A::kLayer], a[A::kOp], true) &&
                    GradientOf(c, a[A::kGradOut], c.op(a[A::kOp]).output_id(0));
    return ok ? Status::kOk : InstructionMismatch(c, ins);
  }
  static Status Run(const RunContext& r, const Instruction& ins) {
    const int32_t* a = ins.args;
    const LayerInfo l = r.program->layer(a[A::kLayer]);
    const int32_t positions = static_cast<int32_t>(
        r.session->model_tensor_bytes(
            r.session->subgraph().op(static_cast<uint32_t>(a[A::kOp])).outputs()[0]) /
        l.out_channels);
    UpdateBias(r.optimizer, l, r.data<const float>(a[A::kGradOut]), positions, l.out_channels,
               0, 0, l.out_channels);
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_BIAS_UPDATE_H_
