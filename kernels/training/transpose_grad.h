// Backward pass of TRANSPOSE: the output gradient permuted back (each element goes to the input
// position the forward read it from).
#ifndef TFLM_TRAIN_KERNELS_TRAINING_TRANSPOSE_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_TRANSPOSE_GRAD_H_

#include <cstdint>

namespace tflm_train {

// input_shape and perm as for TransposeInt8 (kernels/transpose.h), rank <= kTransposeMaxDims.
void TransposeGrad(int32_t rank, const int32_t* input_shape, const int32_t* perm,
                   const float* grad_output, float* grad_input);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_TRANSPOSE_GRAD_H_
