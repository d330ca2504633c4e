// int8 CONCATENATION along any axis. The tensor is viewed as outer x (axis x inner): each input
// contributes a contiguous block of axis_size[i] * inner elements per outer index.
#ifndef TFLM_TRAIN_KERNELS_CONCATENATION_H_
#define TFLM_TRAIN_KERNELS_CONCATENATION_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

// Per-input requantisation to the output's parameters (identity when the params are equal).
struct ConcatInputQuant {
  bool identity;
  int32_t input_zero_point;
  int32_t output_zero_point;
  QuantMultiplier multiplier;  // input_scale / output_scale
};

// outer = product of dims before axis, inner = product of dims after it (axis may be negative).
// Returns false for an out-of-range axis.
bool ConcatenationOuterInner(const int32_t* dims, int32_t rank, int32_t axis, int32_t* outer,
                             int32_t* inner);

// TFLM fails Prepare for int8 unless every input has exactly the output's scale and zero point;
// the requantising path (identity == false) is an extension with QUANTIZE int8->int8 semantics.
ConcatInputQuant ConcatenationPrepareInput(float input_scale, int32_t input_zero_point,
                                           float output_scale, int32_t output_zero_point);

// quant may be null: raw copy (this is what TFLM does for int8, which requires equal params).
void ConcatenationInt8(int32_t num_inputs, const int8_t* const* inputs, const int32_t* axis_sizes,
                       const ConcatInputQuant* quant, int32_t outer_size, int32_t inner_size,
                       int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_CONCATENATION_H_
