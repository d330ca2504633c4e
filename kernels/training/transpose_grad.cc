#include "kernels/training/transpose_grad.h"

#include "kernels/transpose.h"

namespace tflm_train {

void TransposeGrad(int32_t rank, const int32_t* input_shape, const int32_t* perm,
                   const float* grad_output, float* grad_input) {
  // The forward's walk, each output gradient sent back to the input position it came from.
  TransposeWalk(rank, input_shape, perm,
                [&](int32_t i, int32_t offset) { grad_input[offset] = grad_output[i]; });
}

}  // namespace tflm_train
