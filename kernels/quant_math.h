// Shared int8 quantisation math: prepare-time (double -> fixed point, activation ranges, padding)
// and eval-time (fixed-point rescaling). Every result here must be bit-identical to what TFLM's
// reference kernels compute, so the order of float/double operations is part of the contract.
#ifndef TFLM_TRAIN_KERNELS_QUANT_MATH_H_
#define TFLM_TRAIN_KERNELS_QUANT_MATH_H_

#include <cstdint>

#include "kernels/types.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#endif

namespace tflm_train {

// Fused activation as stored in the flatbuffer options (same numbering as the TFLite schema).
enum class FusedActivation : int32_t {
  kNone = 0,
  kRelu = 1,
  kReluN1To1 = 2,
  kRelu6 = 3,
};

enum class Padding : int32_t {
  kSame = 0,
  kValid = 1,
};

// ---------------------------------------------------------------- prepare time (double math)

// real = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31) or 0. Tiny values (shift < -31)
// flush to zero; huge values saturate at shift 30, as TFLM does.
QuantMultiplier QuantizeMultiplier(double real_multiplier);

// Round half away from zero, as std::round / TfLiteRound (independent of the FP rounding mode).
float RoundHalfAwayF(float x);
double RoundHalfAway(double x);

// Quantised clamp bounds for a fused activation on an int8 tensor with the given output params.
// The float division scale is done in float, like TFLM.
ActivationRange ActivationRangeInt8(FusedActivation act, float output_scale,
                                    int32_t output_zero_point);

// Output extent of a convolution/pool along one axis.
int32_t ComputeOutSize(Padding padding, int32_t in_size, int32_t filter_size, int32_t stride,
                       int32_t dilation);

// Top/left padding for one axis (SAME pads the odd element at the end, so it is dropped here).
int32_t ComputePadding(int32_t stride, int32_t dilation, int32_t in_size, int32_t filter_size,
                       int32_t out_size);

// Resolves output size and top/left padding in both spatial axes.
void ResolvePadding(Padding padding, int32_t in_h, int32_t in_w, int32_t filter_h,
                    int32_t filter_w, Tile stride, Tile dilation, int32_t* out_h, int32_t* out_w,
                    Tile* pad);

// Per-channel conv/depthwise multipliers: effective scale = in * filter[c] / out, all in double
// (each float widened first). num_filter_scales == 1 broadcasts one scale to all channels.
void PerChannelMultipliers(float input_scale, const float* filter_scales,
                           int32_t num_filter_scales, float output_scale, int32_t num_channels,
                           int32_t* multiplier, int32_t* shift);

// Per-tensor FULLY_CONNECTED multiplier: (double(in) * double(filter)) / double(out). Verified on
// the wheel: the input*filter product is NOT rounded to float first (older TFLite code did
// that; it changes the multiplier by up to ~100 units for some scale triples and the output
// bytes for some accumulators), so this equals the per-channel formula with one scale.
QuantMultiplier PerTensorConvMultiplier(float input_scale, float filter_scale,
                                        float output_scale);

// ---------------------------------------------------------------- eval time (integer math)

// High 32 bits of 2*a*b with round-half-away-from-zero; INT32_MIN*INT32_MIN saturates.
inline int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
  // Division (not a shift) truncates toward zero, which together with the signed nudge rounds
  // half away from zero.
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
}

// x / 2^exponent rounded half away from zero; exponent in [0, 31].
inline int32_t RoundingDivideByPOT(int32_t x, int32_t exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// Wrapping left shift (TFLM's x * (1 << n) overflows silently on every target we care about;
// doing it in unsigned arithmetic keeps that behaviour without undefined behaviour).
inline int32_t ShiftLeftWrap(int32_t x, int32_t n) {
  return static_cast<int32_t>(static_cast<uint32_t>(x) << n);
}

// TFLM's default (double-rounding) requantisation: x * multiplier * 2^(shift - 31).
inline int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0;
  const int32_t right = shift > 0 ? 0 : -shift;
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(ShiftLeftWrap(x, left), multiplier),
                             right);
}

