// Backward pass of a fully connected layer (int8 forward, filter [Co, Ci] symmetric int8 with
// per-row float scales). Input [B, Ci] int8, output [B, Co].
// The bias gradient is BiasGrad (bias_grad.h) with positions = B.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_FULLY_CONNECTED_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_FULLY_CONNECTED_GRAD_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

// grad_input[b,i] = sum over o of (grad_output[b,o] * s_w[o]) * float(w[o,i]).
// Summation: one accumulator per element from 0.0f, o increasing.
void FullyConnectedInputGrad(int32_t batches, int32_t output_depth, const float* grad_output,
                             const int8_t* filter, const float* filter_scales,
                             int32_t input_depth, float* grad_input);
// The same with the filter rows split between SRAM and flash (FilterRows).
void FullyConnectedInputGradRows(int32_t batches, int32_t output_depth,
                                 const float* grad_output, const FilterRows& filter,
                                 const float* filter_scales, int32_t input_depth,
                                 float* grad_input);

// Rows [r_begin, r_end) of the filter gradient into grad_filter [r_end - r_begin, Ci]:
// grad_w[o,i] = input_scale * sum over b of grad_output[b,o] * float(x[b,i] + input_offset).
// input_offset = -input zero point. Summation: b increasing from 0.0f, then one multiply.
void FullyConnectedFilterGrad(int32_t batches, int32_t input_depth, const int8_t* input,
                              int32_t input_offset, float input_scale, int32_t output_depth,
                              const float* grad_output, int32_t r_begin, int32_t r_end,
                              float* grad_filter);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_FULLY_CONNECTED_GRAD_H_
