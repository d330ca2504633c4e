#include "kernels/leaky_relu.h"

#include <cmath>

#include "kernels/quant_math.h"

namespace tflm_train {

bool LeakyReluPrepare(float input_scale, int32_t input_zero_point, float output_scale,
                      int32_t output_zero_point, float alpha, LeakyReluParams* params) {
  params->input_zero_point = input_zero_point;
  params->output_zero_point = output_zero_point;
  // TFLM computes both ratios in float, left to right, and only then widens to double.
  const float alpha_real = input_scale * alpha / output_scale;
  const float identity_real = input_scale / output_scale;
  if (!std::isfinite(alpha_real) || !std::isfinite(identity_real)) return false;
  params->alpha = QuantizeMultiplier(static_cast<double>(alpha_real));
  params->identity = QuantizeMultiplier(static_cast<double>(identity_real));
  return true;
}

void LeakyReluInt8(const LeakyReluParams& params, int32_t size, const int8_t* input,
                   int8_t* output) {
  for (int32_t i = 0; i < size; ++i) {
    const int32_t x = input[i] - params.input_zero_point;
    const QuantMultiplier& m = x >= 0 ? params.identity : params.alpha;
    const int32_t out =
        params.output_zero_point + MultiplyByQuantizedMultiplier(x, m.multiplier, m.shift);
    output[i] = static_cast<int8_t>(ClampToRange(out, -128, 127));
  }
}

}  // namespace tflm_train
