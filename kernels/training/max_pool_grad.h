// Backward pass of 2-D max pooling. The whole gradient of a window goes to the first maximal
// in-bounds input of that window in scan order (ky, then kx, increasing), found from the saved
// int8 input (comparing int8 codes is equivalent to comparing real values: positive scale).
#ifndef TFLM_TRAIN_KERNELS_TRAINING_MAX_POOL_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_MAX_POOL_GRAD_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

// Uses params.stride, padding and filter. Every element of grad_input is written.
// Summation: grad_input is zeroed, windows visited in (n, oh, ow) increasing order, each adds its
// gradient to its routed element (so overlapping windows add in (oh, ow) order).
void MaxPoolGrad(const PoolParams& params, const Dims& input_dims, const int8_t* input,
                 const Dims& output_dims, const float* grad_output, float* grad_input);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_MAX_POOL_GRAD_H_
