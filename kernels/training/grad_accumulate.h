// Helpers for mini-batches and for tensors with several consumers: gradients of successive
// samples (or of several consumers) are summed into a float buffer, then optionally scaled once
// (e.g. by 1/batch) before the update.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_GRAD_ACCUMULATE_H_
#define TFLM_TRAIN_KERNELS_TRAINING_GRAD_ACCUMULATE_H_

#include <cstdint>

namespace tflm_train {

// accumulator[i] = accumulator[i] + grad[i]. Calls happen in sample order, which fixes the
// summation order.
void GradAccumulate(int32_t size, const float* grad, float* accumulator);

// buffer[i] = buffer[i] * factor.
void GradScale(int32_t size, float factor, float* buffer);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_GRAD_ACCUMULATE_H_
