// Backward pass of LOGISTIC from the saved int8 INPUT dequantised as the forward saw it: the
// sigmoid s of the real input, recomputed in float (the int8 output holds s only in 1/256
// steps, which in the saturated tails is off by far more than the derivative itself), and
// grad_in = grad_out * s * (1 - s). Exp is float_math's, so host and boards agree bit for bit.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_LOGISTIC_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_LOGISTIC_GRAD_H_

#include <cstdint>

namespace tflm_train {

void LogisticGrad(int32_t size, const int8_t* input, float scale, int32_t zero_point,
                  const float* grad_output, float* grad_input);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_LOGISTIC_GRAD_H_
