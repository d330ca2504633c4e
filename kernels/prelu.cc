#include "kernels/prelu.h"

#include "kernels/quant_math.h"

namespace tflm_train {

void PreluPrepare(float input_scale, int32_t input_zero_point, float alpha_scale,
                  int32_t alpha_zero_point, float output_scale, int32_t output_zero_point,
                  PreluParams* params) {
  params->input_offset = -input_zero_point;
  params->alpha_offset = -alpha_zero_point;
  params->output_offset = output_zero_point;
  params->identity =
      QuantizeMultiplier(static_cast<double>(input_scale) / static_cast<double>(output_scale));
  params->alpha = QuantizeMultiplier(static_cast<double>(input_scale) *
                                     static_cast<double>(alpha_scale) /
                                     static_cast<double>(output_scale));
}

void PreluInt8(const PreluParams& params, const Broadcast& broadcast, const int8_t* input,
               const int8_t* alpha, int8_t* output) {
  ForEachBroadcast(broadcast, [&](int32_t i1, int32_t i2) {
    const int32_t x = input[i1] + params.input_offset;
    int32_t out;
    if (x >= 0) {
      out = MultiplyByQuantizedMultiplier(x, params.identity.multiplier, params.identity.shift);
    } else {
      out = MultiplyByQuantizedMultiplier(x * (alpha[i2] + params.alpha_offset),
                                          params.alpha.multiplier, params.alpha.shift);
    }
    *output++ = static_cast<int8_t>(ClampToRange(out + params.output_offset, -128, 127));
  });
}

}  // namespace tflm_train
