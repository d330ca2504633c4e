#include "kernels/transpose.h"

namespace tflm_train {

void TransposeInt8(int32_t rank, const int32_t* input_shape, const int32_t* perm,
                   const int8_t* input, int8_t* output) {
  TransposeWalk(rank, input_shape, perm,
                [&](int32_t i, int32_t offset) { output[i] = input[offset]; });
}

}  // namespace tflm_train
