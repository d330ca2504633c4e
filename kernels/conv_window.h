// Geometry shared by the convolution-like kernels: which filter taps of a padded window fall
// inside the input. Skipping the others is what TFLM's reference kernels do (a padded position
// contributes (zero_point + input_offset) * w = 0), and computing the range once per output row
// or column keeps bounds checks out of the multiply-accumulate loops.
#ifndef TFLM_TRAIN_KERNELS_CONV_WINDOW_H_
#define TFLM_TRAIN_KERNELS_CONV_WINDOW_H_

#include <cstdint>

#include "kernels/quant_math.h"
#include "kernels/types.h"

namespace tflm_train {

// Filter taps [begin, end) along one axis whose input coordinate start + tap * dilation lies in
// [0, in_size); start = out * stride - padding. Empty (begin == end) if none does.
inline Span FilterTaps(int32_t start, int32_t dilation, int32_t filter_size, int32_t in_size) {
  // Smallest tap with start + tap * dilation >= 0 (ceiling division of a non-negative value).
  int32_t begin = start < 0 ? (dilation - 1 - start) / dilation : 0;
  // One past the largest tap with start + tap * dilation < in_size.
  int32_t end = start < in_size ? (in_size - start + dilation - 1) / dilation : 0;
  if (end > filter_size) end = filter_size;
  if (begin > end) begin = end;
  return Span{begin, end};
}

// The in-bounds taps of one output position's window.
struct TapWindow {
  Span y;
  Span x;
};

// The output stage every int8 kernel here shares: requantise (quant_math), add the output zero
// point, clamp to the fused activation.
inline int8_t RequantizeToInt8(int32_t acc, int32_t multiplier, int32_t shift,
                               int32_t output_offset, ActivationRange activation) {
  const int32_t v = MultiplyByQuantizedMultiplier(acc, multiplier, shift) + output_offset;
  return static_cast<int8_t>(ClampToRange(v, activation.min, activation.max));
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_CONV_WINDOW_H_
