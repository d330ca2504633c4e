// int8 max pooling, NHWC (parameters from PoolPrepare in average_pool.h).
#ifndef TFLM_TRAIN_KERNELS_MAX_POOL_H_
#define TFLM_TRAIN_KERNELS_MAX_POOL_H_

#include <cstdint>

#include "kernels/average_pool.h"
#include "kernels/types.h"

namespace tflm_train {

void MaxPoolInt8(const PoolParams& params, const Dims& input_dims, const int8_t* input,
                 const Dims& output_dims, int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_MAX_POOL_H_
