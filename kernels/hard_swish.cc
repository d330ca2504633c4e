#include "kernels/hard_swish.h"

#include <cmath>

#include "kernels/quant_math.h"

namespace tflm_train {
namespace {

// TFLM rounds a Q31 multiplier to Q15, saturating where the rounding would carry past 2^31.
int16_t DownScaleToInt16(int32_t multiplier) {
  constexpr int32_t kRound = int32_t{1} << 15;
  if (multiplier >= INT32_MAX - kRound) return INT16_MAX;
  return static_cast<int16_t>((multiplier + kRound) >> 16);
}

// The int16 counterparts of quant_math.h's helpers, with TFLM's int16 semantics.
int16_t RoundingDoublingHighMul16(int16_t a, int16_t b) {
  if (a == b && a == INT16_MIN) return INT16_MAX;
  const int32_t ab = static_cast<int32_t>(a) * b;
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return static_cast<int16_t>((ab + nudge) / (1 << 15));
}

int16_t DoublingHighMul16(int16_t a, int16_t b) {  // truncating, no rounding
  if (a == b && a == INT16_MIN) return INT16_MAX;
  return static_cast<int16_t>((static_cast<int32_t>(a) * b) / (1 << 15));
}

int16_t SaturatingShiftLeft16(int16_t x, int32_t amount) {
  const int64_t v = static_cast<int64_t>(x) * (int64_t{1} << amount);
  return static_cast<int16_t>(v > INT16_MAX ? INT16_MAX : (v < INT16_MIN ? INT16_MIN : v));
}

// Rounding right shift on int16 values, exponent in [0, 31]. The mask is computed in 64 bits
// and then narrowed to int16 as TFLM's int16 instantiation does, which matters only for
// exponents of 16 and more (multipliers below 2^-16: extreme scales).
int16_t RoundingDivideByPOT16(int16_t x, int32_t exponent) {
  const int16_t mask = static_cast<int16_t>((int64_t{1} << exponent) - 1);
  const int16_t remainder = static_cast<int16_t>(x & mask);
  const int16_t threshold = static_cast<int16_t>((mask >> 1) + (x < 0 ? 1 : 0));
  return static_cast<int16_t>((x >> exponent) + (remainder > threshold ? 1 : 0));
}

}  // namespace

bool HardSwishPrepare(float input_scale, int32_t input_zero_point, float output_scale,
                      int32_t output_zero_point, HardSwishParams* params) {
  params->input_zero_point = input_zero_point;
  params->output_zero_point = output_zero_point;
  // TFLM divides in float and only then widens to double.
  const float fine_input_scale = (1.0f / 128.0f) * input_scale;
  const float reluish_scale = 3.0f / 32768.0f;
  const float out_real = fine_input_scale / output_scale;
  const float reluish_real = fine_input_scale / reluish_scale;
  // Float quotients of extreme scales overflow, where TFLM's conversion is undefined.
  if (!std::isfinite(out_real) || !std::isfinite(reluish_real)) return false;
  const QuantMultiplier out = QuantizeMultiplier(static_cast<double>(out_real));
  const QuantMultiplier reluish = QuantizeMultiplier(static_cast<double>(reluish_real));
  params->output_multiplier = DownScaleToInt16(out.multiplier);
  params->output_exponent = out.shift;
  params->reluish_multiplier = DownScaleToInt16(reluish.multiplier);
  params->reluish_exponent = reluish.shift;
  return out.shift <= 0;
}

void HardSwishInt8(const HardSwishParams& params, int32_t size, const int8_t* input,
                   int8_t* output) {
  for (int32_t i = 0; i < size; ++i) {
    const int16_t fine = static_cast<int16_t>((input[i] - params.input_zero_point) * 128);
    const int16_t pre_output = RoundingDoublingHighMul16(fine, params.output_multiplier);
    // relu6(x + 3) / 6 mapped to [-1, 1] first, the left shift split around the multiply so
    // that its saturation cannot change the result.
    int16_t reluish = fine;
    if (params.reluish_exponent > 0) {
      reluish = SaturatingShiftLeft16(reluish, params.reluish_exponent - 1);
    }
    reluish = RoundingDoublingHighMul16(reluish, params.reluish_multiplier);
    if (params.reluish_exponent > 0) reluish = SaturatingShiftLeft16(reluish, 1);
    if (params.reluish_exponent < 0) {
      reluish = RoundingDivideByPOT16(reluish, -params.reluish_exponent);
    }
    reluish = static_cast<int16_t>((reluish + (1 << 15)) >> 1);  // [-1, 1] -> [0, 1]
    const int16_t product = DoublingHighMul16(reluish, pre_output);
    // TFLM adds the zero point in int16 (wrapping, with output scales near input / 128).
    const int16_t out = static_cast<int16_t>(
        RoundingDivideByPOT16(product, -params.output_exponent) + params.output_zero_point);
    output[i] = static_cast<int8_t>(ClampToRange(out, -128, 127));
  }
}

}  // namespace tflm_train
