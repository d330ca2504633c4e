// SGD on the trained tensors: per-channel QAS-scaled, rounded and saturated int8/int32 updates,
// with the optional float optimizer state (momentum velocity / mini-batch gradient sums) that
// lives in the persistent arena region.
#ifndef TFLM_TRAIN_RUNTIME_OPTIMIZER_H_
#define TFLM_TRAIN_RUNTIME_OPTIMIZER_H_

#include <cstdint>

#include "kernels/types.h"
#include "tflm_train/runtime/program.h"
#include "tflm_train/runtime/session.h"

namespace tflm_train {

struct OpContext;

// What one training step's updates need: the session (tensor data, program), the step's
// options and the stochastic-rounding generator state (advanced by every rounded update).
struct Optimizer {
  Session* session;
  uint8_t* arena;
  const TrainOptions* options;
  uint32_t* rng_state;
};

// The gradient to apply now for `count` parameters (g itself, or the summed state at the last
// sample of a mini-batch), or null when this sample only accumulates.
const float* OptimizerGradient(const Optimizer& opt, float* g, int32_t count, float* state);

// Random draws the rounded update of `elements` parameters takes now: one each with stochastic
// rounding, none if this sample only adds to the optimizer state (has_state, not the last
// sample of its mini-batch) or with nearest rounding. The draws do not depend on the data.
int64_t UpdateDraws(const Optimizer& opt, bool has_state, int64_t elements);

// The generator state `draws` draws after `state`: where a later update's draws start when
// updates run out of order (the fused backward's channel groups, fused_backward.h).
uint32_t StateAfterDraws(uint32_t state, int64_t draws);

// Bias update of channels [c_begin, c_end) from grad [positions, stride] holding the gradients
// of channels c_offset.. (stride columns).
void UpdateBias(const Optimizer& opt, const LayerInfo& l, const float* grad, int32_t positions,
                int32_t stride, int32_t c_offset, int32_t c_begin, int32_t c_end);

// What every channel update of a layer reads from the model, read once per layer (each read
// walks the flatbuffer): elements per channel, channel 0's slice (a channel's own moves
// c_begin / c_end, ops.h) and the weights.
struct WeightChannels {
  int32_t per_channel;
  ChannelSlice slice;
  int8_t* weights;
};
WeightChannels PrepareWeightChannels(const Optimizer& opt, const LayerInfo& l,
                                     const OpContext& ctx);

// Applies (or sums, in a mini-batch) the gradient of weight channel c held in scratch.
void UpdateWeightChannel(const Optimizer& opt, const LayerInfo& l, const WeightChannels& w,
                         int32_t c, float* scratch);

// Weight update of every trained channel of layer l (op `op`), one channel at a time through
// `scratch`.
void UpdateWeights(const Optimizer& opt, const LayerInfo& l, int32_t op, const float* grad_out,
                   float* scratch);

// What UpdateConvFilterBlocks reads from the model for a layer (filter shape, input scale,
// the channel updates' part), read once by callers that run it for several channel groups.
struct ConvFilterUpdate {
  Dims filter;
  float input_scale;
  WeightChannels weights;
};
ConvFilterUpdate PrepareConvFilterUpdate(const Optimizer& opt, const LayerInfo& l,
                                         const OpContext& ctx);
// Filter gradients of conv channels [c0, c_end) from the gradient of a group of output
// channels c0.. (group_out, [positions, group] floats), each applied in channel order; as many
// channels per call as `scratch` (scratch_elements floats, at least one channel) holds.
void UpdateConvFilterBlocks(const Optimizer& opt, const LayerInfo& l, const OpContext& ctx,
                            const ConvFilterUpdate& u, const Dims& input_dims, const int8_t* input,
                            const Dims& group_out, const float* group_grad, int32_t c0,
                            int32_t c_end, float* scratch, int64_t scratch_elements);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_OPTIMIZER_H_
