#include "kernels/relu.h"

#include "kernels/quant_math.h"

namespace tflm_train {

void ReluPrepare(float input_scale, int32_t input_zero_point, float output_scale,
                 int32_t output_zero_point, ReluParams* params) {
  params->input_zero_point = input_zero_point;
  params->output_zero_point = output_zero_point;
  params->output =
      QuantizeMultiplier(static_cast<double>(input_scale) / static_cast<double>(output_scale));
  // round(0 / scale) is 0: the lower bound is the zero point, the upper one int8's.
  params->activation = ActivationRange{output_zero_point > -128 ? output_zero_point : -128, 127};
}

void ReluInt8(const ReluParams& params, int32_t size, const int8_t* input, int8_t* output) {
  for (int32_t i = 0; i < size; ++i) {
    const int32_t out = params.output_zero_point +
                        MultiplyByQuantizedMultiplier(input[i] - params.input_zero_point,
                                                      params.output.multiplier,
                                                      params.output.shift);
    output[i] =
        static_cast<int8_t>(ClampToRange(out, params.activation.min, params.activation.max));
  }
}

bool Relu6Prepare(float input_scale, int32_t input_zero_point, ActivationRange* range) {
  const float six = RoundHalfAwayF(6.0f / input_scale);
  if (!(six < 1073741824.0f)) return false;
  const int32_t q = static_cast<int32_t>(six) + input_zero_point;
  range->min = input_zero_point;
  range->max = q > 127 ? 127 : (q < -128 ? -128 : q);
  return true;
}

void Relu6Int8(const ActivationRange& range, int32_t size, const int8_t* input, int8_t* output) {
  for (int32_t i = 0; i < size; ++i) {
    output[i] = static_cast<int8_t>(ClampToRange(input[i], range.min, range.max));
  }
}

}  // namespace tflm_train
