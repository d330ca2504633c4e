// MVE (Helium, Cortex-M55) specialisation of CONV_2D for 1x1 filters without groups. The input
// offset is folded into a per-channel base (bias + input_offset * the filter row's sum: the same
// int32 sum modulo 2^32, regrouped), so the inner loop is VMLADAVA over 16 raw int8 pairs: one
// input vector serves four output channels, whose sums become one vector requantised and stored
// at once (requant_mve.h). Only built on MVE targets (kernel_path.h);
// ConvInt8Rows computes every shape this does not handle (on the DSP path).
#ifndef TFLM_TRAIN_KERNELS_CONV_POINTWISE_MVE_H_
#define TFLM_TRAIN_KERNELS_CONV_POINTWISE_MVE_H_

#include <cstdint>

#include "kernels/kernel_path.h"
#include "kernels/types.h"

namespace tflm_train {

#if TFLM_TRAIN_KERNELS_MVE
// Computes the whole convolution and returns true, or returns false (nothing written) when the
// shape is not a pointwise one: a filter other than 1x1, groups, fewer than 16 input channels,
// padding or a position whose pixel lies outside the input. Same bytes as the reference.
bool ConvPointwiseMve(const ConvParams& params, const PerChannelQuant& quant,
                      const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                      const FilterRows& filter, const int32_t* bias, const Dims& output_dims,
                      int8_t* output);
#endif

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_CONV_POINTWISE_MVE_H_
