// The loss instructions' shared check: the model's int8 output (or the int8 input of a final
// DEQUANTIZE) and a float gradient of num_classes elements, after the forward pass.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_H_

#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

// The op of subgraph 0 whose single output is tensor t, or -1.
inline int32_t ProducerOf(const Session& session, int32_t t) {
  const SubgraphView& sg = session.subgraph();
  for (uint32_t i = 0; i < sg.num_operators(); ++i) {
    const OperatorView op = sg.op(i);
    if (op.outputs().size() == 1 && op.outputs()[0] == t) return static_cast<int32_t>(i);
  }
  return -1;
}

// The int8 tensor the model's result is read from: the output, or, when the output is float32
// made by a final DEQUANTIZE (a float-I/O model), that DEQUANTIZE's int8 input. The loss then
// works on int8 values in every model, so one set of int8 loss kernels serves both.
inline int32_t Int8Result(const Session& session, int32_t output) {
  const int32_t op = ProducerOf(session, output);
  if (op < 0 || session.builtin_code(op) != tflite::kDequantize) return output;
  const OperatorView v = session.subgraph().op(static_cast<uint32_t>(op));
  return v.inputs().size() == 1 ? v.inputs()[0] : -1;
}

// The final SOFTMAX reading logits t (it makes the int8 result), or -1.
inline int32_t FinalSoftmaxOf(const Session& session, int32_t output, int32_t t) {
  const int32_t op = ProducerOf(session, Int8Result(session, output));
  if (op < 0 || session.builtin_code(op) != tflite::kSoftmax) return -1;
  const OperatorView v = session.subgraph().op(static_cast<uint32_t>(op));
  return v.inputs().size() == 1 && v.inputs()[0] == t ? op : -1;
}

// Whether the loss may read tensor t: the int8 result, or the logits a final SOFTMAX reads when
// the loss folds that softmax in (LOSS_SOFTMAX_CE).
inline bool IsLossInput(const CheckContext& c, int32_t t, bool through_softmax) {
  const int32_t out = c.header().output_tensor;
  return through_softmax ? FinalSoftmaxOf(*c.session, out, t) >= 0
                         : t == Int8Result(*c.session, out);
}

// The base of LOSS_SOFTMAX_CE, LOSS_LOGITS_CE and LOSS_MSE, whose arguments are alike: (the
// loss input (IsLossInput), its float gradient). kThroughSoftmax: the input is the logits of the
// final SOFTMAX, not the result itself.
template <bool kThroughSoftmax>
struct LossInstruction {
  using A = LossMseArgs;
  static_assert(int32_t{LossSoftmaxCeArgs::kLogits} == A::kPrediction &&
                    int32_t{LossLogitsCeArgs::kLogits} == A::kPrediction &&
                    int32_t{LossSoftmaxCeArgs::kGrad} == A::kGrad &&
                    int32_t{LossLogitsCeArgs::kGrad} == A::kGrad &&
                    int32_t{LossSoftmaxCeArgs::kCount} == A::kCount &&
                    int32_t{LossLogitsCeArgs::kCount} == A::kCount,
                "the loss opcodes share one argument layout");
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const ProgramHeader& h = c.header();
    const int32_t out = ins.args[A::kPrediction];
    const bool ok = IsBackward<A>(c, ins) && IsLossInput(c, out, kThroughSoftmax) &&
                    IsInt8ModelTensor(c, out) && ModelElements(*c.session, out) == h.num_classes &&
                    ExtraFloat(*c.program, ins.args[A::kGrad], h.num_classes);
    return ok ? Status::kOk : InstructionMismatch(c, ins);
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_LOSS_H_
