#include "kernels/average_pool.h"

#include "kernels/pool_window.h"

namespace tflm_train {

void PoolPrepare(float output_scale, int32_t output_zero_point, int32_t in_h, int32_t in_w,
                 Tile filter, Tile stride, Padding padding, FusedActivation activation,
                 PoolParams* params, int32_t* out_h, int32_t* out_w) {
  params->stride = stride;
  params->filter = filter;
  ResolvePadding(padding, in_h, in_w, filter.h, filter.w, stride, Tile{1, 1}, out_h, out_w,
                 &params->padding);
  params->activation = ActivationRangeInt8(activation, output_scale, output_zero_point);
}

bool AveragePoolInt8(const PoolParams& params, const Dims& input_dims, const int8_t* input,
                     const Dims& output_dims, int8_t* output) {
  const int32_t in_h = input_dims.h, in_w = input_dims.w, depth = input_dims.c;
  return ForEachPoolWindow(params, input_dims, output_dims,
                           [&](int32_t b, int32_t position, Span ys, Span xs) {
    for (int32_t c = 0; c < depth; ++c) {
      int32_t acc = 0;
      int32_t count = 0;
      for (int32_t y = ys.begin; y < ys.end; ++y) {
        for (int32_t x = xs.begin; x < xs.end; ++x) {
          acc += input[((b * in_h + y) * in_w + x) * depth + c];
          ++count;
        }
      }
      if (count == 0) return false;
      // Integer division truncates; the +-count/2 makes it round half away from zero.
      acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
      acc = ClampToRange(acc, params.activation.min, params.activation.max);
      output[position * depth + c] = static_cast<int8_t>(acc);
    }
    return true;
  });
}

}  // namespace tflm_train
