#include "kernels/training/sgd_update.h"

#include <cmath>
#include <cstring>
#include <limits>

#if defined(__ARM_FEATURE_SAT)
#include <arm_acle.h>
#endif

namespace tflm_train {
namespace {

// |step| beyond these cannot change the saturated result (int8: |q| <= 128 < 1024;
// int32: |q| < 2^31 < 2^33), and clamping keeps the float -> int64 conversion defined.
constexpr float kInt8StepLimit = 1024.0f;
constexpr float kInt32StepLimit = 8589934592.0f;  // 2^33

// x = whole + frac with whole = trunc(x) as I and frac = x - whole exact, for |x| < 2^63. Where
// I is int64_t the conversions go through int32_t (VCVT on the FPU): GCC's int64 casts call
// libgcc's double routines on the Cortex-M4 (~240 estimated cycles per bias update, ~1 M of a
// MobileNetV2 step). From 2^31 up a float is a whole number: its mantissa shifted into place.
template <typename I>
struct Truncated {
  I whole;
  float frac;
};

template <typename I>
inline Truncated<I> Truncate(float x) {
  if constexpr (sizeof(I) > sizeof(int32_t)) {
    if (!(std::fabs(x) < 2147483648.0f)) {
      uint32_t bits;
      std::memcpy(&bits, &x, sizeof(bits));
      const int32_t shift = static_cast<int32_t>((bits >> 23) & 0xffu) - 150;  // >= 8
      const I magnitude = static_cast<I>((bits & 0x7fffffu) | 0x800000u) << shift;
      return {(bits >> 31) != 0 ? -magnitude : magnitude, 0.0f};
    }
  }
  const int32_t whole = static_cast<int32_t>(x);
  return {whole, x - static_cast<float>(whole)};
}

// The rounding of RoundStep with the rounding mode fixed at compile time and an integer type I
// wide enough for `limit` (int32_t for int8 weights: the update loop then needs no 64-bit
// arithmetic).
template <typename I, bool kStochastic>
inline I RoundStepAs(float step, float limit, uint32_t* rng_state) {
  float u = 0.0f;
  if (kStochastic) u = static_cast<float>(XorShift32(rng_state) >> 8) * (1.0f / 16777216.0f);
  // One test in the common case: NaN fails it too.
  if (!(std::fabs(step) <= limit)) {
    if (step != step) return 0;
    step = step > 0.0f ? limit : -limit;
  }
  if constexpr (!kStochastic && sizeof(I) == sizeof(int32_t)) {
    // Nearest, ties away from zero, from t = trunc(2 * step) (2 * step exact, |t| <= 2 * limit):
    // for step >= 0 it is floor(step + 1/2) = floor((floor(2 * step) + 1) / 2) = floor((t + 1)
    // / 2), and by symmetry (t - 1) / 2 toward zero below, which is floor(t / 2) for t < 0.
    // Both are (t + 1 + (t >> 31)) >> 1 with arithmetic shifts: three ALU instructions where the
    // fraction's float compares cost two VMRS and a branch (~29 -> ~22 estimated M4 cycles a
    // weight).
    const int32_t t = static_cast<int32_t>(step * 2.0f);
    return (t + 1 + (t >> 31)) >> 1;
  }
  // step = t + frac with t = trunc(step) and frac = step - t exact (no bits below step's ulp
  // are created), |frac| < 1 with the sign of step.
  const Truncated<I> split = Truncate<I>(step);
  const float frac = split.frac;
  I r = split.whole;
  if (!kStochastic) {
    // Nearest, ties (|frac| == 0.5) away from zero.
    if (frac >= 0.5f) ++r;
    if (frac <= -0.5f) --r;
    return r;
  }
  // floor(step + u) = t + floor(frac + u) exactly, frac + u in (-1, 2): +1 iff frac >= 1 - u
  // (1 - u exact on the 2^-24 grid), -1 iff u < -frac. E[floor(step + u)] = step (to 2^-24).
  if (frac >= 1.0f - u) ++r;
  if (u < -frac) --r;
  return r;
}

// q clamped to [lo, hi] = T's range; one SSAT instruction for int8 where the core has it.
template <typename T, typename I>
inline I Saturate(I q, I lo, I hi) {
#if defined(__ARM_FEATURE_SAT)
  if constexpr (sizeof(T) == 1 && sizeof(I) == 4) return __ssat(q, 8);
#endif
  if (q > hi) q = hi;
  if (q < lo) q = lo;
  return q;
}

// values -= round(step), saturated to T's range; T is int8_t (weights, I = int32_t) or int32_t
// (bias, I = int64_t, so the difference cannot wrap before the clamp). `limit` is T's step limit.
// Per element: step = (lr * f[c]) * g, with g = mu * m + g stored back first when momentum.
template <typename T, typename I, bool kStochastic, bool kMomentum>
void SgdUpdateLoop(const SgdParams& params, const ChannelSlice& slice, const float* grad,
                   const float* channel_factor, float* momentum, uint32_t* rng_state, float limit,
                   T* values) {
  const I lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  // Locals, not reads through params / slice: the int8 stores may alias anything.
  const int32_t count = slice.c_end - slice.c_begin, inner = slice.inner;
  const float lr = params.learning_rate, mu = params.momentum;
  uint32_t rng = kStochastic ? *rng_state : 0;  // in a register for the loop
  for (int32_t o = 0; o < slice.outer; ++o) {
    for (int32_t j = 0; j < count; ++j) {
      const int32_t c = slice.c_begin + j;
      const float lf = lr * channel_factor[c];
      T* v = values + (o * slice.channels + c) * inner;
      const int32_t g_base = (o * count + j) * inner;
      const float* g = grad + g_base;
      float* m = kMomentum ? momentum + g_base : nullptr;
      for (int32_t k = 0; k < inner; ++k) {
        float gk = g[k];
        if (kMomentum) {
          gk = mu * m[k] + gk;
          m[k] = gk;
        }
        const I r = RoundStepAs<I, kStochastic>(lf * gk, limit, &rng);
        v[k] = static_cast<T>(Saturate<T>(static_cast<I>(v[k]) - r, lo, hi));
      }
    }
  }
  if (kStochastic) *rng_state = rng;
}

template <typename T, typename I>
void SgdUpdate(const SgdParams& params, const ChannelSlice& slice, const float* grad,
               const float* channel_factor, float* momentum, uint32_t* rng_state, float limit,
               T* values) {
  const bool stochastic = params.rounding == RoundingMode::kStochastic;
  if (momentum != nullptr) {
    if (stochastic) {
      SgdUpdateLoop<T, I, true, true>(params, slice, grad, channel_factor, momentum, rng_state,
                                      limit, values);
    } else {
      SgdUpdateLoop<T, I, false, true>(params, slice, grad, channel_factor, momentum, rng_state,
                                       limit, values);
    }
  } else if (stochastic) {
    SgdUpdateLoop<T, I, true, false>(params, slice, grad, channel_factor, momentum, rng_state,
                                     limit, values);
  } else {
    SgdUpdateLoop<T, I, false, false>(params, slice, grad, channel_factor, momentum, rng_state,
                                      limit, values);
  }
}

}  // namespace

int64_t RoundStep(float step, RoundingMode rounding, float limit, uint32_t* rng_state) {
  return rounding == RoundingMode::kStochastic
             ? RoundStepAs<int64_t, true>(step, limit, rng_state)
             : RoundStepAs<int64_t, false>(step, limit, rng_state);
}

void SgdUpdateInt8(const SgdParams& params, const ChannelSlice& slice, const float* grad,
                   const float* channel_factor, float* momentum, uint32_t* rng_state,
                   int8_t* weights) {
  SgdUpdate<int8_t, int32_t>(params, slice, grad, channel_factor, momentum, rng_state,
                             kInt8StepLimit, weights);
}

void SgdUpdateInt32(const SgdParams& params, const ChannelSlice& slice, const float* grad,
                    const float* channel_factor, float* momentum, uint32_t* rng_state,
                    int32_t* bias) {
  SgdUpdate<int32_t, int64_t>(params, slice, grad, channel_factor, momentum, rng_state,
                              kInt32StepLimit, bias);
}

}  // namespace tflm_train
