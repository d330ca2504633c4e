#include "kernels/training/logistic_grad.h"

#include "kernels/training/float_math.h"

namespace tflm_train {

void LogisticGrad(int32_t size, const int8_t* input, float scale, int32_t zero_point,
                  const float* grad_output, float* grad_input) {
  // The derivative depends only on the int8 value: one Exp per distinct value would do, but a
  // 256-float table costs 1 KB of stack; these tensors are squeeze-excite gates and swish maps,
  // where the plain loop is cheap enough.
  for (int32_t i = 0; i < size; ++i) {
    const float x = scale * static_cast<float>(input[i] - zero_point);
    // Far below zero Exp overflows to +inf and s to 0: the derivative is then 0, not NaN.
    const float s = 1.0f / (1.0f + Exp(-x));
    grad_input[i] = grad_output[i] * (s * (1.0f - s));
  }
}

}  // namespace tflm_train
