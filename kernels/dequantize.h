// DEQUANTIZE: int8 -> float.
#ifndef TFLM_TRAIN_KERNELS_DEQUANTIZE_H_
#define TFLM_TRAIN_KERNELS_DEQUANTIZE_H_

#include <cstdint>

namespace tflm_train {

// x = float(double(scale) * (q - zero_point)): TFLM keeps the scale in double here, so the
// product is formed in double and rounded to float once.
void DequantizeInt8(int32_t size, const int8_t* input, float input_scale,
                    int32_t input_zero_point, float* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DEQUANTIZE_H_
