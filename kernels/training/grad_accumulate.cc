#include "kernels/training/grad_accumulate.h"

namespace tflm_train {

void GradAccumulate(int32_t size, const float* grad, float* accumulator) {
  for (int32_t i = 0; i < size; ++i) accumulator[i] = accumulator[i] + grad[i];
}

void GradScale(int32_t size, float factor, float* buffer) {
  for (int32_t i = 0; i < size; ++i) buffer[i] = buffer[i] * factor;
}

}  // namespace tflm_train
