#include "kernels/tanh.h"

#include "kernels/fixed_point.h"
#include "kernels/quant_math.h"

namespace tflm_train {

void TanhInt8(const SigmoidInputParams& params, int32_t size, const int8_t* input,
              int8_t* output) {
  for (int32_t i = 0; i < size; ++i) {
    const int32_t x = input[i] - params.input_zero_point;
    if (x <= -params.input_range_radius) {
      output[i] = -128;
    } else if (x >= params.input_range_radius) {
      output[i] = 127;
    } else {
      const int32_t q4 =
          MultiplyByQuantizedMultiplier(x, params.input_multiplier, params.input_left_shift);
      const int32_t q = RoundingDivideByPOT(fixed_point::Tanh(q4), 24);  // Q0.31 -> 1/128
      output[i] = static_cast<int8_t>(ClampToRange(q, -128, 127));
    }
  }
}

}  // namespace tflm_train
