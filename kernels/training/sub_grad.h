// Backward pass of SUB, out = in1 - in2 with NumPy broadcasting: in1's gradient is the output
// gradient, in2's its negation, each summed over the output positions that read the element.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_SUB_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_SUB_GRAD_H_

#include <cstdint>

#include "kernels/broadcast.h"

namespace tflm_train {

// which: 0 for in1's gradient, 1 for in2's; grad_input (that operand's elements) is overwritten.
void SubInputGrad(const Broadcast& b, int32_t which, int32_t input_elements,
                  const float* grad_output, float* grad_input);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_SUB_GRAD_H_
