// The general output stage of the DSP-path kernels (kernel_path.h): the reference requantisation
// (MultiplyByQuantizedMultiplier + OffsetAndClamp) for any multiplier and shift: the SMLAL form
// of quant_math.h with the shift split once per channel group, bit-identical to the reference.
// The common case takes quant_math.h's four-instruction RequantizeDoubled instead. Only
// included on the DSP path.
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

// MultiplyByQuantizedMultiplierSmull of channel k with its shift already split.
inline int32_t Requantize(int32_t acc, const GroupQuant& q, int k) {
  using requant_detail::DoublingHighMulRoundHalfUp;
  using requant_detail::ShiftRightRoundHalfUp;
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

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_REQUANT_DSP_H_
