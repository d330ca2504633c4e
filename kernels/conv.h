// int8 2-D convolution, NHWC input/output, OHWI filter, per-channel requantisation.
#ifndef TFLM_TRAIN_KERNELS_CONV_H_
#define TFLM_TRAIN_KERNELS_CONV_H_

#include <cstdint>

#include "kernels/quant_math.h"
#include "kernels/types.h"

namespace tflm_train {

// What TFLM's Conv Prepare derives from the raw tensor parameters. `multiplier`/`shift` must
// hold output_channels entries, or both be null when the caller already has them (the runtime
// reads them from flash and checks them channel by channel); filter_scales has 1 (per-tensor) or
// output_channels entries.
// Writes params (offsets, stride, dilation, resolved padding, activation) and the output
// spatial size. Returns false for parameters TFLM rejects.
bool ConvPrepare(float input_scale, int32_t input_zero_point, const float* filter_scales,
                 int32_t num_filter_scales, float output_scale, int32_t output_zero_point,
                 const Dims& input_dims, const Dims& filter_dims, Tile stride, Tile dilation,
                 Padding padding, FusedActivation activation, ConvParams* params,
                 int32_t* multiplier, int32_t* shift, int32_t* out_h, int32_t* out_w);

// bias may be null. filter_dims.c may divide input_dims.c (grouped convolution).
void ConvInt8(const ConvParams& params, const PerChannelQuant& quant, const Dims& input_dims,
              const int8_t* input, const Dims& filter_dims, const int8_t* filter,
              const int32_t* bias, const Dims& output_dims, int8_t* output);

// The same with the filter rows split between SRAM and flash (FilterRows).
void ConvInt8Rows(const ConvParams& params, const PerChannelQuant& quant,
                  const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                  const FilterRows& filter, const int32_t* bias, const Dims& output_dims,
                  int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_CONV_H_
