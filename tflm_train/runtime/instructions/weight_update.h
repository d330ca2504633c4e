// WEIGHT_UPDATE: a layer's weights, one output channel's gradient at a time through a scratch.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_WEIGHT_UPDATE_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_WEIGHT_UPDATE_H_

#include "tflm_train/runtime/instruction.h"
#include "tflm_train/runtime/stream_chain.h"

namespace tflm_train {

struct WeightUpdateInstruction {
  using A = WeightUpdateArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const int32_t* a = ins.args;
    bool ok = IsBackward<A>(c, ins) && LayerFits(*c.session, a[A::kLayer], a[A::kOp], false);
    if (ok) {
      const OpContext ctx = c.op(a[A::kOp]);
      ok = GradientOf(c, a[A::kGradOut], ctx.output_id(0)) && TrainsWeights(c, a[A::kLayer]) &&
           ExtraFloat(*c.program, a[A::kScratch],
                      ctx.state->registration->weight_grad_elements(ctx)) &&
           OpInputReadable(*c.session, a[A::kOp], 0);  // the gradient reads the op's input
    }
    return ok ? Status::kOk : InstructionMismatch(c, ins);
  }
  static Status Run(const RunContext& r, const Instruction& ins) {
    const int32_t* a = ins.args;
    UpdateWeights(r.optimizer, r.program->layer(a[A::kLayer]), a[A::kOp],
                  r.data<const float>(a[A::kGradOut]), r.data<float>(a[A::kScratch]));
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_WEIGHT_UPDATE_H_
