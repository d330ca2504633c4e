#include "kernels/training/sgd_update.h"

#include <limits>

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

// values -= round(step), saturated to T's range; T is int8_t (weights) or int32_t (bias). The
// difference is formed in int64 so it cannot wrap before the clamp. `limit` is T's step limit.
template <typename T>
void SgdUpdate(const SgdParams& params, const ChannelSlice& slice, const float* grad,
               const float* channel_factor, float* momentum, uint32_t* rng_state, float limit,
               T* values) {
  const int64_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  const int32_t count = slice.c_end - slice.c_begin;
  for (int32_t o = 0; o < slice.outer; ++o) {
    for (int32_t j = 0; j < count; ++j) {
      const int32_t c = slice.c_begin + j;
      const float factor = channel_factor[c];
      T* v = values + (o * slice.channels + c) * slice.inner;
      const int32_t g_base = (o * count + j) * slice.inner;
      for (int32_t k = 0; k < slice.inner; ++k) {
        const float step = Step(params, factor, grad, momentum, g_base + k);
        const int64_t r = RoundStep(step, params.rounding, limit, rng_state);
        int64_t q = static_cast<int64_t>(v[k]) - r;
        if (q > hi) q = hi;
        if (q < lo) q = lo;
        v[k] = static_cast<T>(q);
      }
    }
  }
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
  SgdUpdate(params, slice, grad, channel_factor, momentum, rng_state, kInt8StepLimit, weights);
}

void SgdUpdateInt32(const SgdParams& params, const ChannelSlice& slice, const float* grad,
                    const float* channel_factor, float* momentum, uint32_t* rng_state,
                    int32_t* bias) {
  SgdUpdate(params, slice, grad, channel_factor, momentum, rng_state, kInt32StepLimit, bias);
}

}  // namespace tflm_train
