#include "tflm_train/runtime/channel_data.h"

#include "kernels/quant_math.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {

Status VerifyChannelData(const OpContext& ctx, const char* name, float input_scale,
                         const float* filter_scales, int32_t num_filter_scales,
                         float output_scale, int32_t channels, PerChannelQuant* out,
                         ErrorMessage* err) {
  const long op = ctx.index;
  const int32_t* words = ctx.session->program().ChannelData(ctx.index, 2 * channels);
  TT_ENSURE(err, channels > 0 && words != nullptr && words == ctx.channel_data,
            Status::kInvalidModel,
            "op %ld (%s): the training program holds no %ld per-channel requantisation words "
            "for it", op, name, static_cast<long>(2 * channels));
  const int32_t* multiplier = words;
  const int32_t* shift = words + channels;
  for (int32_t c = 0; c < channels; ++c) {
    // One channel through the very function the kernels' Prepare uses (a single broadcast
    // scale), so no out_channels-sized scratch is needed to compare.
    const float* fs = num_filter_scales > 1 ? filter_scales + c : filter_scales;
    int32_t m = 0, s = 0;
    PerChannelMultipliers(input_scale, fs, 1, output_scale, 1, &m, &s);
    TT_ENSURE(err, multiplier[c] == m && shift[c] == s, Status::kInvalidModel,
              "op %ld (%s): stored requantisation of output channel %ld (multiplier %ld, shift "
              "%ld) differs from the model's scales (%ld, %ld): stale or corrupted file",
              op, name, static_cast<long>(c), static_cast<long>(multiplier[c]),
              static_cast<long>(shift[c]), static_cast<long>(m), static_cast<long>(s));
  }
  *out = PerChannelQuant{multiplier, shift};
  return Status::kOk;
}

}  // namespace tflm_train
