// Backward pass of MUL, out = in1 * in2 with NumPy broadcasting: the gradient of one operand is
// the output gradient times the OTHER operand's saved int8 values dequantised as the forward
// saw them, summed over the output positions that read each element (the broadcast axes, e.g.
// H and W of a squeeze-excite gate [N,1,1,C]).
#ifndef TFLM_TRAIN_KERNELS_TRAINING_MUL_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_MUL_GRAD_H_

#include <cstdint>

#include "kernels/broadcast.h"

namespace tflm_train {

// which: 0 for in1's gradient, 1 for in2's. grad_input has the elements of that operand and is
// overwritten; the sums run in output order (the same on every target).
void MulInputGrad(const Broadcast& b, int32_t which, int32_t input_elements, const int8_t* other,
                  float other_scale, int32_t other_zero_point, const float* grad_output,
                  float* grad_input);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_MUL_GRAD_H_
