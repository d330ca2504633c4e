#include "kernels/add_dsp.h"

#if TFLM_TRAIN_KERNELS_DSP

#include "kernels/arm_simd.h"
#include "kernels/quant_math.h"

namespace tflm_train {

// Why AddElement equals the reference AddSubOne<1> (add.h). There, with d1 = a - z1 and
// d2 = b - z2 (z the input zero points, so |d| <= 255), M/e the multiplier and right shift of each
// rescaling (AddPrepare guarantees shift <= 0):
//   r_i = RDBPOT(SRDHM(d_i * 2^20, M_i), e_i), out = clamp(RDBPOT(SRDHM(r1 + r2, Mo), eo) + zo).
// (SRDHM = SaturatingRoundingDoublingHighMul, RDBPOT = RoundingDivideByPOT, quant_math.h.)
// 1. The input with the larger scale gets the real multiplier s / (2 s), exactly 0.5 in
//    double, which QuantizeMultiplier maps to (2^30, shift 0); then
//    r = SRDHM(d * 2^20, 2^30) = floor((d * 2^50 + 2^30) / 2^31) = d * 2^19 exactly. The kernel
//    does not rely on the derivation: it checks for (2^30, 0) and calls that input "big", the
//    other "small" (r1 + r2 is symmetric, so which is input1 does not matter).
// 2. Small input, x = d * 2^21 (|x| < 2^29). SRDHM(d * 2^20, M) = floor((d * 2^20 * M + 2^30)
//    / 2^31) (quant_math.h: the nudged truncation is this floor; no saturation, x != INT32_MIN)
//    = floor((x * M + 2^31) / 2^32) = SMMLAR(x, M, R) - R. Call it s. M >= 2^30, so s < 0
//    exactly when d < 0, i.e. [s < 0] = -(x >> 31).
//    - e >= 1: RDBPOT(s, e) = floor((s - [s < 0] + 2^(e-1)) / 2^e) (quant_math.h), and adding
//      c * 2^e before a floor division by 2^e adds c after it; with R = 2^(e-1) - z1 * 2^(19+e),
//      (SMMLAR(x, M, R) + (x >> 31)) >> e = r_small - z1 * 2^19, provided that sum does not
//      overflow: |s| <= 255 * 2^20 (M < 2^31) and Prepare checks |s| + 2^(e-1) + |z1| * 2^(19+e)
//      + 1 < 2^31 in 64 bits.
//    - e == 0: RDBPOT(s, 0) = s, so SMMLAR(x, M, -z1 * 2^19) = r_small - z1 * 2^19 (|z1| <= 128).
//    Adding a * 2^19 then gives r_big + r_small exactly (no wrap: each term is below 2^28).
// 3. |r1 + r2| <= 255 * 2^19 + 255 * 2^20 + 1 < 2^30, so RequantizeDoubled(2 * (r1 + r2)) is the
//    reference's RDBPOT(SRDHM(r1 + r2, Mo), eo) + zo saturated to int8 whenever
//    PrepareDoubledRequant accepts (Mo, eo, zo) (quant_math.h); the reference's clamp to the
//    activation range, which lies inside [-128, 127], then gives the same byte.
// Tested on the boards against the reference build for every (a, b) pair of many parameter sets
// (kernels/firmware/kernels_test.cc).

namespace {

// Per-call constants, derived from AddParams in a few dozen instructions (op state has no room
// to keep them).
struct AddDsp {
  const int8_t* big;
  const int8_t* small;
  int32_t small_zero21;  // z_small * 2^21
  int32_t small_multiplier;
  int32_t small_round;   // 2^(e-1) - z_big * 2^(19+e)  (e = 0: -z_big * 2^19)
  int32_t small_shift;   // e
  DoubledRequant out;
};

inline int32_t Smmlar(int32_t a, int32_t b, int32_t acc) {
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}

// Twice (r1 + r2) of the reference (step 2 above) for big-input byte a, small-input byte b.
template <bool kSmallShift>
inline int32_t DoubledSum(const AddDsp& k, int32_t a, int32_t b) {
  const int32_t x = static_cast<int32_t>((static_cast<uint32_t>(b) << 21) -
                                         static_cast<uint32_t>(k.small_zero21));
  int32_t h = Smmlar(x, k.small_multiplier, k.small_round);
  if (kSmallShift) h = (h + (x >> 31)) >> k.small_shift;
  const int32_t sum = static_cast<int32_t>(static_cast<uint32_t>(h) +
                                           (static_cast<uint32_t>(a) << 19));
  return sum + sum;
}

template <bool kSmallShift, bool kClamp>
__attribute__((noinline)) void AddRun(const AddDsp& k, int32_t words, int8_t* out, uint32_t lo,
                                      uint32_t hi) {
  const int8_t* a = k.big;
  const int8_t* b = k.small;
  for (int32_t i = 0; i < words; ++i) {
    const int32_t v0 = RequantizeDoubled(DoubledSum<kSmallShift>(k, a[0], b[0]), k.out);
    const int32_t v1 = RequantizeDoubled(DoubledSum<kSmallShift>(k, a[1], b[1]), k.out);
    const int32_t v2 = RequantizeDoubled(DoubledSum<kSmallShift>(k, a[2], b[2]), k.out);
    const int32_t v3 = RequantizeDoubled(DoubledSum<kSmallShift>(k, a[3], b[3]), k.out);
    a += 4;
    b += 4;
    uint32_t packed = simd::PackBytes(v0, v1, v2, v3);
    if (kClamp) packed = simd::ClampBytes(packed, lo, hi);
    simd::Store4(out, packed);
    out += 4;
  }
}

// The constants of AddRun, or false when the parameters are outside the proof's domain.
bool PrepareAddDsp(const AddParams& p, const int8_t* input1, const int8_t* input2, AddDsp* k) {
  constexpr int32_t kHalf = int32_t{1} << 30;
  if (p.left_shift != 20) return false;
  const bool big1 = p.input1.multiplier == kHalf && p.input1.shift == 0;
  const bool big2 = p.input2.multiplier == kHalf && p.input2.shift == 0;
  if (!big1 && !big2) return false;
  const QuantMultiplier& sq = big1 ? p.input2 : p.input1;
  const int32_t z_big = -(big1 ? p.input1_offset : p.input2_offset);
  const int32_t z_small = -(big1 ? p.input2_offset : p.input1_offset);
  if (z_big < -128 || z_big > 127 || z_small < -128 || z_small > 127) return false;
  if (sq.multiplier < kHalf || sq.shift > 0 || sq.shift < -30) return false;
  const int32_t e = -sq.shift;
  const int64_t round = e == 0 ? -int64_t{z_big} * (int64_t{1} << 19)
                               : (int64_t{1} << (e - 1)) - int64_t{z_big} * (int64_t{1} << (19 + e));
  const int64_t bound = 255 * (int64_t{1} << 20) + 1 + (round < 0 ? -round : round);
  if (bound >= (int64_t{1} << 31)) return false;
  if (!PrepareDoubledRequant(p.output.multiplier, p.output.shift, p.output_offset, &k->out)) {
    return false;
  }
  k->big = big1 ? input1 : input2;
  k->small = big1 ? input2 : input1;
  k->small_zero21 = z_small * (int32_t{1} << 21);
  k->small_multiplier = sq.multiplier;
  k->small_round = static_cast<int32_t>(round);
  k->small_shift = e;
  return true;
}

}  // namespace

bool AddDspDoubledSums(const AddParams& params, int32_t size, const int8_t* input1,
                       const int8_t* input2, int32_t* sums2) {
  AddDsp k;
  if (!PrepareAddDsp(params, input1, input2, &k)) return false;
  for (int32_t i = 0; i < size; ++i) {
    sums2[i] = k.small_shift > 0 ? DoubledSum<true>(k, k.big[i], k.small[i])
                                 : DoubledSum<false>(k, k.big[i], k.small[i]);
  }
  return true;
}

int32_t AddInt8Dsp(const AddParams& params, int32_t size, const int8_t* input1,
                   const int8_t* input2, int8_t* output) {
  AddDsp k;
  if (size < 4 || !PrepareAddDsp(params, input1, input2, &k)) return 0;
  const int32_t words = size / 4;
  const bool clamp = params.activation.min > -128 || params.activation.max < 127;
  const uint32_t lo = simd::Splat8(params.activation.min);
  const uint32_t hi = simd::Splat8(params.activation.max);
  if (k.small_shift > 0) {
    if (clamp) {
      AddRun<true, true>(k, words, output, lo, hi);
    } else {
      AddRun<true, false>(k, words, output, lo, hi);
    }
  } else if (clamp) {
    AddRun<false, true>(k, words, output, lo, hi);
  } else {
    AddRun<false, false>(k, words, output, lo, hi);
  }
  return 4 * words;
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DSP
