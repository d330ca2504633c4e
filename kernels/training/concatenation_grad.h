// Backward pass of CONCATENATION: grad_output is split along the concatenation axis.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_CONCATENATION_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_CONCATENATION_GRAD_H_

#include <cstdint>

namespace tflm_train {

// The output is viewed as [outer, sum(axis_sizes), inner] (outer = product of the dims before the
// axis, inner = product after). grad_inputs[k] receives [outer, axis_sizes[k], inner]. A null
// grad_inputs[k] skips that input (e.g. a constant or an input that needs no gradient).
void ConcatenationGrad(int32_t outer, int32_t inner, int32_t num_inputs,
                       const int32_t* axis_sizes, const float* grad_output,
                       float* const* grad_inputs);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_CONCATENATION_GRAD_H_
