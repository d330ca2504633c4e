// int8 average pooling, NHWC. Padded positions are excluded from the divisor.
#ifndef TFLM_TRAIN_KERNELS_AVERAGE_POOL_H_
#define TFLM_TRAIN_KERNELS_AVERAGE_POOL_H_

#include <cstdint>

#include "kernels/quant_math.h"
#include "kernels/types.h"

namespace tflm_train {

// Shared by AVERAGE_POOL_2D and MAX_POOL_2D (input and output quantisation are equal for both).
void PoolPrepare(float output_scale, int32_t output_zero_point, int32_t in_h, int32_t in_w,
                 Tile filter, Tile stride, Padding padding, FusedActivation activation,
                 PoolParams* params, int32_t* out_h, int32_t* out_w);

// Returns false if some output window contains no input element (TFLM fails the op then).
bool AveragePoolInt8(const PoolParams& params, const Dims& input_dims, const int8_t* input,
                     const Dims& output_dims, int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_AVERAGE_POOL_H_
