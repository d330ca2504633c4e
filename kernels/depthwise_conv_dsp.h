// DSP-path specialisation of DEPTHWISE_CONV_2D for depth multiplier 1 (MobileNet / MCUNet):
// four channels at a time. The positions whose whole window lies inside the input (the interior
// rectangle, computed once per call) run without bounds checks or per-position window planning;
// border columns of longer interiors run the same loop down the column with shifted weights;
// the remaining border positions take their in-bounds taps. Only built on the DSP path
// (kernel_path.h); DepthwiseConvInt8 (the reference structure) computes the last out_c % 4
// channels and every shape this does not handle. Channel groups that requantise doubled take
// the pair path (depthwise_conv_pair_dsp.h) for the shapes its PairShape accepts;
// depthwise_dsp_common.h holds what both paths share.
#ifndef TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_DSP_H_
#define TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_DSP_H_

#include <cstdint>

#include "kernels/kernel_path.h"
#include "kernels/types.h"

namespace tflm_train {

// The scratch layout (depthwise_dsp_common.h's Group, then a patch of padded input rows), here
// so that every build (and the converter's plan) sizes it alike.
constexpr int32_t kDepthwiseDspMaxPaddedTaps = 120;  // kh * (kw + 2 * (kw / 2)) at most
constexpr int32_t kDepthwiseDspGroupBytes = 8 * kDepthwiseDspMaxPaddedTaps + 16 + 16 + 48 + 48;
constexpr int32_t kDepthwiseDspPatchBytes = 1024;

// Scratch bytes DepthwiseDm1Dsp needs for a depthwise convolution of these dims (0 when it
// never takes the shape: depth multiplier != 1, fewer than 4 channels, too wide a window).
// Defined on every build, so that the host plans and checks what the board needs.
inline int32_t DepthwiseDm1DspGetBufferSize(const Dims& input_dims, const Dims& filter_dims,
                                            const Dims& output_dims) {
  const int32_t kh = filter_dims.h, kw = filter_dims.w;
  if (input_dims.c != output_dims.c || output_dims.c < 4 || kh <= 0 || kw <= 0 ||
      kh * (kw + 2 * (kw / 2)) > kDepthwiseDspMaxPaddedTaps) {
    return 0;
  }
  return kDepthwiseDspGroupBytes + kDepthwiseDspPatchBytes;
}

#if TFLM_TRAIN_KERNELS_DSP
// Computes channels [0, returned count) of every output position (count a multiple of 4; 0
// when the shape is not handled: depth multiplier != 1, fewer than 4 channels or a window of
// more taps than its filter buffer holds). Same bytes as the reference: the same exact int32
// sums, only regrouped. scratch: DepthwiseDm1DspGetBufferSize bytes, 8-byte aligned.
int32_t DepthwiseDm1Dsp(const DepthwiseParams& params, const PerChannelQuant& quant,
                        const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                        const DepthwiseFilter& filter, const int32_t* bias,
                        const Dims& output_dims, int8_t* output, void* scratch);
#endif

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_DSP_H_
