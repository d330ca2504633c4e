#include "kernels/logistic.h"

#include <cmath>

#include "kernels/fixed_point.h"
#include "kernels/quant_math.h"

namespace tflm_train {

bool SigmoidInputPrepare(float input_scale, int32_t input_zero_point,
                         SigmoidInputParams* params) {
  constexpr int32_t kInputIntegerBits = 4;
  const double real = static_cast<double>(input_scale) *
                      static_cast<double>(int32_t{1} << (31 - kInputIntegerBits));
  int exponent = 0;
  const double q = std::frexp(real, &exponent);
  if (exponent < 0 || exponent > 62) return false;
  params->input_zero_point = input_zero_point;
  // q has a float's 24-bit mantissa, so q * 2^31 is an integer below 2^31: no rounding carry.
  params->input_multiplier =
      static_cast<int32_t>(RoundHalfAway(q * static_cast<double>(int64_t{1} << 31)));
  params->input_left_shift = exponent;
  // floor(15 * 2^27 / 2^exponent): the largest |input| whose rescaled value has 4 integer bits.
  params->input_range_radius = static_cast<int32_t>((int64_t{15} << 27) >> exponent);
  return true;
}

void LogisticInt8(const SigmoidInputParams& params, int32_t size, const int8_t* input,
                  int8_t* output) {
  // Q0.31 -> 1/256 steps, then the zero point -128.
  SaturatingSigmoidInt8(params, size, input, output, fixed_point::Logistic, 23, -128);
}

}  // namespace tflm_train
