// The loss instructions' shared check: the model's int8 output (or the int8 input of a final
// DEQUANTIZE) and a float gradient of num_classes elements, after the forward pass.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_H_

#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

// Whether the loss may read tensor t: the model's output, or, when the output is float32 made
// by a final DEQUANTIZE (a float-I/O model), that DEQUANTIZE's int8 input. The loss then works
// on int8 values in every model, so one set of int8 loss kernels serves both.
inline bool IsLossInput(const CheckContext& c, int32_t t) {
  const int32_t out = c.header().output_tensor;
  if (t == out) return true;
  const SubgraphView& sg = c.session->subgraph();
  for (uint32_t i = 0; i < sg.num_operators(); ++i) {
    const OperatorView op = sg.op(i);
    if (op.outputs().size() == 1 && op.outputs()[0] == out) {
      return c.session->builtin_code(static_cast<int32_t>(i)) == tflite::kDequantize &&
             op.inputs().size() == 1 && op.inputs()[0] == t;
    }
  }
  return false;
}

// The base of LOSS_SOFTMAX_CE, LOSS_LOGITS_CE and LOSS_MSE, whose arguments are alike: (the
// loss input (IsLossInput), its float gradient).
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
    const bool ok = IsBackward<A>(c, ins) && IsLossInput(c, out) &&
                    IsInt8ModelTensor(c, out) && ModelElements(*c.session, out) == h.num_classes &&
                    ExtraFloat(*c.program, ins.args[A::kGrad], h.num_classes);
    return ok ? Status::kOk : InstructionMismatch(c, ins);
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_H_
