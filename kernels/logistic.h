// int8 LOGISTIC as TFLM's reference kernel: inputs beyond a radius saturate, the others are
// rescaled to a 4-integer-bit fixed-point value and go through gemmlowp's fixed-point logistic
// (kernels/fixed_point.h); the output has scale 1/256 and zero point -128.
#ifndef TFLM_TRAIN_KERNELS_LOGISTIC_H_
#define TFLM_TRAIN_KERNELS_LOGISTIC_H_

#include <cstdint>

#include "kernels/fixed_point.h"
#include "kernels/quant_math.h"

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

// LOGISTIC and TANH share everything but the fixed-point function (Q4.27 -> Q0.31) and where
// its result lands: divided by 2^out_shift, then moved by out_zero_point.
template <typename Q31Function>
inline void SaturatingSigmoidInt8(const SigmoidInputParams& params, int32_t size,
                                  const int8_t* input, int8_t* output, Q31Function function,
                                  int out_shift, int32_t out_zero_point) {
  for (int32_t i = 0; i < size; ++i) {
    const int32_t x = input[i] - params.input_zero_point;
    if (x <= -params.input_range_radius) {
      output[i] = -128;
    } else if (x >= params.input_range_radius) {
      output[i] = 127;
    } else {
      const int32_t q4 =
          MultiplyByQuantizedMultiplier(x, params.input_multiplier, params.input_left_shift);
      const int32_t q = RoundingDivideByPOT(function(q4), out_shift) + out_zero_point;
      output[i] = static_cast<int8_t>(ClampToRange(q, -128, 127));
    }
  }
}

void LogisticInt8(const SigmoidInputParams& params, int32_t size, const int8_t* input,
                  int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_LOGISTIC_H_
