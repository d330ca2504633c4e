#include "kernels/quantize.h"

#include "kernels/quant_math.h"

namespace tflm_train {

void QuantizeFloatToInt8(int32_t size, const float* input, float output_scale,
                         int32_t output_zero_point, int8_t* output) {
  for (int32_t i = 0; i < size; ++i) {
    const int32_t q =
        static_cast<int32_t>(RoundHalfAwayF(input[i] / output_scale)) + output_zero_point;
    output[i] = static_cast<int8_t>(ClampToRange(q, -128, 127));
  }
}

RequantizeParams RequantizePrepare(float input_scale, int32_t input_zero_point,
                                   float output_scale, int32_t output_zero_point) {
  RequantizeParams p;
  p.input_zero_point = input_zero_point;
  p.output_zero_point = output_zero_point;
  p.multiplier =
      QuantizeMultiplier(static_cast<double>(input_scale) / static_cast<double>(output_scale));
  return p;
}

void RequantizeInt8(const RequantizeParams& params, int32_t size, const int8_t* input,
                    int8_t* output) {
  for (int32_t i = 0; i < size; ++i) {
    const int32_t v = MultiplyByQuantizedMultiplier(input[i] - params.input_zero_point,
                                                    params.multiplier.multiplier,
                                                    params.multiplier.shift) +
                      params.output_zero_point;
    output[i] = static_cast<int8_t>(ClampToRange(v, -128, 127));
  }
}

}  // namespace tflm_train
