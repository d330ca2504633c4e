#include "kernels/training/sub_grad.h"

namespace tflm_train {

void SubInputGrad(const Broadcast& b, int32_t which, int32_t input_elements,
                  const float* grad_output, float* grad_input) {
  for (int32_t i = 0; i < input_elements; ++i) grad_input[i] = 0.0f;
  int32_t o = 0;
  // Negation is exact and rounding symmetric: subtracting each term equals negating the sum.
  if (which == 0) {
    ForEachBroadcast(b, [&](int32_t i1, int32_t) { grad_input[i1] += grad_output[o++]; });
  } else {
    ForEachBroadcast(b, [&](int32_t, int32_t i2) { grad_input[i2] -= grad_output[o++]; });
  }
}

}  // namespace tflm_train
