// Backward pass of PAD (constant padding, any of the four NHWC axes): the padded elements are
// constants, so the gradient is grad_output cropped back to the input extent.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_PAD_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_PAD_GRAD_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

// pad_before[4] = leading padding of axes (n, h, w, c). grad_input[n,h,w,c] =
// grad_output[n+pad_before[0], h+pad_before[1], w+pad_before[2], c+pad_before[3]].
void PadGrad(const Dims& output_dims, const float* grad_output, const int32_t* pad_before,
             const Dims& input_dims, float* grad_input);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_PAD_GRAD_H_
