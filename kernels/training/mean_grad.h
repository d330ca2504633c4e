// Backward pass of MEAN over the spatial axes (H, W) of an NHWC tensor (keep_dims or not: the
// gradient is [N, C] either way): each input element receives grad_output[n,c] / float(H*W).
#ifndef TFLM_TRAIN_KERNELS_TRAINING_MEAN_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_MEAN_GRAD_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

// grad_output [N, C]; grad_input [N, H, W, C] fully written. Division by the element count (not
// multiplication by its reciprocal), as TF's gradient does.
void MeanGrad(const Dims& input_dims, const float* grad_output, float* grad_input);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_MEAN_GRAD_H_
