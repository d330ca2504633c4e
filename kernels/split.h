// int8 SPLIT / SPLIT_V: one output's share of the input along an axis, bytes unchanged.
#ifndef TFLM_TRAIN_KERNELS_SPLIT_H_
#define TFLM_TRAIN_KERNELS_SPLIT_H_

#include <cstdint>

namespace tflm_train {

// The input viewed as [outer, axis * inner]; the output takes columns [first, first + count)
// of the axis from every outer row: output is [outer, count * inner].
void SplitInt8(const int8_t* input, int32_t outer, int32_t axis, int32_t inner, int32_t first,
               int32_t count, int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_SPLIT_H_
