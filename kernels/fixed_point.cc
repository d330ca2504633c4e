#include "kernels/fixed_point.h"

namespace tflm_train {
namespace fixed_point {

int32_t ExpOnIntervalNegativeQuarterTo0(int32_t a) {
  constexpr int32_t kExpMinusOneEighth = 1895147668;  // exp(-1/8)
  constexpr int32_t kOneThird = 715827883;
  const int32_t x = Add(a, int32_t{1} << 28);  // x = a + 1/8
  const int32_t x2 = Mul(x, x);
  const int32_t x3 = Mul(x2, x);
  const int32_t x4 = Mul(x2, x2);
  const int32_t x4_over_4 = RoundingDivideByPOT(x4, 2);
  const int32_t poly = RoundingDivideByPOT(Add(Mul(Add(x4_over_4, x3), kOneThird), x2), 1);
  return Add(kExpMinusOneEighth, Mul(kExpMinusOneEighth, Add(x, poly)));
}

int32_t ExpOnNegativeValues(int32_t a, int32_t integer_bits) {
  const int32_t fractional_bits = 31 - integer_bits;
  const int32_t one_quarter = int32_t{1} << (fractional_bits - 2);
  // a = (a mod 1/4 - 1/4) - remainder, remainder a non-negative multiple of 1/4 whose bits
  // select the factors exp(-2^k) below.
  const int32_t a_mod_quarter_minus_quarter = Sub(a & (one_quarter - 1), one_quarter);
  int32_t result = ExpOnIntervalNegativeQuarterTo0(
      SaturatingShiftLeft(a_mod_quarter_minus_quarter, integer_bits));
  const int32_t remainder = Sub(a_mod_quarter_minus_quarter, a);
  // exp(-2^k) for k = -2 .. 4 with 0 integer bits; only bits the input format has are used.
  constexpr int32_t kFactors[7] = {1672461947, 1302514674, 790015084, 290630308,
                                   39332535,   720401,     242};
  for (int32_t k = -2; k <= 4; ++k) {
    if (integer_bits <= k) break;
    if (remainder & (int32_t{1} << (fractional_bits + k))) result = Mul(result, kFactors[k + 2]);
  }
  return a == 0 ? kOneQ0 : result;
}

namespace {

// x ~ 1 / (1 + a) with 2 integer bits; the callers differ only in the last step.
int32_t NewtonReciprocal(int32_t a) {
  constexpr int32_t k48Over17 = 1515870810;
  constexpr int32_t kMinus32Over17 = -1010580540;
  constexpr int32_t kOneQ2 = int32_t{1} << 29;
  const int32_t half_denominator = RoundingHalfSum(a, kOneQ0);
  int32_t x = Add(k48Over17, Mul(half_denominator, kMinus32Over17));
  for (int32_t i = 0; i < 3; ++i) {
    const int32_t one_minus_dx = Sub(kOneQ2, Mul(half_denominator, x));
    x = Add(x, SaturatingShiftLeft(Mul(x, one_minus_dx), 2));
  }
  return x;
}

}  // namespace

int32_t OneOverOnePlusX(int32_t a) {
  // x approximates 1 / (2 * half_denominator) = 2 / (1 + a) with 2 integer bits: halving it is
  // a change of format (same raw value, 1 integer bit), then rescaled to 0 integer bits.
  return SaturatingShiftLeft(NewtonReciprocal(a), 1);
}

int32_t OneMinusXOverOnePlusX(int32_t a) {
  // 2 / (1 + a) - 1 = (1 - a) / (1 + a), from 2 integer bits to 0.
  return SaturatingShiftLeft(Sub(NewtonReciprocal(a), int32_t{1} << 29), 2);
}

int32_t Logistic(int32_t a) {
  if (a == 0) return int32_t{1} << 30;  // 1/2
  const int32_t abs_a = a > 0 ? a : Sub(0, a);
  const int32_t positive = OneOverOnePlusX(ExpOnNegativeValues(Sub(0, abs_a), 4));
  return a > 0 ? positive : Sub(kOneQ0, positive);
}

int32_t Tanh(int32_t a) {
  if (a == 0) return 0;
  // -|a| read with 5 integer bits is -2|a|: tanh(|a|) = (1 - exp(-2|a|)) / (1 + exp(-2|a|)).
  const int32_t minus_abs = a < 0 ? a : Sub(0, a);
  const int32_t t = OneMinusXOverOnePlusX(ExpOnNegativeValues(minus_abs, 5));
  return a < 0 ? Sub(0, t) : t;
}

}  // namespace fixed_point
}  // namespace tflm_train