// ---- The same x * multiplier * 2^(shift - 31), formulated for a 32x32->64 multiply (SMULL /
// SMLAL on Cortex-M). Bit-identical to MultiplyByQuantizedMultiplier for every x, every
// multiplier and every shift in [-31, 30] (tests/kernels/test_quant_math.py runs both on the
// host with the portable helpers below; kernels/firmware on the boards with the Arm ones).
// Why it is equal:
// - SaturatingRoundingDoublingHighMul: the nudged quotient (ab + nudge) / 2^31 truncated toward
//   zero equals floor((ab + 2^30) / 2^31) for both signs (for ab < 0, trunc((ab + 1 - 2^30) /
//   2^31) = ceil(...) = floor((ab + 2^30) / 2^31)); so it is the high word of ab + 2^30 doubled,
//   plus bit 31 of the low word. Only a == b == INT32_MIN makes the doubled high word 2^31, and
//   a saturating doubling turns exactly that into INT32_MAX. Otherwise |ab| <= 2^31 (2^31 - 1),
//   so the result s > INT32_MIN.
// - RoundingDivideByPOT(s, e), e >= 1, rounds half away from zero:
//   floor((s - [s < 0] + 2^(e-1)) / 2^e). s - [s < 0] cannot wrap (s > INT32_MIN), and
//   floor((a + 2^(e-1)) / 2^e) = (a >> e) + bit e-1 of a, which needs no 33-bit sum.
namespace requant_detail {

// floor((a * b + 2^30) / 2^31), saturated to INT32_MAX: the doubled high word of the 64-bit
// sum plus bit 31 of its low word. Its high word is at most 2^30, reached only for
// a == b == INT32_MIN, so a saturating doubling of the high word gives exactly the reference's
// saturation.
inline int32_t DoublingHighMulRoundHalfUp(int32_t a, int32_t b) {
#if defined(__ARM_FEATURE_DSP)
  // Written out: GCC otherwise reuses b's sign word across calls and widens the multiply to
  // UMULL + two MLAs instead of one SMLAL.
  uint32_t low = uint32_t{1} << 30;
  int32_t high = 0;
  __asm__("smlal %0, %1, %2, %3" : "+r"(low), "+r"(high) : "r"(a), "r"(b));
  return __qadd(high, high) | static_cast<int32_t>(low >> 31);
#else
  const int64_t p = static_cast<int64_t>(a) * b + (int64_t{1} << 30);
  const int32_t high = static_cast<int32_t>(static_cast<uint64_t>(p) >> 32);
  const uint32_t low = static_cast<uint32_t>(p);
  const int32_t doubled = high >= (int32_t{1} << 30)
                              ? INT32_MAX
                              : static_cast<int32_t>(static_cast<uint32_t>(high) << 1);
  return doubled | static_cast<int32_t>(low >> 31);
#endif
}

// floor((a + 2^(e-1)) / 2^e) for e in [1, 31] without overflow.
inline int32_t ShiftRightRoundHalfUp(int32_t a, int32_t e) {
#if defined(__ARM_FEATURE_DSP)
  // ASRS by a register amount 1..31 leaves the last bit shifted out (bit e-1) in the carry.
  int32_t r;
  __asm__("asrs %0, %1, %2\n\tadc %0, %0, #0" : "=r"(r) : "r"(a), "r"(e) : "cc");
  return r;
#else
  return (a >> e) + ((a >> (e - 1)) & 1);
#endif
}

}  // namespace requant_detail

inline int32_t MultiplyByQuantizedMultiplierSmull(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0;
  const int32_t right = shift > 0 ? 0 : -shift;
  const int32_t s = requant_detail::DoublingHighMulRoundHalfUp(ShiftLeftWrap(x, left), multiplier);
  if (right == 0) return s;
  return requant_detail::ShiftRightRoundHalfUp(s + (s >> 31), right);
}

