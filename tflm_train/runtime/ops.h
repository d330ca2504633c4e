// Op registrations in TFLM style: prepare (checks shapes, fills OpState) and eval (no
// allocation), plus the backward hooks a trainable or differentiable op provides.
#ifndef TFLM_TRAIN_RUNTIME_OPS_H_
#define TFLM_TRAIN_RUNTIME_OPS_H_

#include <cstdint>

#include "kernels/broadcast.h"
#include "kernels/quant_math.h"
#include "kernels/types.h"
#include "kernels/training/sgd_update.h"
#include "tflm_train/runtime/session.h"

namespace tflm_train {

struct OpContext {
  Session* session;
  int32_t index;
  OperatorView op;
  OpState* state;
  // Per-channel multipliers then shifts, in place in the training program (flash), or null;
  // checked against the op's scales by its Prepare (channel_data.h).
  const int32_t* channel_data;

  int32_t input_id(uint32_t i) const { return op.inputs()[i]; }
  int32_t output_id(uint32_t i) const { return op.outputs()[i]; }
  TensorInfo input(uint32_t i) const { return session->tensor(input_id(i)); }
  TensorInfo output(uint32_t i) const { return session->tensor(output_id(i)); }
  uint8_t* input_data(uint32_t i) const { return session->data(input_id(i)); }
  uint8_t* output_data(uint32_t i) const { return session->data(output_id(i)); }
};

struct OpRegistration {
  int32_t builtin_code;
  const char* name;
  Status (*prepare)(OpContext& ctx, ErrorMessage* err);
  void (*eval)(const OpContext& ctx);
  // Gradient w.r.t. input 0 (float, real values); null when the op has no backward.
  void (*input_grad)(const OpContext& ctx, const float* grad_out, const float* filter_scales,
                     float* grad_in);
  // Weight gradient of one output channel into `grad` (weight_grad_elements floats); the
  // slice describes where that channel's weights lie, for the update kernel: channel 0's
  // slice with c_begin / c_end moved to the channel (the optimizer reads it once per layer).
  void (*weight_grad)(const OpContext& ctx, const float* grad_out, int32_t channel, float* grad);
  int32_t (*weight_grad_elements)(const OpContext& ctx);
  ChannelSlice (*weight_slice)(const OpContext& ctx, int32_t channel);
  // Gradient w.r.t. input `input` for ops with several differentiable inputs (CONCATENATION,
  // MUL, SUB); null otherwise.
  void (*input_grad_at)(const OpContext& ctx, const float* grad_out, int32_t input,
                        float* grad_in);
};

const OpRegistration* FindRegistration(int32_t builtin_code);

// Helpers shared by the op files.
Dims ToDims(const TensorInfo& t);   // NHWC, leading dims padded with 1
int32_t Elements(const TensorInfo& t);
Status CheckInt8Quantized(const TensorInfo& t, const char* what, int32_t op, ErrorMessage* err);
// Fused activation code of the schema as the kernels' enum (TANH/SIGN_BIT are rejected).
Status ToActivation(int8_t code, int32_t op, FusedActivation* out, ErrorMessage* err);
// Per-channel float scales of a weight tensor (1 or `channels` entries), read in place.
Status WeightScales(const TensorInfo& w, int32_t channels, int32_t op, const float** scales,
                    int32_t* count, ErrorMessage* err);
// Weights of a conv-like op: per-channel scales (read in place) and the stored `out_channels`
// multipliers and shifts, verified against input 0's and output 0's scales (both already checked
// int8-quantised); also checks the optional bias.
struct WeightQuant {
  const float* scales;
  int32_t num_scales;
  PerChannelQuant quant;
};
Status PrepareWeights(const OpContext& ctx, const char* name, int32_t out_channels,
                      WeightQuant* out, ErrorMessage* err);
// CheckInt8Quantized with the message naming the op and the operand ("ADD input 2").
Status CheckInt8Operand(const TensorInfo& t, const char* op_name, const char* role, int32_t op,
                        ErrorMessage* err);
// The operands every weighted op (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) checks first:
// input, `weights` (what the op calls input 1: "filter", "weights")[, bias] and 1 output; input
// and output int8-quantised.
Status CheckWeightedOpOperands(const OpContext& ctx, const char* name, const char* weights,
                               ErrorMessage* err);
// AVERAGE_POOL_2D and MAX_POOL_2D: int8 4-D input and output with equal quantisation, Pool2D
// options, output size matching the window; fills ctx.state->pool.
Status PreparePool2D(OpContext& ctx, const char* name, ErrorMessage* err);
// Element-wise ops on one operand (activations): 1 input and 1 output, both int8-quantised and
// with as many elements.
Status PrepareUnary(const OpContext& ctx, const char* name, ErrorMessage* err);
// Element-wise ops on two operands (SUB, MUL, MAXIMUM, MINIMUM, PRELU): 2 inputs and 1 output,
// all int8-quantised, the output shaped as the inputs' NumPy broadcast. Shapes that differ must
// broadcast within max_broadcast_rank dimensions (TFLM's limit for the op); equal shapes may
// have any rank. *broadcast: 1 when the input shapes differ (TFLM's requires_broadcast).
Status PrepareBinary(const OpContext& ctx, const char* name, int32_t max_broadcast_rank,
                     int32_t* broadcast, ErrorMessage* err);
// ADD and SUB: the fused activation and the rescaling of both inputs into ctx.state->add.params,
// refusing scales whose rescaling factor would reach 1 (defined in op_add.cc).
Status PrepareAddSubRescaling(OpContext& ctx, const char* name, int8_t fused_activation,
                              ErrorMessage* err);
// LOGISTIC and TANH: the 4-integer-bit input rescaling into ctx.state->sigmoid, refusing the
// input scales where TFLM's computation is undefined (defined in op_logistic.cc).
Status PrepareSigmoidInput(OpContext& ctx, const char* name, ErrorMessage* err);
// The broadcast of inputs 0 and 1 (checked by PrepareBinary when they differ); for equal shapes
// one flat dimension.
Broadcast BinaryBroadcast(const OpContext& ctx);
// Eval of the ops that keep the bytes and change only the shape (RESHAPE, SQUEEZE,
// EXPAND_DIMS): a copy, or nothing when the planner gave input and output one buffer.
void EvalSameBytes(const OpContext& ctx);
// Whether input i is constant data in the model (not planned in the arena).
bool IsConstantInput(const OpContext& ctx, uint32_t i);
// The optional int32 bias (input 2), or null.
const int32_t* OptionalBias(const OpContext& ctx);
Status CheckConstant(const Session& s, int32_t tensor, int8_t type, int64_t elements,
                     const char* what, int32_t op, ErrorMessage* err);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_OPS_H_
