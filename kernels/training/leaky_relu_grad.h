// Backward pass of LEAKY_RELU from the saved int8 INPUT: the gradient passes where the real
// input is above 0 (q > zero_point) and is scaled by alpha elsewhere, TF's choice at 0.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_LEAKY_RELU_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_LEAKY_RELU_GRAD_H_

#include <cstdint>

namespace tflm_train {

void LeakyReluGrad(int32_t size, const int8_t* input, int32_t zero_point, float alpha,
                   const float* grad_output, float* grad_input);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_LEAKY_RELU_GRAD_H_
