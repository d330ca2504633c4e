#include "kernels/training/activation_grad.h"

namespace tflm_train {

void ActivationGrad(int32_t size, const int8_t* output, int32_t lo, int32_t hi,
                    const float* grad_output, float* grad_input) {
  for (int32_t i = 0; i < size; ++i) {
    const int32_t q = output[i];
    grad_input[i] = (q > lo && q < hi) ? grad_output[i] : 0.0f;
  }
}

}  // namespace tflm_train
