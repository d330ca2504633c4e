// gemmlowp-style fixed-point exp, 1/(1+x) and (1-x)/(1+x) on int32 raw values, as TFLM's int8
// LOGISTIC and TANH reference kernels evaluate them. A raw value r with `integer_bits` integer
// bits stands for r / 2^(31 - integer_bits). Every step (rounding multiplies, saturating
// shifts, wrapping adds) must stay exactly as TFLM orders it: the kernels are bit-exact with it.
#ifndef TFLM_TRAIN_KERNELS_FIXED_POINT_H_
#define TFLM_TRAIN_KERNELS_FIXED_POINT_H_

#include <cstdint>

#include "kernels/quant_math.h"

namespace tflm_train {
namespace fixed_point {

// Two's-complement adds: TFLM's int32 adds never overflow on these paths, wrapping keeps that
// well defined without changing a result.
inline int32_t Add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
inline int32_t Sub(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
}

// Product of two fixed-point values (integer bits add up).
inline int32_t Mul(int32_t a, int32_t b) { return SaturatingRoundingDoublingHighMul(a, b); }

// x * 2^exponent, exponent in [1, 30], saturated to the int32 range.
inline int32_t SaturatingShiftLeft(int32_t x, int32_t exponent) {
  const int32_t threshold = (int32_t{1} << (31 - exponent)) - 1;
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return ShiftLeftWrap(x, exponent);
}

// (a + b) / 2 rounded half away from zero, without overflow.
inline int32_t RoundingHalfSum(int32_t a, int32_t b) {
  const int64_t sum = static_cast<int64_t>(a) + b;
  const int64_t sign = sum >= 0 ? 1 : -1;
  return static_cast<int32_t>((sum + sign) / 2);
}

constexpr int32_t kOneQ0 = INT32_MAX;  // "1" with no integer bits is the largest raw value

// exp(a) for a in [-1/4, 0), a and result with 0 integer bits: a Taylor expansion around -1/8.
int32_t ExpOnIntervalNegativeQuarterTo0(int32_t a);

// exp(a) for a <= 0 with `integer_bits` in [1, 5]; the result has 0 integer bits.
int32_t ExpOnNegativeValues(int32_t a, int32_t integer_bits);

// 1 / (1 + a) and (1 - a) / (1 + a) for a in [0, 1] (0 integer bits in and out), by three
// Newton-Raphson steps from 48/17 - 32/17 * d.
int32_t OneOverOnePlusX(int32_t a);
int32_t OneMinusXOverOnePlusX(int32_t a);

// logistic(a) and tanh(a), a with 4 integer bits, results with 0 integer bits.
int32_t Logistic(int32_t a);
int32_t Tanh(int32_t a);

}  // namespace fixed_point
}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_FIXED_POINT_H_
