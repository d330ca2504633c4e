// int8 TRANSPOSE: a permutation of up to 5 dimensions (TFLM's limit), bytes moved unchanged.
#ifndef TFLM_TRAIN_KERNELS_TRANSPOSE_H_
#define TFLM_TRAIN_KERNELS_TRANSPOSE_H_

#include <cstdint>

namespace tflm_train {

constexpr int32_t kTransposeMaxDims = 5;

// Walks the output of the permutation in order and calls visit(output index, input offset):
// per output dimension the input moves by its permuted stride. Shared by TRANSPOSE's forward
// (gather) and its gradient (scatter back).
template <typename Visit>
void TransposeWalk(int32_t rank, const int32_t* input_shape, const int32_t* perm, Visit visit) {
  int32_t in_stride[kTransposeMaxDims];
  int32_t stride = 1;
  for (int32_t d = rank - 1; d >= 0; --d) {
    in_stride[d] = stride;
    stride *= input_shape[d];
  }
  int32_t out_shape[kTransposeMaxDims], step[kTransposeMaxDims], index[kTransposeMaxDims];
  int32_t total = 1;
  for (int32_t d = 0; d < rank; ++d) {
    out_shape[d] = input_shape[perm[d]];
    step[d] = in_stride[perm[d]];
    index[d] = 0;
    total *= out_shape[d];
  }
  int32_t offset = 0;
  for (int32_t i = 0; i < total; ++i) {
    visit(i, offset);
    for (int32_t d = rank - 1; d >= 0; --d) {
      offset += step[d];
      if (++index[d] < out_shape[d]) break;
      offset -= step[d] * out_shape[d];
      index[d] = 0;
    }
  }
}

// Output dimension i is input dimension perm[i]; perm is a permutation of 0..rank-1.
void TransposeInt8(int32_t rank, const int32_t* input_shape, const int32_t* perm,
                   const int8_t* input, int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRANSPOSE_H_
