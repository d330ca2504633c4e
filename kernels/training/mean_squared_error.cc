#include "kernels/training/mean_squared_error.h"

namespace tflm_train {

void MeanSquaredError(int32_t size, const float* prediction, const float* target, float* grad,
                      float* loss) {
  const float count = static_cast<float>(size);
  float sum = 0.0f;
  for (int32_t i = 0; i < size; ++i) {
    const float diff = prediction[i] - target[i];
    sum += diff * diff;
    grad[i] = (2.0f * diff) / count;
  }
  *loss = sum / count;
}

void MeanSquaredErrorInt8(int32_t size, const int8_t* prediction, float scale,
                          int32_t zero_point, const float* target, float* grad, float* loss) {
  const float count = static_cast<float>(size);
  float sum = 0.0f;
  for (int32_t i = 0; i < size; ++i) {
    const float y = scale * static_cast<float>(static_cast<int32_t>(prediction[i]) - zero_point);
    const float diff = y - target[i];
    sum += diff * diff;
    grad[i] = (2.0f * diff) / count;
  }
  *loss = sum / count;
}

}  // namespace tflm_train
