// MVE (Helium, Cortex-M55) specialisation of DEPTHWISE_CONV_2D for depth multiplier 1: eight
// channels per step in two vectors of four int32 lanes, a VMUL and a VADD per tap and vector (the
// input and filter bytes widened by the loads; MVE has no vector-by-vector integer VMLA).
// Positions whose whole window lies inside the input add the input offset through a
// per-channel base (bias + input_offset * the channel's filter sum: the same int32 sum modulo
// 2^32, regrouped); border positions add it to each in-bounds input.
// The sums are requantised four channels at a time (requant_mve.h). Only built on MVE targets
// (kernel_path.h); DepthwiseConvInt8 computes every shape this does not handle.
#ifndef TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_MVE_H_
#define TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_MVE_H_

#include <cstdint>

#include "kernels/kernel_path.h"
#include "kernels/types.h"

namespace tflm_train {

#if TFLM_TRAIN_KERNELS_MVE
// Computes the whole convolution and returns true, or returns false (nothing written) when the
// depth multiplier is not 1. Same bytes as the reference.
bool DepthwiseDm1Mve(const DepthwiseParams& params, const PerChannelQuant& quant,
                     const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                     const DepthwiseFilter& filter, const int32_t* bias, const Dims& output_dims,
                     int8_t* output);
#endif

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_MVE_H_
