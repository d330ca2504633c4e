#include "kernels/max_pool.h"

namespace tflm_train {

void MaxPoolInt8(const PoolParams& params, const Dims& input_dims, const int8_t* input,
                 const Dims& output_dims, int8_t* output) {
  const int32_t in_h = input_dims.h, in_w = input_dims.w, depth = input_dims.c;
  for (int32_t b = 0; b < output_dims.n; ++b) {
    for (int32_t oy = 0; oy < output_dims.h; ++oy) {
      const int32_t y0 = oy * params.stride.h - params.padding.h;
      const Span ys = PoolWindow(oy, params.stride.h, params.padding.h, params.filter.h, in_h);
      const int32_t fy_begin = ys.begin - y0, fy_end = ys.end - y0;
      for (int32_t ox = 0; ox < output_dims.w; ++ox) {
        const int32_t x0 = ox * params.stride.w - params.padding.w;
        const Span xs = PoolWindow(ox, params.stride.w, params.padding.w, params.filter.w, in_w);
        const int32_t fx_begin = xs.begin - x0, fx_end = xs.end - x0;
        for (int32_t c = 0; c < depth; ++c) {
          int32_t best = -128;
          for (int32_t fy = fy_begin; fy < fy_end; ++fy) {
            for (int32_t fx = fx_begin; fx < fx_end; ++fx) {
              const int32_t v = input[((b * in_h + y0 + fy) * in_w + x0 + fx) * depth + c];
              if (v > best) best = v;
            }
          }
          best = ClampToRange(best, params.activation.min, params.activation.max);
          output[((b * output_dims.h + oy) * output_dims.w + ox) * depth + c] =
              static_cast<int8_t>(best);
        }
      }
    }
  }
}

}  // namespace tflm_train
