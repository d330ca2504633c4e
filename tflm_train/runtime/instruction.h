// What every instruction kind (instructions/<name>.h) sees: the context of its check, run once
// per instruction when the session opens, and of its run, plus the checks they share.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTION_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTION_H_

#include <cstdint>

#include "tflm_train/runtime/ops.h"
#include "tflm_train/runtime/optimizer.h"
#include "tflm_train/runtime/program.h"
#include "tflm_train/runtime/session.h"
#include "tflm_train/runtime/status.h"

namespace tflm_train {

struct CheckContext {
  Session* session;
  const Program* program;
  int32_t index;  // position of the instruction in the stream
  ErrorMessage* err;

  const ProgramHeader& header() const { return program->header(); }
  bool in_forward() const { return index < header().n_forward; }
  OpContext op(int32_t op_index) const {
    return OpContext{session, op_index, session->subgraph().op(static_cast<uint32_t>(op_index)),
                     session->op_state(op_index), session->op_channel_data(op_index)};
  }
};

struct RunContext {
  Session* session;
  const Program* program;
  Optimizer optimizer;  // its options are null when running inference
  int32_t label;
  float* loss;
  ErrorMessage* err;

  const TrainOptions* options() const { return optimizer.options; }
  OpContext op(int32_t op_index) const {
    return OpContext{session, op_index, session->subgraph().op(static_cast<uint32_t>(op_index)),
                     session->op_state(op_index), session->op_channel_data(op_index)};
  }
  template <typename T>
  T* data(int32_t tensor) const {
    return reinterpret_cast<T*>(session->data(tensor));
  }
};

// The message of an instruction whose arguments do not fit the model; `name` (the opcode's
// name) where the instruction is one of the fused kinds, whose number alone says little.
Status InstructionMismatch(const CheckContext& c, const Instruction& ins,
                           const char* name = nullptr);

// The extra tensor a SAVE_CHANNELS of the forward part fills from int8 model tensor `src`, with
// its channel count in *channels; -1 when there is none (then `src` itself lives until the
// backward pass that reads it).
int32_t SavedChannelsOf(const Program& program, int32_t src, int32_t* channels);

// Tensor t is one of the program's extra (non-model) tensors, of `type`, with at least
// `elements` elements.
bool ExtraTensorFits(const Program& program, int32_t t, DType type, int64_t elements);
// An extra float tensor of at least `elements` elements.
inline bool ExtraFloat(const Program& program, int32_t t, int64_t elements) {
  return ExtraTensorFits(program, t, DType::kFloat32, elements);
}
// An extra int8 tensor holding 1 bit per element of `elements`.
inline bool ExtraBits(const Program& program, int32_t t, int64_t elements) {
  return ExtraTensorFits(program, t, DType::kInt8, (elements + 7) / 8);
}
// Elements of extra tensor t (0 for -1 or a model tensor).
inline int64_t ExtraElements(const Program& program, int32_t t) {
  const ProgramHeader& h = program.header();
  if (t < h.n_model_tensors || t >= h.n_model_tensors + h.n_extra) return 0;
  return program.extra(t - h.n_model_tensors).elements;
}
// Elements of int8 model tensor t (its bytes), or -1 when t is not a model tensor.
int64_t ModelElements(const Session& session, int32_t t);
inline bool IsModelTensor(const Program& program, int32_t t) {
  return t >= 0 && t < program.header().n_model_tensors;
}
// An op the program may run (in range and prepared: not folded at convert time).
inline bool IsOp(const Program& program, int32_t op) {
  return op >= 0 && op < program.header().n_ops && !program.folded(op);
}
// Layer `layer` trains op `op_index` (a trainable op whose tensors match the layer's), with a
// bias the update can use if `bias`.
bool LayerFits(const Session& session, int32_t layer, int32_t op_index, bool bias);

// The steps the instruction checks share. Each takes the instruction's own argument, so a
// check still reads as the list of what its opcode requires.

// The instruction has the argument count of A (its opcode's generated arguments) and sits in
// the forward part of the stream (IsForward) or after it (IsBackward).
template <typename A>
bool IsForward(const CheckContext& c, const Instruction& ins) {
  return ins.num_args == A::kCount && c.in_forward();
}
template <typename A>
bool IsBackward(const CheckContext& c, const Instruction& ins) {
  return ins.num_args == A::kCount && !c.in_forward();
}
// Op `op` exists and is a `builtin_code` op.
inline bool IsOpOf(const CheckContext& c, int32_t op, int32_t builtin_code) {
  return IsOp(*c.program, op) &&
         c.session->op_state(op)->registration->builtin_code == builtin_code;
}
// Model tensor t holds int8 values (an activation output the backward reads again).
inline bool IsInt8ModelTensor(const CheckContext& c, int32_t t) {
  return IsModelTensor(*c.program, t) && c.session->tensor(t).type == tflite::kInt8;
}
// Extra tensor `grad` is a float gradient of model tensor t: an element per element of t.
inline bool GradientOf(const CheckContext& c, int32_t grad, int32_t t) {
  return ExtraFloat(*c.program, grad, ModelElements(*c.session, t));
}
// Extra tensor `mask` holds a bit per element of model tensor t.
inline bool MaskOf(const CheckContext& c, int32_t mask, int32_t t) {
  return ExtraBits(*c.program, mask, ModelElements(*c.session, t));
}
// Floats [index, index + count) lie in the program's float pool (per-channel weight scales).
inline bool InFloatPool(const CheckContext& c, int32_t index, int64_t count) {
  return index >= 0 && index + count <= c.header().n_floats;
}
// `layer` (-1: none) is a layer of the program that updates weight channels.
inline bool TrainsWeights(const CheckContext& c, int32_t layer) {
  return layer >= 0 && layer < c.header().n_layers && c.program->layer(layer).weight_channels > 0;
}
// `layer` is -1 (op `op` is not trained) or a layer that trains op `op`, with its bias if the
// layer updates it.
inline bool OptionalLayerFits(const CheckContext& c, int32_t layer, int32_t op) {
  if (layer == -1) return true;
  return layer >= 0 && layer < c.header().n_layers &&
         LayerFits(*c.session, layer, op, c.program->layer(layer).update_bias != 0);
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTION_H_
