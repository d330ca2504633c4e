#include "kernels/training/bias_grad.h"

namespace tflm_train {

void BiasGrad(int32_t positions, int32_t channels, const float* grad_output, int32_t c_begin,
              int32_t c_end, float* grad_bias) {
  for (int32_t c = c_begin; c < c_end; ++c) {
    float acc = 0.0f;
    for (int32_t p = 0; p < positions; ++p) acc += grad_output[p * channels + c];
    grad_bias[c - c_begin] = acc;
  }
}

}  // namespace tflm_train
