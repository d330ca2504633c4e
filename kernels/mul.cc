#include "kernels/mul.h"

namespace tflm_train {

void MulPrepare(float input1_scale, int32_t input1_zero_point, float input2_scale,
                int32_t input2_zero_point, float output_scale, int32_t output_zero_point,
                FusedActivation activation, MulParams* params) {
  params->input1_offset = -input1_zero_point;
  params->input2_offset = -input2_zero_point;
  params->output_offset = output_zero_point;
  // TFLM widens each scale to double before the product and the quotient.
  const double real = static_cast<double>(input1_scale) * static_cast<double>(input2_scale) /
                      static_cast<double>(output_scale);
  params->output = QuantizeMultiplier(real);
  params->activation = ActivationRangeInt8(activation, output_scale, output_zero_point);
}

namespace {

inline int8_t MulOne(const MulParams& p, int32_t a, int32_t b) {
  // |a + offset| <= 255, so the product fits int32 before the requantisation.
  const int32_t product = (a + p.input1_offset) * (b + p.input2_offset);
  const int32_t out =
      MultiplyByQuantizedMultiplier(product, p.output.multiplier, p.output.shift) +
      p.output_offset;
  return static_cast<int8_t>(ClampToRange(out, p.activation.min, p.activation.max));
}

}  // namespace

void MulInt8(const MulParams& params, int32_t size, const int8_t* input1, const int8_t* input2,
             int8_t* output) {
  for (int32_t i = 0; i < size; ++i) output[i] = MulOne(params, input1[i], input2[i]);
}

void MulBroadcastInt8(const MulParams& params, const Broadcast& broadcast, const int8_t* input1,
                      const int8_t* input2, int8_t* output) {
  ForEachBroadcast(broadcast, [&](int32_t i1, int32_t i2) {
    *output++ = MulOne(params, input1[i1], input2[i2]);
  });
}

}  // namespace tflm_train
