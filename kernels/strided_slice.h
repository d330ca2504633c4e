// int8 STRIDED_SLICE on up to 4 dimensions (TFLM's limit), with TFLM's resolution of begin,
// end, strides and the begin/end/shrink masks (TFLM ignores ellipsis and new-axis masks).
#ifndef TFLM_TRAIN_KERNELS_STRIDED_SLICE_H_
#define TFLM_TRAIN_KERNELS_STRIDED_SLICE_H_

#include <cstdint>

namespace tflm_train {

constexpr int32_t kStridedSliceMaxDims = 4;

// One axis after resolution: elements start, start + stride, ... while before stop (stride
// > 0) or after it (stride < 0).
struct SliceAxis {
  int32_t start;
  int32_t stop;
  int32_t stride;
};

// stride must not be 0. A shrunk axis keeps one element (start).
SliceAxis ResolveSliceAxis(int32_t size, int32_t begin, int32_t end, int32_t stride,
                           bool begin_masked, bool end_masked, bool shrink);
// Elements the axis yields (0 when empty).
int32_t SliceAxisLength(const SliceAxis& axis);

// axes[d] for each of the `rank` input dimensions; the output holds the product of the axes'
// lengths, in order.
void StridedSliceInt8(int32_t rank, const int32_t* input_shape, const SliceAxis* axes,
                      const int8_t* input, int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_STRIDED_SLICE_H_
