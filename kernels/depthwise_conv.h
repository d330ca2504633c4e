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

// Scratch bytes DepthwiseConvInt8 needs for a depthwise convolution of these dims: the most any
// build's kernel path takes (the DSP kernel's, depthwise_conv_dsp.h), so that host and board
// plan and check the same bytes. The MVE kernel keeps only small per-chunk arrays.
int32_t DepthwiseConvInt8GetBufferSize(const Dims& input_dims, const Dims& filter_dims,
                                       const Dims& output_dims);

// The most DepthwiseConvInt8GetBufferSize returns for any shape.
constexpr int32_t kDepthwiseConvInt8MaxBufferSize = 8 * 120 + 128 + 1024;

// bias may be null. scratch: DepthwiseConvInt8GetBufferSize bytes, 8-byte aligned. The filter
// may be split between SRAM and flash (DepthwiseFilter); the bytes are those of the whole one.
void DepthwiseConvInt8(const DepthwiseParams& params, const PerChannelQuant& quant,
                       const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                       const DepthwiseFilter& filter, const int32_t* bias,
                       const Dims& output_dims, int8_t* output, void* scratch);

// The filter whole in one place.
inline void DepthwiseConvInt8(const DepthwiseParams& params, const PerChannelQuant& quant,
                              const Dims& input_dims, const int8_t* input,
                              const Dims& filter_dims, const int8_t* filter, const int32_t* bias,
                              const Dims& output_dims, int8_t* output, void* scratch) {
  DepthwiseConvInt8(params, quant, input_dims, input, filter_dims,
                    WholeDepthwiseFilter(filter, filter_dims.c), bias, output_dims, output,
                    scratch);
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_H_
