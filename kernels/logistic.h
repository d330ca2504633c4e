// int8 LOGISTIC as TFLM's reference kernel: inputs beyond a radius saturate, the others are
// rescaled to a 4-integer-bit fixed-point value and go through gemmlowp's fixed-point logistic
// (kernels/fixed_point.h); the output has scale 1/256 and zero point -128.
#ifndef TFLM_TRAIN_KERNELS_LOGISTIC_H_
#define TFLM_TRAIN_KERNELS_LOGISTIC_H_

#include <cstdint>

namespace tflm_train {

// Input rescaling shared by LOGISTIC and TANH (both read a 4-integer-bit value).
struct SigmoidInputParams {
  int32_t input_zero_point;
  int32_t input_multiplier;
  int32_t input_left_shift;  // in [0, 30] when input_range_radius > 0
  int32_t input_range_radius;
};

// False when the input scale is outside [2^-28, 2^35): TFLM's radius computation shifts by a
// negative amount or past 63 bits there (undefined behaviour, results differ by compiler).
bool SigmoidInputPrepare(float input_scale, int32_t input_zero_point,
                         SigmoidInputParams* params);

void LogisticInt8(const SigmoidInputParams& params, int32_t size, const int8_t* input,
                  int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_LOGISTIC_H_
