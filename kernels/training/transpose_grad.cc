#include "kernels/training/transpose_grad.h"

#include "kernels/transpose.h"

namespace tflm_train {

void TransposeGrad(int32_t rank, const int32_t* input_shape, const int32_t* perm,
                   const float* grad_output, float* grad_input) {
  int32_t in_stride[kTransposeMaxDims];
  int32_t stride = 1;
  for (int32_t d = rank - 1; d >= 0; --d) {
    in_stride[d] = stride;
    stride *= input_shape[d];
  }
  // The forward's walk: the output in order, the input position moving by the permuted strides.
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
    grad_input[offset] = grad_output[i];
    for (int32_t d = rank - 1; d >= 0; --d) {
      offset += step[d];
      if (++index[d] < out_shape[d]) break;
      offset -= step[d] * out_shape[d];
      index[d] = 0;
    }
  }
}

}  // namespace tflm_train
