#include "kernels/softmax.h"

#include <cmath>

#include "kernels/quant_math.h"

namespace tflm_train {

namespace {

// Differences (input - row max) are rescaled into a signed fixed-point number with this many
// integer bits; exp sums are accumulated with kAccumIntBits integer bits.
constexpr int32_t kDiffIntBits = 5;
constexpr int32_t kAccumIntBits = 12;

// Saturating multiply by 2^exponent for exponent > 0 (raw fixed-point rescale to fewer
// integer bits).
int32_t SaturatingShiftLeft(int32_t x, int32_t exponent) {
  const int32_t threshold = static_cast<int32_t>((int64_t{1} << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return ShiftLeftWrap(x, exponent);
}

inline int32_t Mul(int32_t a, int32_t b) { return SaturatingRoundingDoublingHighMul(a, b); }

// exp(x) for x in [-1/4, 0), x and result in Q0.31: Taylor series around -1/8.
int32_t ExpOnQuarterInterval(int32_t a) {
  const int32_t exp_minus_one_eighth = 1895147668;  // exp(-1/8) in Q0.31
  const int32_t one_third = 715827883;              // 1/3 in Q0.31
  const int32_t x = a + (1 << 28);                  // a + 1/8
  const int32_t x2 = Mul(x, x);
  const int32_t x3 = Mul(x2, x);
  const int32_t x4 = Mul(x2, x2);
  const int32_t x4_over_4 = RoundingDivideByPOT(x4, 2);
  const int32_t poly = RoundingDivideByPOT(Mul(x4_over_4 + x3, one_third) + x2, 1);
  return exp_minus_one_eighth + Mul(exp_minus_one_eighth, x + poly);
}

// exp(a) for a <= 0 given in Q5.26; result in Q0.31. Splits a into a multiple of 1/4 (handled
// by multiplying precomputed exp(-2^k) constants) and a remainder in [-1/4, 0).
int32_t ExpOnNegativeValues(int32_t a) {
  constexpr int32_t kFracBits = 31 - kDiffIntBits;
  const int32_t one_quarter = 1 << (kFracBits - 2);
  const int32_t mask = one_quarter - 1;
  const int32_t a_mod_quarter_minus_quarter = (a & mask) - one_quarter;
  int32_t result =
      ExpOnQuarterInterval(SaturatingShiftLeft(a_mod_quarter_minus_quarter, kDiffIntBits));
  const int32_t remainder = a_mod_quarter_minus_quarter - a;
  // exp(-2^k) in Q0.31 for k = -2 .. 4.
  static constexpr int32_t kExpNegPow2[7] = {1672461947, 1302514674, 790015084, 290630308,
                                             39332535,   720401,     242};
  for (int32_t k = -2; k <= 4; ++k) {
    if (kDiffIntBits > k && (remainder & (1 << (kFracBits + k))) != 0) {
      result = Mul(result, kExpNegPow2[k + 2]);
    }
  }
  if (a == 0) result = INT32_MAX;
  return result;
}

// 1 / (1 + x) for x in [0, 1) in Q0.31, by three Newton-Raphson steps in Q2.29.
int32_t OneOverOnePlusX(int32_t a) {
  const int64_t sum = static_cast<int64_t>(a) + INT32_MAX;
  const int32_t half_denominator = static_cast<int32_t>((sum + (sum >= 0 ? 1 : -1)) / 2);
  const int32_t c48_over_17 = 1515870810;   // Q2.29
  const int32_t cm32_over_17 = -1010580540;  // Q2.29
  int32_t x = c48_over_17 + Mul(half_denominator, cm32_over_17);
  const int32_t one_q2 = 1 << 29;
  for (int32_t i = 0; i < 3; ++i) {
    const int32_t hd_x = Mul(half_denominator, x);
    const int32_t one_minus = one_q2 - hd_x;
    x = x + SaturatingShiftLeft(Mul(x, one_minus), 2);
  }
  // x is in Q2.29 and approximates 1/(2*half_denominator)*2; reading it as Q1.30 halves it.
  return SaturatingShiftLeft(x, 1);
}

int32_t CountLeadingZeros32(uint32_t v) {
  if (v == 0) return 32;
  int32_t n = 0;
  while ((v & 0x80000000u) == 0) {
    v <<= 1;
    ++n;
  }
  return n;
}

// Reciprocal of a positive Q(kAccumIntBits) sum: returns a Q0.31 scale and the number of extra
// right shifts (bits of the sum above one) the caller must apply.
int32_t Reciprocal(int32_t sum, int32_t* num_bits_over_unit) {
  const int32_t headroom_plus_one = CountLeadingZeros32(static_cast<uint32_t>(sum));
  *num_bits_over_unit = kAccumIntBits - headroom_plus_one;
  const int32_t shifted_minus_one = static_cast<int32_t>(
      (static_cast<uint32_t>(sum) << headroom_plus_one) - (static_cast<uint32_t>(1) << 31));
  return OneOverOnePlusX(shifted_minus_one);
}

}  // namespace

bool SoftmaxPrepare(float beta, float input_scale, SoftmaxQuant* quant) {
  double real = static_cast<double>(beta) * static_cast<double>(input_scale) *
                static_cast<double>(int64_t{1} << (31 - kDiffIntBits));
  const double cap = static_cast<double>(int64_t{1} << 31) - 1.0;
  if (real > cap) real = cap;
  if (!(real > 1.0)) return false;
  const QuantMultiplier q = QuantizeMultiplier(real);
  if (q.shift < 0) return false;
  quant->input_multiplier = q.multiplier;
  quant->input_left_shift = q.shift;
  const double max_input_rescaled =
      1.0 * ((1 << kDiffIntBits) - 1) * static_cast<double>(int64_t{1} << (31 - kDiffIntBits)) /
      static_cast<double>(int64_t{1} << q.shift);
  quant->diff_min = -static_cast<int32_t>(std::floor(max_input_rescaled));
  return true;
}

void SoftmaxInt8(const SoftmaxQuant& quant, int32_t outer_size, int32_t depth,
                 const int8_t* input, int8_t* output) {
  for (int32_t row = 0; row < outer_size; ++row) {
    const int8_t* in = input + row * depth;
    int8_t* out = output + row * depth;
    int32_t max_in_row = -128;
    for (int32_t c = 0; c < depth; ++c) {
      if (in[c] > max_in_row) max_in_row = in[c];
    }
    int32_t sum_of_exps = 0;  // Q12.19
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t diff = in[c] - max_in_row;
      if (diff >= quant.diff_min) {
        const int32_t scaled = SaturatingRoundingDoublingHighMul(
            ShiftLeftWrap(diff, quant.input_left_shift), quant.input_multiplier);
        sum_of_exps += RoundingDivideByPOT(ExpOnNegativeValues(scaled), kAccumIntBits);
      }
    }
    int32_t num_bits_over_unit = 0;
    const int32_t shifted_scale = Reciprocal(sum_of_exps, &num_bits_over_unit);
    // A sum of exps above 2^8 (hundreds of classes near the row maximum) asks for a shift past
    // 31 bits: undefined in C++, and the wheel aborts (its shift assertion). The exact result is
    // defined instead: a product below 2^31 divided by 2^32 or more rounds to 0.
    const int32_t out_shift = num_bits_over_unit + 31 - 8;
    const bool below_one_step = out_shift > 31;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t diff = in[c] - max_in_row;
      int32_t v = -128;
      if (diff >= quant.diff_min) {
        const int32_t scaled = SaturatingRoundingDoublingHighMul(
            ShiftLeftWrap(diff, quant.input_left_shift), quant.input_multiplier);
        const int32_t e = ExpOnNegativeValues(scaled);
        // Probability in Q0.31 scaled down to 8 fractional bits, then offset by the output
        // zero point -128.
        const int32_t unsat =
            below_one_step ? 0 : RoundingDivideByPOT(Mul(shifted_scale, e), out_shift);
        v = ClampToRange(unsat - 128, -128, 127);
      }
      out[c] = static_cast<int8_t>(v);
    }
  }
}

}  // namespace tflm_train
