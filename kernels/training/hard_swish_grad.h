// Backward pass of HARD_SWISH, y = x * relu6(x + 3) / 6, from the saved int8 INPUT dequantised
// as the forward saw it (x = scale * (q - zero_point)). The derivative is 0 for x <= -3, 1 for
// x >= 3 and (2x + 3) / 6 between: at the breakpoints it is what TF's autodiff of that
// expression gives (relu6 passes no gradient at 0 or 6).
#ifndef TFLM_TRAIN_KERNELS_TRAINING_HARD_SWISH_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_HARD_SWISH_GRAD_H_

#include <cstdint>

namespace tflm_train {

void HardSwishGrad(int32_t size, const int8_t* input, float scale, int32_t zero_point,
                   const float* grad_output, float* grad_input);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_HARD_SWISH_GRAD_H_
