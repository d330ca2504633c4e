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

// Both arguments (output, grad) of LOSS_SOFTMAX_CE, LOSS_LOGITS_CE and LOSS_MSE.
inline Status CheckLoss(const CheckContext& c, const Instruction& ins) {
  const ProgramHeader& h = c.header();
  const int32_t* a = ins.args;
  const bool ok = ins.num_args == 2 && !c.in_forward() && IsLossInput(c, a[0]) &&
                  c.session->tensor(a[0]).type == tflite::kInt8 &&
                  ModelElements(*c.session, a[0]) == h.num_classes &&
                  ExtraFloat(*c.program, a[1], h.num_classes);
  return ok ? Status::kOk : InstructionMismatch(c, ins);
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_H_
