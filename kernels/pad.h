// int8 PAD / PADV2 on up to 4-D tensors (shapes extended with leading 1s). Input and output share
// quantisation, so padding is a copy plus a fill value.
#ifndef TFLM_TRAIN_KERNELS_PAD_H_
#define TFLM_TRAIN_KERNELS_PAD_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

// PAD fills with the output zero point; PADV2 with its (already int8) constant value.
inline int8_t PadValue(bool has_constant, int8_t constant, int32_t output_zero_point) {
  return has_constant ? constant : static_cast<int8_t>(output_zero_point);
}

// before/after: padding per dimension in NHWC order. output_dims must equal input_dims plus
// padding.
void PadInt8(const Dims& input_dims, const int8_t* input, const int32_t before[4],
             const int32_t after[4], int8_t pad_value, int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_PAD_H_
