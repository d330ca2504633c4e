// QUANTIZE: float -> int8, and int8 -> int8 requantisation.
#ifndef TFLM_TRAIN_KERNELS_QUANTIZE_H_
#define TFLM_TRAIN_KERNELS_QUANTIZE_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

// q = clamp(round(x / scale) + zero_point); division and rounding in float.
void QuantizeFloatToInt8(int32_t size, const float* input, float output_scale,
                         int32_t output_zero_point, int8_t* output);

struct RequantizeParams {
  int32_t input_zero_point;
  int32_t output_zero_point;
  QuantMultiplier multiplier;  // input_scale / output_scale
};

RequantizeParams RequantizePrepare(float input_scale, int32_t input_zero_point,
                                   float output_scale, int32_t output_zero_point);

void RequantizeInt8(const RequantizeParams& params, int32_t size, const int8_t* input,
                    int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_QUANTIZE_H_
