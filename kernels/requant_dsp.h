// Output stages of the DSP-path kernels (kernel_path.h): the reference requantisation
// (MultiplyByQuantizedMultiplier + OffsetAndClamp) regrouped for Cortex-M4/M7 instructions. Two
// forms, both bit-identical to the reference:
// - GroupQuant / Requantize: any multiplier and shift, the SMLAL form of quant_math.h with the
//   shift split once per channel group;
// - DoubledQuant / RequantizeDoubled: the common case (multiplier in [0, 2^31), right shift
//   1..22, |accumulator| < 2^30) in four instructions, fed with TWICE the accumulator (kernels
//   double their weights once, which is free, to get it).
// Only included on the DSP path.
#ifndef TFLM_TRAIN_KERNELS_REQUANT_DSP_H_
#define TFLM_TRAIN_KERNELS_REQUANT_DSP_H_

#include <arm_acle.h>

#include <cstdint>

#include "kernels/quant_math.h"

namespace tflm_train {

// Requantisation constants of four channels, split once per channel group so the per-output
// code does not re-derive them from the signed shift.
struct GroupQuant {
  int32_t multiplier[4];
  int32_t left[4];
  int32_t right[4];
};

// MultiplyByQuantizedMultiplierSmull with its shift already split; kRightOnly: left == 0 and
// right >= 1 (multiplier below 1, the usual case), which drops the shift and the branch.
template <bool kRightOnly>
inline int32_t Requantize(int32_t acc, const GroupQuant& q, int k) {
  using requant_detail::DoublingHighMulRoundHalfUp;
  using requant_detail::ShiftRightRoundHalfUp;
  if (kRightOnly) {
    const int32_t s = DoublingHighMulRoundHalfUp(acc, q.multiplier[k]);
    return ShiftRightRoundHalfUp(s + (s >> 31), q.right[k]);
  }
  const int32_t s = DoublingHighMulRoundHalfUp(ShiftLeftWrap(acc, q.left[k]), q.multiplier[k]);
  if (q.right[k] == 0) return s;
  return ShiftRightRoundHalfUp(s + (s >> 31), q.right[k]);
}

// Output zero point added with wrap-around (as OffsetAndClamp), saturated to int8: clamping
// that to the activation range (which lies inside [-128, 127]) gives OffsetAndClamp's byte.
inline int32_t OffsetSat8(int32_t v, int32_t output_offset) {
  const uint32_t sum = static_cast<uint32_t>(v) + static_cast<uint32_t>(output_offset);
  return __ssat(static_cast<int32_t>(sum), 8);
}

// One channel's constants for RequantizeDoubled; field order matters (one LDRD + one LDR).
struct DoubledQuant {
  int32_t multiplier;
  int32_t shift;  // right shift e
  int32_t round;  // 2^(e-1) + output_offset * 2^e
};

// Why RequantizeDoubled equals the reference (acc the reference's int32 sum, a2 = 2 * acc,
// M the multiplier, e the right shift, o the output zero point):
// - SMMLAR gives round + floor((a2 * M + 2^31) / 2^32) = round + floor((acc * M + 2^30) /
//   2^31) = round + s, s the reference's SaturatingRoundingDoublingHighMul (no saturation:
//   M >= 0).
// - The reference's rounding shift is floor((s - [s < 0] + 2^(e-1)) / 2^e) (quant_math.h). With
//   0 <= M < 2^31, acc >= 0 gives s >= 0 and acc < 0 gives s <= 0 (acc * M + 2^30 < 2^31), so
//   c = -(a2 >> 31) = [acc < 0] equals [s < 0] except when s = 0 and acc < 0; there both give
//   floor((2^(e-1) - c) / 2^e) = 0 (e >= 1), so c can stand for [s < 0]. (M = 2^30 exactly, a
//   power-of-two rescaling, is common: ADD's output when its scale equals the larger input's.)
// - So h = s - [s < 0] + 2^(e-1) + o * 2^e, and h >> e = the reference's value + o, provided
//   h does not overflow: |s| <= |acc| < 2^30 and |2^(e-1) + o * 2^e| < 2^30 for e <= 22.
// - The reference then adds o (no wrap: the sum is far inside int32) and clamps to the
//   activation range inside [-128, 127]: SSAT #8 then that clamp is the same.
// False (q untouched) when the channel is not eligible.
inline bool PrepareDoubledQuant(int32_t multiplier, int32_t shift, int32_t output_offset,
                                DoubledQuant* q) {
  const int32_t e = -shift;
  if (multiplier < 0 || e < 1 || e > 22) return false;
  if (output_offset < -128 || output_offset > 127) return false;
  q->multiplier = multiplier;
  q->shift = e;
  q->round = (int32_t{1} << (e - 1)) + output_offset * (int32_t{1} << e);
  return true;
}

// The reference's requantised value plus the output zero point, saturated to int8; acc2 is
// twice the accumulator, which must lie in (-2^30, 2^30).
inline int32_t RequantizeDoubled(int32_t acc2, const DoubledQuant& q) {
  int32_t h;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(h) : "r"(acc2), "r"(q.multiplier), "r"(q.round));
  h += acc2 >> 31;
  return __ssat(h >> q.shift, 8);
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_REQUANT_DSP_H_
