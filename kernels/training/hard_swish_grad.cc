#include "kernels/training/hard_swish_grad.h"

namespace tflm_train {

void HardSwishGrad(int32_t size, const int8_t* input, float scale, int32_t zero_point,
                   const float* grad_output, float* grad_input) {
  for (int32_t i = 0; i < size; ++i) {
    const float x = scale * static_cast<float>(input[i] - zero_point);
    float slope;
    if (x <= -3.0f) {
      slope = 0.0f;
    } else if (x >= 3.0f) {
      slope = 1.0f;
    } else {
      slope = (x + x + 3.0f) / 6.0f;
    }
    grad_input[i] = grad_output[i] * slope;
  }
}

}  // namespace tflm_train
