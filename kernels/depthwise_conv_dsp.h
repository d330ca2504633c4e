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

#if TFLM_TRAIN_KERNELS_DSP
// Computes channels [0, returned count) of every output position (count a multiple of 4; 0
// when the shape is not handled: depth multiplier != 1, fewer than 4 channels or a window of
// more taps than its stack buffer holds). Same bytes as the reference: the same exact int32
// sums, only regrouped.
int32_t DepthwiseDm1Dsp(const DepthwiseParams& params, const PerChannelQuant& quant,
                        const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                        const int8_t* filter, const int32_t* bias, const Dims& output_dims,
                        int8_t* output);
#endif

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_DSP_H_
