#include "kernels/training/average_pool_grad.h"

#include "kernels/pool_window.h"

namespace tflm_train {

void AveragePoolGrad(const PoolParams& params, const Dims& output_dims, const float* grad_output,
                     const Dims& input_dims, float* grad_input) {
  const int32_t in_h = input_dims.h, in_w = input_dims.w, depth = input_dims.c;
  const int32_t total = FlatSize(input_dims);
  for (int32_t i = 0; i < total; ++i) grad_input[i] = 0.0f;
  ForEachPoolWindow(params, input_dims, output_dims,
                    [&](int32_t n, int32_t position, Span ys, Span xs) {
    const int32_t count = (ys.end - ys.begin) * (xs.end - xs.begin);
    if (count <= 0) return true;
    const float count_f = static_cast<float>(count);
    const float* g = grad_output + position * depth;
    for (int32_t y = ys.begin; y < ys.end; ++y) {
      for (int32_t x = xs.begin; x < xs.end; ++x) {
        float* gin = grad_input + ((n * in_h + y) * in_w + x) * depth;
        // Division (not multiplication by a reciprocal) matches TF's rounding exactly.
        for (int32_t c = 0; c < depth; ++c) gin[c] += g[c] / count_f;
      }
    }
    return true;
  });
}

}  // namespace tflm_train
