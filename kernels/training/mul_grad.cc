#include "kernels/training/mul_grad.h"

namespace tflm_train {

void MulInputGrad(const Broadcast& b, int32_t which, int32_t input_elements, const int8_t* other,
                  float other_scale, int32_t other_zero_point, const float* grad_output,
                  float* grad_input) {
  for (int32_t i = 0; i < input_elements; ++i) grad_input[i] = 0.0f;
  int32_t o = 0;
  ForEachBroadcast(b, [&](int32_t i1, int32_t i2) {
    const int32_t mine = which == 0 ? i1 : i2, theirs = which == 0 ? i2 : i1;
    const float real = other_scale * static_cast<float>(other[theirs] - other_zero_point);
    grad_input[mine] += grad_output[o++] * real;
  });
}

}  // namespace tflm_train
