#include "kernels/training/mean_grad.h"

namespace tflm_train {

void MeanGrad(const Dims& input_dims, const float* grad_output, float* grad_input) {
  const int32_t spatial = input_dims.h * input_dims.w;
  const int32_t depth = input_dims.c;
  const float count = static_cast<float>(spatial);
  for (int32_t n = 0; n < input_dims.n; ++n) {
    const float* g = grad_output + n * depth;
    for (int32_t p = 0; p < spatial; ++p) {
      float* gin = grad_input + (n * spatial + p) * depth;
      for (int32_t c = 0; c < depth; ++c) gin[c] = g[c] / count;
    }
  }
}

}  // namespace tflm_train
