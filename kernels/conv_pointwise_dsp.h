// DSP-path specialisation of CONV_2D for 1x1 filters without groups (pointwise convolution,
// most of a MobileNet's instructions). The reference structure spends most of its time per
// output (window planning, short dot products, a general requantisation); here four output
// positions go together: their inputs are widened once into 16-bit pairs with the input
// offset added, then every output channel runs one multiply-accumulate loop over them (each
// filter word loaded and widened once for the four positions) and a requantisation whose
// per-channel constants were split once per call (DoubledRequant in quant_math.h).
// Only built on the DSP path (kernel_path.h); ConvInt8Rows computes every shape this does not
// handle.
#ifndef TFLM_TRAIN_KERNELS_CONV_POINTWISE_DSP_H_
#define TFLM_TRAIN_KERNELS_CONV_POINTWISE_DSP_H_

#include <cstdint>

#include "kernels/kernel_path.h"
#include "kernels/types.h"

namespace tflm_train {

// The scratch layout, here so that every build (and the converter's plan) sizes it alike.
constexpr int32_t kConvPointwiseDspSliceGroups = 32;  // 4-channel groups widened at once
constexpr int32_t kConvPointwiseDspChunk = 32;        // output channels prepared at once
constexpr int32_t kConvPointwiseDspChannelBytes = 48;

// Scratch bytes ConvPointwiseDsp needs for a convolution of these dims (0 when it never takes
// the shape): the widened inputs of one slice (32 bytes per 4-channel group) and, per output
// channel of a chunk, its entry and its start (48 bytes planned, 44 used), plus the list's
// end. Defined on every build, so that the host plans and checks what the board needs.
inline int32_t ConvPointwiseDspGetBufferSize(const Dims& input_dims, const Dims& filter_dims,
                                             const Dims& output_dims) {
  if (filter_dims.h != 1 || filter_dims.w != 1 || filter_dims.c != input_dims.c ||
      input_dims.c < 4 || output_dims.c <= 0) {
    return 0;
  }
  const int32_t groups = input_dims.c / 4;
  const int32_t slice = groups < kConvPointwiseDspSliceGroups ? groups
                                                              : kConvPointwiseDspSliceGroups;
  const int32_t chunk = output_dims.c < kConvPointwiseDspChunk ? output_dims.c
                                                               : kConvPointwiseDspChunk;
  return 32 * slice + kConvPointwiseDspChannelBytes * (chunk + 1);
}

#if TFLM_TRAIN_KERNELS_DSP
// Computes the whole convolution and returns true, or returns false (nothing written) when the
// shape is not a pointwise one it handles: a filter other than 1x1, groups, fewer than 4 input
// channels, padding, or an input or output zero point outside int8. Same bytes as the
// reference: the same exact int32 sums, only regrouped, and the same requantisation.
// scratch: ConvPointwiseDspGetBufferSize bytes, 8-byte aligned.
bool ConvPointwiseDsp(const ConvParams& params, const PerChannelQuant& quant,
                      const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                      const FilterRows& filter, const int32_t* bias, const Dims& output_dims,
                      int8_t* output, void* scratch);
#endif

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_CONV_POINTWISE_DSP_H_
