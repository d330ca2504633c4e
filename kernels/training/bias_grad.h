// Bias gradient shared by conv, depthwise conv and fully connected: the bias is added once per
// output position, so its gradient is the sum of grad_output over every position of a channel.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_BIAS_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_BIAS_GRAD_H_

#include <cstdint>

namespace tflm_train {

// grad_output is [positions, channels] (positions = N*Ho*Wo for conv, batches for FC).
// Writes grad_bias[c - c_begin] for c in [c_begin, c_end).
// Summation: one float accumulator from 0.0f, positions in increasing memory order.
void BiasGrad(int32_t positions, int32_t channels, const float* grad_output, int32_t c_begin,
              int32_t c_end, float* grad_bias);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_BIAS_GRAD_H_
