// DEQUANTIZE: int8 -> float.
#ifndef TFLM_TRAIN_KERNELS_DEQUANTIZE_H_
#define TFLM_TRAIN_KERNELS_DEQUANTIZE_H_

#include <cstdint>

namespace tflm_train {

// x = scale * (q - zero_point). TFLM forms this product in double and rounds once to float; as
// |q - zero_point| < 2^9 and scale has a 24-bit mantissa, the product is exact in double, so a
// single float multiply (one correctly rounded product) gives identical bits without doubles.
void DequantizeInt8(int32_t size, const int8_t* input, float input_scale,
                    int32_t input_zero_point, float* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DEQUANTIZE_H_
