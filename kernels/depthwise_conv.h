// int8 depthwise convolution, NHWC, filter 1 x kh x kw x (in_c * depth_multiplier).
#ifndef TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_H_
#define TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_H_

#include <cstdint>

#include "kernels/quant_math.h"
#include "kernels/types.h"

namespace tflm_train {

// As ConvPrepare (multiplier/shift may be null); output channels = filter_dims.c =
// input_dims.c * depth_multiplier.
bool DepthwiseConvPrepare(float input_scale, int32_t input_zero_point, const float* filter_scales,
                          int32_t num_filter_scales, float output_scale,
                          int32_t output_zero_point, const Dims& input_dims,
                          const Dims& filter_dims, int32_t depth_multiplier, Tile stride,
                          Tile dilation, Padding padding, FusedActivation activation,
                          DepthwiseParams* params, int32_t* multiplier, int32_t* shift,
                          int32_t* out_h, int32_t* out_w);

// bias may be null.
void DepthwiseConvInt8(const DepthwiseParams& params, const PerChannelQuant& quant,
                       const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                       const int8_t* filter, const int32_t* bias, const Dims& output_dims,
                       int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_H_
