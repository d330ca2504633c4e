// Per-channel requantisation data of CONV_2D / DEPTHWISE_CONV_2D / per-channel FULLY_CONNECTED,
// read in place from the training program (flash) instead of being computed into SRAM.
#ifndef TFLM_TRAIN_RUNTIME_CHANNEL_DATA_H_
#define TFLM_TRAIN_RUNTIME_CHANNEL_DATA_H_

#include <cstdint>

#include "kernels/types.h"
#include "tflm_train/runtime/status.h"

namespace tflm_train {

struct OpContext;

// The op's stored multipliers and shifts for `channels` output channels, after checking every
// channel against PerChannelMultipliers (the kernels' own Prepare arithmetic): a stale or hostile
// file cannot make the kernels requantise with values the model's scales do not give.
// filter_scales has 1 (broadcast) or `channels` entries. `name` is the op's name for messages.
Status VerifyChannelData(const OpContext& ctx, const char* name, float input_scale,
                         const float* filter_scales, int32_t num_filter_scales,
                         float output_scale, int32_t channels, PerChannelQuant* out,
                         ErrorMessage* err);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_CHANNEL_DATA_H_
