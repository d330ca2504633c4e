#include "kernels/strided_slice.h"

#include <cstring>

namespace tflm_train {
namespace {

int32_t Clamp(int64_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : static_cast<int32_t>(v));
}

// A negative index counts from the end; forward slices clamp to [0, size], backward ones to
// [-1, size - 1] (the stop is exclusive in both directions).
int32_t ClampIndex(int64_t index, int32_t size, int32_t stride) {
  if (index < 0) index += size;
  return stride > 0 ? Clamp(index, 0, size) : Clamp(index, -1, size - 1);
}

}  // namespace

SliceAxis ResolveSliceAxis(int32_t size, int32_t begin, int32_t end, int32_t stride,
                           bool begin_masked, bool end_masked, bool shrink) {
  SliceAxis a{0, 0, stride};
  a.start = begin_masked ? (stride > 0 ? 0 : size - 1) : ClampIndex(begin, size, stride);
  if (shrink) {
    a.stop = a.start + 1;
    a.stride = 1;
  } else {
    a.stop = end_masked ? (stride > 0 ? size : -1) : ClampIndex(end, size, stride);
  }
  return a;
}

int32_t SliceAxisLength(const SliceAxis& a) {
  const int64_t span = a.stride > 0 ? int64_t{a.stop} - a.start : int64_t{a.start} - a.stop;
  const int64_t step = a.stride > 0 ? a.stride : -int64_t{a.stride};
  return span <= 0 ? 0 : static_cast<int32_t>((span + step - 1) / step);
}

void StridedSliceInt8(int32_t rank, const int32_t* input_shape, const SliceAxis* axes,
                      const int8_t* input, int8_t* output) {
  // Extend to 4 dimensions with leading axes of one element.
  int32_t shape[kStridedSliceMaxDims];
  SliceAxis a[kStridedSliceMaxDims];
  const int32_t lead = kStridedSliceMaxDims - rank;
  for (int32_t d = 0; d < kStridedSliceMaxDims; ++d) {
    shape[d] = d < lead ? 1 : input_shape[d - lead];
    a[d] = d < lead ? SliceAxis{0, 1, 1} : axes[d - lead];
  }
  int32_t n[kStridedSliceMaxDims];
  for (int32_t d = 0; d < kStridedSliceMaxDims; ++d) n[d] = SliceAxisLength(a[d]);
  const int32_t s2 = shape[3], s1 = shape[2] * s2, s0 = shape[1] * s1;
  int8_t* out = output;
  for (int32_t i0 = 0, p0 = a[0].start; i0 < n[0]; ++i0, p0 += a[0].stride) {
    for (int32_t i1 = 0, p1 = a[1].start; i1 < n[1]; ++i1, p1 += a[1].stride) {
      for (int32_t i2 = 0, p2 = a[2].start; i2 < n[2]; ++i2, p2 += a[2].stride) {
        const int8_t* row = input + p0 * s0 + p1 * s1 + p2 * s2;
        if (a[3].stride == 1) {
          memcpy(out, row + a[3].start, static_cast<size_t>(n[3]));
          out += n[3];
          continue;
        }
        for (int32_t i3 = 0, p3 = a[3].start; i3 < n[3]; ++i3, p3 += a[3].stride) *out++ = row[p3];
      }
    }
  }
}

}  // namespace tflm_train
