#include "kernels/training/sgd_update.h"

#include "kernels/training/float_math.h"

namespace tflm_train {
namespace {

// |step| beyond these cannot change the saturated result (int8: |q| <= 128 < 1024;
// int32: |q| < 2^31 < 2^33), and clamping keeps the float -> int64 conversion defined.
constexpr float kInt8StepLimit = 1024.0f;
constexpr float kInt32StepLimit = 8589934592.0f;  // 2^33

// Step for element at grad index i, updating the momentum state first when present.
inline float Step(const SgdParams& params, float factor, const float* grad, float* momentum,
                  int32_t i) {
  float g = grad[i];
  if (momentum != nullptr) {
    g = params.momentum * momentum[i] + g;
    momentum[i] = g;
  }
  return (params.learning_rate * factor) * g;
}

}  // namespace

int64_t RoundStep(float step, RoundingMode rounding, float limit, uint32_t* rng_state) {
  float u = 0.0f;
  if (rounding == RoundingMode::kStochastic) {
    u = static_cast<float>(XorShift32(rng_state) >> 8) * (1.0f / 16777216.0f);
  }
  if (step != step) return 0;
  if (step > limit) step = limit;
  if (step < -limit) step = -limit;
  // Work on |step|: a = i + fa with fa = a - Floor(a) exact (no bits below a's ulp are created).
  const bool negative = step < 0.0f;
  const float a = negative ? -step : step;
  const float fl = Floor(a);
  const float fa = a - fl;
  const int64_t i = static_cast<int64_t>(fl);
  if (rounding == RoundingMode::kNearest) {
    const int64_t r = (fa >= 0.5f) ? i + 1 : i;  // ties (fa == 0.5) away from zero
    return negative ? -r : r;
  }
  // floor(step + u) exactly. step >= 0: i + [fa + u >= 1] = i + [fa >= 1 - u], 1 - u exact on the
  // 2^-24 grid. step < 0 (step = -(i + fa)): -(i + 1) + [u >= 1 - (1 - fa)] = -(i+1) + [u >= fa]
  // for fa > 0, and exactly -i for fa == 0.
  if (!negative) return (fa >= 1.0f - u) ? i + 1 : i;
  if (fa == 0.0f) return -i;
  return (u >= fa) ? -i : -(i + 1);
}

void SgdUpdateInt8(const SgdParams& params, const ChannelSlice& slice, const float* grad,
                   const float* channel_factor, float* momentum, uint32_t* rng_state,
                   int8_t* weights) {
  const int32_t count = slice.c_end - slice.c_begin;
  for (int32_t o = 0; o < slice.outer; ++o) {
    for (int32_t j = 0; j < count; ++j) {
      const int32_t c = slice.c_begin + j;
      const float factor = channel_factor[c];
      int8_t* w = weights + (o * slice.channels + c) * slice.inner;
      const int32_t g_base = (o * count + j) * slice.inner;
      for (int32_t k = 0; k < slice.inner; ++k) {
        const float step = Step(params, factor, grad, momentum, g_base + k);
        const int64_t r = RoundStep(step, params.rounding, kInt8StepLimit, rng_state);
        int64_t q = static_cast<int64_t>(w[k]) - r;
        if (q > 127) q = 127;
        if (q < -128) q = -128;
        w[k] = static_cast<int8_t>(q);
      }
    }
  }
}

void SgdUpdateInt32(const SgdParams& params, const ChannelSlice& slice, const float* grad,
                    const float* channel_factor, float* momentum, uint32_t* rng_state,
                    int32_t* bias) {
  const int32_t count = slice.c_end - slice.c_begin;
  for (int32_t o = 0; o < slice.outer; ++o) {
    for (int32_t j = 0; j < count; ++j) {
      const int32_t c = slice.c_begin + j;
      const float factor = channel_factor[c];
      int32_t* b = bias + (o * slice.channels + c) * slice.inner;
      const int32_t g_base = (o * count + j) * slice.inner;
      for (int32_t k = 0; k < slice.inner; ++k) {
        const float step = Step(params, factor, grad, momentum, g_base + k);
        const int64_t r = RoundStep(step, params.rounding, kInt32StepLimit, rng_state);
        int64_t q = static_cast<int64_t>(b[k]) - r;
        if (q > INT32_MAX) q = INT32_MAX;
        if (q < INT32_MIN) q = INT32_MIN;
        b[k] = static_cast<int32_t>(q);
      }
    }
  }
}

}  // namespace tflm_train
