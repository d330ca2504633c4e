#include "kernels/training/leaky_relu_grad.h"

namespace tflm_train {

void LeakyReluGrad(int32_t size, const int8_t* input, int32_t zero_point, float alpha,
                   const float* grad_output, float* grad_input) {
  for (int32_t i = 0; i < size; ++i) {
    grad_input[i] = input[i] > zero_point ? grad_output[i] : grad_output[i] * alpha;
  }
}

}  // namespace tflm_train
