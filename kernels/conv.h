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

// Scratch bytes ConvInt8Rows needs for a convolution of these dims: the most any build's
// kernel path takes (the DSP kernels', conv_dsp.h / conv_pointwise_dsp.h), so that host and
// board plan and check the same bytes. The MVE kernel keeps only small per-chunk arrays.
int32_t ConvInt8RowsGetBufferSize(const Dims& input_dims, const Dims& filter_dims,
                                  const Dims& output_dims);

// The most ConvInt8RowsGetBufferSize returns for any shape.
constexpr int32_t kConvInt8RowsMaxBufferSize = 32 * 32 + 48 * (32 + 1);

// bias may be null. filter_dims.c may divide input_dims.c (grouped convolution). The kernels'
// scratch is on the stack here (callers without an arena: tests, tools).
void ConvInt8(const ConvParams& params, const PerChannelQuant& quant, const Dims& input_dims,
              const int8_t* input, const Dims& filter_dims, const int8_t* filter,
              const int32_t* bias, const Dims& output_dims, int8_t* output);

// The same with the filter rows split between SRAM and flash (FilterRows) and the kernels'
// scratch from the caller: ConvInt8RowsGetBufferSize bytes, 8-byte aligned (the runtime plans
// it in the arena, where it is counted once instead of on the stack of every call path).
void ConvInt8Rows(const ConvParams& params, const PerChannelQuant& quant,
                  const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                  const FilterRows& filter, const int32_t* bias, const Dims& output_dims,
                  int8_t* output, void* scratch);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_CONV_H_
