#include "kernels/max_pool.h"

#include "kernels/pool_window.h"

namespace tflm_train {

void MaxPoolInt8(const PoolParams& params, const Dims& input_dims, const int8_t* input,
                 const Dims& output_dims, int8_t* output) {
  const int32_t in_h = input_dims.h, in_w = input_dims.w, depth = input_dims.c;
  ForEachPoolWindow(params, input_dims, output_dims,
                    [&](int32_t b, int32_t position, Span ys, Span xs) {
    for (int32_t c = 0; c < depth; ++c) {
      int32_t best = -128;
      for (int32_t y = ys.begin; y < ys.end; ++y) {
        for (int32_t x = xs.begin; x < xs.end; ++x) {
          const int32_t v = input[((b * in_h + y) * in_w + x) * depth + c];
          if (v > best) best = v;
        }
      }
      best = ClampToRange(best, params.activation.min, params.activation.max);
      output[position * depth + c] = static_cast<int8_t>(best);
    }
    return true;
  });
}

}  // namespace tflm_train
