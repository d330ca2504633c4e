#include "kernels/training/pad_grad.h"

namespace tflm_train {

void PadGrad(const Dims& output_dims, const float* grad_output, const int32_t* pad_before,
             const Dims& input_dims, float* grad_input) {
  for (int32_t n = 0; n < input_dims.n; ++n) {
    for (int32_t h = 0; h < input_dims.h; ++h) {
      for (int32_t w = 0; w < input_dims.w; ++w) {
        const float* src =
            grad_output +
            (((n + pad_before[0]) * output_dims.h + (h + pad_before[1])) * output_dims.w +
             (w + pad_before[2])) * output_dims.c + pad_before[3];
        float* dst = grad_input + ((n * input_dims.h + h) * input_dims.w + w) * input_dims.c;
        for (int32_t c = 0; c < input_dims.c; ++c) dst[c] = src[c];
      }
    }
  }
}

}  // namespace tflm_train