// ---- The same requantisation plus the output zero point and the int8 saturation in four
// instructions (SMMLAR, ADD, ASR, SSAT on Cortex-M), fed with TWICE the accumulator (the DSP
// kernels double their weights or widened inputs once, which is free, to get it). The one
// fast output stage of every DSP kernel (pointwise, depthwise, general convolution, ADD).
// Domain, checked once per channel (DoubledRequantEligible) and per accumulator bound:
//   multiplier in [0, 2^31), right shift e = -shift in [1, kDoubledMaxRightShift],
//   output_offset in [-128, 127], |acc| < 2^30 (so acc2 = 2 * acc is exact).
// Why it equals MultiplyByQuantizedMultiplier(acc, m, -e) + output_offset, saturated to int8
// (m the multiplier, o the output offset):
// - SMMLAR(acc2, m, t) = t + floor((acc2 * m + 2^31) / 2^32), its accumulate exact modulo
//   2^32, = t + floor((acc * m + 2^30) / 2^31) = t + s, s the reference's
//   SaturatingRoundingDoublingHighMul (no saturation: m >= 0), |s| <= |acc| < 2^30.
// - The reference's rounding shift is floor((s - [s < 0] + 2^(e-1)) / 2^e) (see above). With
//   0 <= m < 2^31, acc >= 0 gives s >= 0 and acc < 0 gives s <= 0 (acc * m + 2^30 < 2^31), so
//   c = -(acc2 >> 31) = [acc < 0] equals [s < 0] except when s = 0 and acc < 0; there both give
//   floor((2^(e-1) - c) / 2^e) = 0 (e >= 1), so c can stand for [s < 0], known before the
//   multiply. (m = 2^30 exactly, a power-of-two rescaling, is common: ADD's output when its
//   scale equals the larger input's.)
// - Adding o * 2^e inside the floor adds o to the quotient. So with
//   round = 2^(e-1) + o * 2^e, h = s + round - c and h >> e = the reference's value + o,
//   provided no sum wraps: |s| < 2^30 and |round| + 1 <= 2^21 + 2^29 + 1 < 2^30 for e <= 22,
//   so h and every partial sum of its three terms (in any order: the kernels add -c to round
//   before the SMMLAR or to its result after) fit int32.
// - The reference then adds o (no wrap: the sum is far inside int32) and clamps to the
//   activation range inside [-128, 127]: SSAT #8 then that clamp is the same.
// Tested against the reference on the host (tests/kernels/test_quant_math.py, portable helper)
// and on the boards (kernels/firmware, the Arm one).
constexpr int32_t kDoubledMaxRightShift = 22;

// One channel's constants; field order matters (one LDRD + one LDR; the pointwise assembly
// loads it with LDM).
struct DoubledRequant {
  int32_t multiplier;
  int32_t shift;  // e, the right shift
  int32_t round;  // 2^(e-1) + output_offset * 2^e
};

// The conditions as one expression without early exits (bitwise &): kernels that check four
// channels at a time test them without a branch per channel and condition.
inline bool DoubledRequantEligible(int32_t multiplier, int32_t shift, int32_t output_offset) {
  return (multiplier >= 0) & (shift <= -1) & (shift >= -kDoubledMaxRightShift) &
         (output_offset >= -128) & (output_offset <= 127);
}

// The constants of a channel DoubledRequantEligible accepts.
inline DoubledRequant DoubledRequantOf(int32_t multiplier, int32_t shift, int32_t output_offset) {
  const int32_t e = -shift;
  return {multiplier, e, (int32_t{1} << (e - 1)) + output_offset * (int32_t{1} << e)};
}

// False (q untouched) when the channel is not eligible.
inline bool PrepareDoubledRequant(int32_t multiplier, int32_t shift, int32_t output_offset,
                                  DoubledRequant* q) {
  if (!DoubledRequantEligible(multiplier, shift, output_offset)) return false;
  *q = DoubledRequantOf(multiplier, shift, output_offset);
  return true;
}

// MultiplyByQuantizedMultiplier(acc, ...) + output_offset (exact, before any saturation), for
// acc2 = 2 * acc, |acc| < 2^30.
inline int32_t RequantizeDoubledInt32(int32_t acc2, const DoubledRequant& q) {
#if defined(__ARM_FEATURE_DSP)
  int32_t h;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(h) : "r"(acc2), "r"(q.multiplier), "r"(q.round));
  return (h + (acc2 >> 31)) >> q.shift;
#else
  const int64_t p = static_cast<int64_t>(acc2) * q.multiplier + (int64_t{1} << 31);
  return (static_cast<int32_t>(p >> 32) + q.round + (acc2 >> 31)) >> q.shift;
#endif
}

// The same saturated to int8 (what the kernels store before the activation clamp).
inline int32_t RequantizeDoubled(int32_t acc2, const DoubledRequant& q) {
  const int32_t v = RequantizeDoubledInt32(acc2, q);
#if defined(__ARM_FEATURE_DSP)
  return __ssat(v, 8);
#else
  return v < -128 ? -128 : (v > 127 ? 127 : v);
#endif
}

inline int32_t ClampToRange(int32_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_QUANT_MATH_H_
