// The two products behind the 1x1-convolution and fully-connected gradients, register-blocked
// for the Cortex-M FPU (32 single registers) while keeping each output element's float
// operations exactly those of the plain loops:
//   input gradient  out[p, j] = sum over k increasing of (g[p, k] * s[k]) * float(w[k, j]),
//   filter gradient out[c, j] = (sum over p increasing of g[p, c] * float(x[p, j] + offset)) * s.
// Each sum is one float accumulator starting at 0.0f (0.0f + t is kept: it turns -0 into +0),
// or, in the accumulating form, at the output's current value.
// A partial sum is parked in `out` between chunks of the reduction axis and reloaded: a float
// stored and loaded is the same float, so the chunking changes no bits.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_GRAD_PRODUCT_H_
#define TFLM_TRAIN_KERNELS_TRAINING_GRAD_PRODUCT_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

// out[p * out_stride + j] for p < positions, j < columns:
//   sum over k in [0, depth) of (grad[p * grad_stride + k] * scales[k]) * float(rows.row(k)[col + j]).
void GradTimesInt8Rows(int32_t positions, int32_t depth, const float* grad, int32_t grad_stride,
                       const float* scales, const FilterRows& rows, int32_t col,
                       int32_t columns, float* out, int32_t out_stride);

// The same sums continued from what out holds: each accumulator starts from out[p * out_stride
// + j] instead of 0.0f. Terms split over several calls by ranges of k in increasing order then
// give the bits of one call over all of k (the channel-grouped input gradients rely on it).
void GradTimesInt8RowsAccumulate(int32_t positions, int32_t depth, const float* grad,
                                 int32_t grad_stride, const float* scales,
                                 const FilterRows& rows, int32_t col, int32_t columns, float* out,
                                 int32_t out_stride);

// out[(c - c_begin) * columns + j] for c in [c_begin, c_end), j < columns:
//   (sum over p < positions of grad[p * grad_stride + c] * float(x[p * x_stride + j] + offset))
//   * scale.
void GradTransposeTimesInt8(int32_t positions, const float* grad, int32_t grad_stride,
                            int32_t c_begin, int32_t c_end, const int8_t* x, int32_t x_stride,
                            int32_t offset, int32_t columns, float scale, float* out);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_GRAD_PRODUCT_H_
