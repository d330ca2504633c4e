#include "kernels/training/concatenation_grad.h"

namespace tflm_train {

void ConcatenationGrad(int32_t outer, int32_t inner, int32_t num_inputs,
                       const int32_t* axis_sizes, const float* grad_output,
                       float* const* grad_inputs) {
  int32_t total_axis = 0;
  for (int32_t k = 0; k < num_inputs; ++k) total_axis += axis_sizes[k];
  int32_t axis_offset = 0;
  for (int32_t k = 0; k < num_inputs; ++k) {
    const int32_t chunk = axis_sizes[k] * inner;
    float* dst = grad_inputs[k];
    if (dst != nullptr) {
      for (int32_t o = 0; o < outer; ++o) {
        const float* src = grad_output + (o * total_axis + axis_offset) * inner;
        for (int32_t i = 0; i < chunk; ++i) dst[o * chunk + i] = src[i];
      }
    }
    axis_offset += axis_sizes[k];
  }
}

}  // namespace tflm_train
