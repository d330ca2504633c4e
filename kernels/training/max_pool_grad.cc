#include "kernels/training/max_pool_grad.h"

#include "kernels/pool_window.h"

namespace tflm_train {

void MaxPoolGrad(const PoolParams& params, const Dims& input_dims, const int8_t* input,
                 const Dims& output_dims, const float* grad_output, float* grad_input) {
  const int32_t in_h = input_dims.h, in_w = input_dims.w, depth = input_dims.c;
  const int32_t total = FlatSize(input_dims);
  for (int32_t i = 0; i < total; ++i) grad_input[i] = 0.0f;
  ForEachPoolWindow(params, input_dims, output_dims,
                    [&](int32_t n, int32_t position, Span ys, Span xs) {
    if (ys.begin >= ys.end || xs.begin >= xs.end) return true;
    const float* g = grad_output + position * depth;
    for (int32_t c = 0; c < depth; ++c) {
      int32_t best = -1;
      int32_t best_value = -129;
      for (int32_t y = ys.begin; y < ys.end; ++y) {
        for (int32_t x = xs.begin; x < xs.end; ++x) {
          const int32_t idx = ((n * in_h + y) * in_w + x) * depth + c;
          const int32_t v = input[idx];
          if (v > best_value) {  // strict: ties keep the earlier element
            best_value = v;
            best = idx;
          }
        }
      }
      grad_input[best] += g[c];
    }
    return true;
  });
}

}  // namespace tflm_train
