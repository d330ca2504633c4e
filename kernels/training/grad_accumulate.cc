#include "kernels/training/grad_accumulate.h"

namespace tflm_train {

void GradAccumulate(int32_t size, const float* grad, float* accumulator) {
  int32_t i = 0;
  // Four at a time: the loads group and the loop bookkeeping is paid once per four.
  for (; i + 4 <= size; i += 4) {
    float a[4];
#pragma GCC unroll 4
    for (int32_t k = 0; k < 4; ++k) a[k] = accumulator[i + k] + grad[i + k];
#pragma GCC unroll 4
    for (int32_t k = 0; k < 4; ++k) accumulator[i + k] = a[k];
  }
  for (; i < size; ++i) accumulator[i] = accumulator[i] + grad[i];
}

void GradScale(int32_t size, float factor, float* buffer) {
  for (int32_t i = 0; i < size; ++i) buffer[i] = buffer[i] * factor;
}

}  // namespace tflm_train
