// int8 TRANSPOSE: a permutation of up to 5 dimensions (TFLM's limit), bytes moved unchanged.
#ifndef TFLM_TRAIN_KERNELS_TRANSPOSE_H_
#define TFLM_TRAIN_KERNELS_TRANSPOSE_H_

#include <cstdint>

namespace tflm_train {

constexpr int32_t kTransposeMaxDims = 5;

// Output dimension i is input dimension perm[i]; perm is a permutation of 0..rank-1.
void TransposeInt8(int32_t rank, const int32_t* input_shape, const int32_t* perm,
                   const int8_t* input, int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRANSPOSE_H_
