// The output stage of the MVE kernels (kernel_path.h): four channels' int32 sums requantised
// and stored as four int8 bytes in one go, bit-identical to the reference requantisation
// (MultiplyByQuantizedMultiplier + OffsetAndClamp) inside DoubledRequant's domain
// (quant_math.h). Why VQRDMULH serves: it returns floor((2 * acc * m + 2^31) / 2^32), saturated
// only for acc == m == INT32_MIN (m >= 0 here), which is floor((acc * m + 2^30) / 2^31), the
// SMMLAR of the doubled sum that RequantizeDoubled starts from, without doubling acc first. The
// rest is RequantizeDoubled's: + round - [acc < 0], an arithmetic shift right by e (VSHL by -e
// shifts right without rounding), then the int8 saturation folded into the activation clamp
// (the clamp bounds lie inside [-128, 127]). Channels outside the domain take the general
// RequantizeToInt8. Only included on MVE targets.
#ifndef TFLM_TRAIN_KERNELS_REQUANT_MVE_H_
#define TFLM_TRAIN_KERNELS_REQUANT_MVE_H_

#include <arm_mve.h>

#include <cstdint>

#include "kernels/quant_math.h"
#include "kernels/types.h"

namespace tflm_train {
namespace mve_detail {

// Channels whose constants are prepared at once (per-call stack arrays of this length).
constexpr int32_t kMveChunk = 32;

// The vector output stage's constants of a chunk of channels, lane k = channel k.
struct ChunkQuant {
  int32_t multiplier[kMveChunk];
  int32_t neg_shift[kMveChunk];  // -e: VSHL by a negative amount shifts right
  int32_t round[kMveChunk];      // DoubledRequant's round
  bool fast[kMveChunk / 4];      // the group of four channels takes the vector stage
};

// Fills q for channels [c0, c0 + count) of a call whose sums stay within +-reach of the bias.
// A group of four is fast when every channel in it is DoubledRequant-eligible, its bias keeps
// |acc| < 2^30 and the activation range lies inside int8.
inline void PrepareChunkQuant(const PerChannelQuant& quant, const int32_t* bias, int32_t c0,
                              int32_t count, int64_t reach, int32_t output_offset,
                              ActivationRange act, ChunkQuant* q) {
  const int64_t bias_lo = -(int64_t{1} << 30) + 1 + reach;
  const int64_t bias_hi = (int64_t{1} << 30) - 1 - reach;
  const bool act_ok = act.min >= -128 && act.max <= 127 && act.min <= act.max;
  for (int32_t g = 0; g * 4 < count; ++g) q->fast[g] = act_ok;
  for (int32_t k = 0; k < count; ++k) {
    const int32_t oc = c0 + k;
    const int32_t b = bias != nullptr ? bias[oc] : 0;
    DoubledRequant d;
    if (!PrepareDoubledRequant(quant.multiplier[oc], quant.shift[oc], output_offset, &d) ||
        b < bias_lo || b > bias_hi) {
      q->fast[k / 4] = false;
      d = DoubledRequant{0, 0, 0};
    }
    q->multiplier[k] = d.multiplier;
    q->neg_shift[k] = -d.shift;
    q->round[k] = d.round;
  }
}

// Lanes [0, n) of acc (channels k.. of the chunk, a fast group) requantised into out[0, n).
inline void RequantizeStore(int32x4_t acc, const ChunkQuant& q, int32_t k, int32_t lo,
                            int32_t hi, int8_t* out, int32_t n) {
  int32x4_t v = vqrdmulhq_s32(acc, vldrwq_s32(q.multiplier + k));
  v = vaddq_s32(v, vldrwq_s32(q.round + k));
  v = vaddq_s32(v, vshrq_n_s32(acc, 31));
  v = vshlq_s32(v, vldrwq_s32(q.neg_shift + k));
  v = vmaxq_s32(vminq_s32(v, vdupq_n_s32(hi)), vdupq_n_s32(lo));
  if (n >= 4) {
    vstrbq_s32(out, v);
  } else {
    vstrbq_p_s32(out, v, vctp32q(static_cast<uint32_t>(n)));
  }
}

}  // namespace mve_detail
}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_REQUANT_MVE_H_
