// int8 fully connected: output[b, o] = sum_d filter[o, d] * input[b, d] (+ bias[o]).
#ifndef TFLM_TRAIN_KERNELS_FULLY_CONNECTED_H_
#define TFLM_TRAIN_KERNELS_FULLY_CONNECTED_H_

#include <cstdint>

#include "kernels/quant_math.h"
#include "kernels/types.h"

namespace tflm_train {

// num_filter_scales == 1: per-tensor weights (double math, see PerTensorConvMultiplier); only
// multiplier[0]/shift[0] are written.
// num_filter_scales == output_units: per-channel, conv formula, output_units entries written
// unless multiplier/shift are null (the caller holds them already).
bool FullyConnectedPrepare(float input_scale, int32_t input_zero_point,
                           const float* filter_scales, int32_t num_filter_scales,
                           int32_t filter_zero_point, float output_scale,
                           int32_t output_zero_point, int32_t output_units,
                           FusedActivation activation, FullyConnectedParams* params,
                           int32_t* multiplier, int32_t* shift);

// input: batches x accum_depth, filter: output_units x accum_depth, output: batches x
// output_units. bias may be null.
void FullyConnectedInt8(const FullyConnectedParams& params, QuantMultiplier quant,
                        int32_t batches, int32_t accum_depth, int32_t output_units,
                        const int8_t* input, const int8_t* filter, const int32_t* bias,
                        int8_t* output);

void FullyConnectedPerChannelInt8(const FullyConnectedParams& params,
                                  const PerChannelQuant& quant, int32_t batches,
                                  int32_t accum_depth, int32_t output_units,
                                  const int8_t* input, const int8_t* filter,
                                  const int32_t* bias, int8_t* output);

// Either variant with the filter rows split between SRAM and flash (FilterRows);
// quant_step 0: quant holds one per-tensor multiplier, 1: one per output unit.
void FullyConnectedRowsInt8(const FullyConnectedParams& params, const PerChannelQuant& quant,
                            int32_t quant_step, int32_t batches, int32_t accum_depth,
                            int32_t output_units, const int8_t* input, const FilterRows& filter,
                            const int32_t* bias, int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_FULLY_CONNECTED_H_
