#include "kernels/training/max_pool_grad.h"

namespace tflm_train {

void MaxPoolGrad(const PoolParams& params, const Dims& input_dims, const int8_t* input,
                 const Dims& output_dims, const float* grad_output, float* grad_input) {
  const int32_t in_h = input_dims.h, in_w = input_dims.w, depth = input_dims.c;
  const int32_t out_h = output_dims.h, out_w = output_dims.w;
  const int32_t total = FlatSize(input_dims);
  for (int32_t i = 0; i < total; ++i) grad_input[i] = 0.0f;
  for (int32_t n = 0; n < input_dims.n; ++n) {
    for (int32_t oh = 0; oh < out_h; ++oh) {
      const Span ys = PoolWindow(oh, params.stride.h, params.padding.h, params.filter.h, in_h);
      const int32_t y_begin = ys.begin, y_end = ys.end;
      for (int32_t ow = 0; ow < out_w; ++ow) {
        const Span xs = PoolWindow(ow, params.stride.w, params.padding.w, params.filter.w, in_w);
        const int32_t x_begin = xs.begin, x_end = xs.end;
        if (y_begin >= y_end || x_begin >= x_end) continue;
        const float* g = grad_output + ((n * out_h + oh) * out_w + ow) * depth;
        for (int32_t c = 0; c < depth; ++c) {
          int32_t best = -1;
          int32_t best_value = -129;
          for (int32_t y = y_begin; y < y_end; ++y) {
            for (int32_t x = x_begin; x < x_end; ++x) {
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
      }
    }
  }
}

}  // namespace tflm_train
