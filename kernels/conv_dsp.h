// DSP-path specialisation of CONV_2D for stems: a window over few input channels (3x3 over RGB),
// where the reference structure spends most of its instructions on short, unaligned dot products
// (9 bytes per window row). Here each window is gathered once into widened 16-bit pairs and
// every output channel is then one run of SMLADs against its filter, widened once per call.
// Only built on the DSP path (kernel_path.h); ConvInt8Rows computes every shape this does not
// handle.
#ifndef TFLM_TRAIN_KERNELS_CONV_DSP_H_
#define TFLM_TRAIN_KERNELS_CONV_DSP_H_

#include <cstdint>

#include "kernels/kernel_path.h"
#include "kernels/types.h"

namespace tflm_train {

#if TFLM_TRAIN_KERNELS_DSP
// Computes the whole convolution and returns true, or returns false (nothing written) when the
// shape is not a small-depth window (groups, 8 or more input channels, a 1x1 window, a window
// of more than 64 bytes). Same bytes as the reference: the same exact int32 sums, only
// regrouped; a tap outside the input is gathered as the input zero point, whose product with
// the offset input is 0, as skipping it is in the reference.
bool ConvSmallDepthDsp(const ConvParams& params, const PerChannelQuant& quant,
                       const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                       const FilterRows& filter, const int32_t* bias, const Dims& output_dims,
                       int8_t* output);
#endif

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_CONV_DSP_H_
