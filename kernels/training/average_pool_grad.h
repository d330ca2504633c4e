// Backward pass of 2-D average pooling. As in TFLite/TF, the divisor of each window is the number
// of in-bounds input elements (padding is not counted), so each window spreads
// grad_output / count evenly over its in-bounds inputs.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_AVERAGE_POOL_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_AVERAGE_POOL_GRAD_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

// Uses params.stride, padding and filter (activation is handled by ActivationGrad).
// Every element of grad_input [N,H,W,C] is written. Summation: grad_input is zeroed, then
// windows are visited in (n, oh, ow) increasing order and each adds
// grad_output[n,oh,ow,c] / float(count); so per element the terms arrive in (oh, ow) order.
void AveragePoolGrad(const PoolParams& params, const Dims& output_dims, const float* grad_output,
                     const Dims& input_dims, float* grad_input);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_AVERAGE_POOL_GRAD_H_
