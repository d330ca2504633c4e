// int8 LEAKY_RELU: non-negative inputs rescaled by input / output scale, negative ones by
// alpha * input / output scale (two multipliers, as TFLM).
#ifndef TFLM_TRAIN_KERNELS_LEAKY_RELU_H_
#define TFLM_TRAIN_KERNELS_LEAKY_RELU_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

struct LeakyReluParams {
  int32_t input_zero_point;
  int32_t output_zero_point;
  QuantMultiplier identity;
  QuantMultiplier alpha;  // negative multiplier for a negative alpha
};

// False when a float multiplier overflows (extreme scales or alpha), where TFLM's conversion is
// undefined.
bool LeakyReluPrepare(float input_scale, int32_t input_zero_point, float output_scale,
                      int32_t output_zero_point, float alpha, LeakyReluParams* params);

void LeakyReluInt8(const LeakyReluParams& params, int32_t size, const int8_t* input,
                   int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_LEAKY_RELU_H_
