#include "kernels/resize_nearest_neighbor.h"

#include <cstring>

namespace tflm_train {

int32_t NearestSourceIndex(int32_t out_index, int32_t in_size, int32_t out_size,
                           bool align_corners, bool half_pixel_centers) {
  // TFLM: scale and position in float32; floor, or round half away from zero with
  // align_corners. Both operands are >= 0, so floor is the truncation, and rounding compares
  // the (exact) fractional part instead of adding 0.5, which could round up in float.
  const float scale = align_corners && out_size > 1
                          ? static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1)
                          : static_cast<float>(in_size) / static_cast<float>(out_size);
  const float offset = half_pixel_centers ? 0.5f : 0.0f;
  const float position = (static_cast<float>(out_index) + offset) * scale;
  int32_t index = static_cast<int32_t>(position);
  if (align_corners && position - static_cast<float>(index) >= 0.5f) ++index;
  return index < in_size - 1 ? index : in_size - 1;
}

void ResizeNearestNeighborInt8(const Dims& input_dims, const int8_t* input,
                               const Dims& output_dims, bool align_corners,
                               bool half_pixel_centers, int8_t* output) {
  const int32_t depth = input_dims.c;
  const int32_t row = input_dims.w * depth, image = input_dims.h * row;
  for (int32_t b = 0; b < output_dims.n; ++b) {
    for (int32_t y = 0; y < output_dims.h; ++y) {
      const int32_t in_y = NearestSourceIndex(y, input_dims.h, output_dims.h, align_corners,
                                              half_pixel_centers);
      const int8_t* in_row = input + b * image + in_y * row;
      for (int32_t x = 0; x < output_dims.w; ++x) {
        const int32_t in_x = NearestSourceIndex(x, input_dims.w, output_dims.w, align_corners,
                                                half_pixel_centers);
        memcpy(output, in_row + in_x * depth, static_cast<size_t>(depth));
        output += depth;
      }
    }
  }
}

}  // namespace tflm_train
