// Mean-squared-error loss for regression heads, for one sample of `size` outputs:
// loss = (sum over i of (y[i] - t[i])^2) / size, grad[i] = (2 * (y[i] - t[i])) / size, where y is
// the real prediction. Summation in index order from 0.0f; not divided by any batch size.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_MEAN_SQUARED_ERROR_H_
#define TFLM_TRAIN_KERNELS_TRAINING_MEAN_SQUARED_ERROR_H_

#include <cstdint>

namespace tflm_train {

void MeanSquaredError(int32_t size, const float* prediction, const float* target, float* grad,
                      float* loss);

// Prediction saved as int8: y[i] = scale * float(q[i] - zero_point).
void MeanSquaredErrorInt8(int32_t size, const int8_t* prediction, float scale,
                          int32_t zero_point, const float* target, float* grad, float* loss);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_MEAN_SQUARED_ERROR_H_
