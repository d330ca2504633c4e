// int8 HARD_SWISH, x * relu6(x + 3) / 6, in TFLM's int16 fixed-point formulation: the input on
// a 2^7 finer scale, a "reluish" factor relu6(x + 3) / 6 in [0, 1] and one final rescaling.
#ifndef TFLM_TRAIN_KERNELS_HARD_SWISH_H_
#define TFLM_TRAIN_KERNELS_HARD_SWISH_H_

#include <cstdint>

namespace tflm_train {

struct HardSwishParams {
  int32_t input_zero_point;
  int32_t output_zero_point;
  int16_t output_multiplier;   // fine input scale / output scale, 16-bit fixed point
  int16_t reluish_multiplier;  // fine input scale / (3 / 2^15)
  int32_t output_exponent;     // <= 0
  int32_t reluish_exponent;
};

// False when the output rescaling would need a left shift (output scale below input / 128),
// which TFLM refuses, or when a float multiplier overflows (scales near float's limits).
bool HardSwishPrepare(float input_scale, int32_t input_zero_point, float output_scale,
                      int32_t output_zero_point, HardSwishParams* params);

void HardSwishInt8(const HardSwishParams& params, int32_t size, const int8_t* input,
                   int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_HARD_SWISH_H_
