// The pair path of the DSP-path depth-multiplier-1 depthwise kernel (depthwise_conv_dsp.cc):
// square K x K windows (K = 3, 5, 7), column stride S = 1 or 2, no column dilation, doubled
// requantisation. Each output row is copied, chunk by chunk, into a padded patch of
// compile-time row pitch, so every input and filter word of a window is an immediate offset
// from one of two pointers; two positions S columns apart are computed together, each input
// word loaded and widened once for both (position 2's tap c - S is position 1's tap c), in 14
// registers (8 accumulators). The input offset is folded into the base (Group::
// folded_base), so the widening is a plain SXTB16 and needs no offset register: a padded tap
// (the zero point z = -input_offset) adds w * z, which the folded base's input_offset * w
// cancels, as the reference's skipped tap adds nothing; the sum is the reference's exact int32.
//
// Included by depthwise_conv_dsp.cc alone, its functions file-local there (unnamed namespace):
// GCC (no LTO) then knows what they write and how they are called, and compiles the channel
// group loop and the runs as one file. As a translation unit of its own, or with external
// linkage, the loop reloaded the call's shape, geometry and group after every row, and PairRun
// tested count > 0 again on entry.
#ifndef TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_PAIR_DSP_H_
#define TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_PAIR_DSP_H_

#include <cstdint>

#include "kernels/kernel_path.h"
#include "kernels/types.h"

#if TFLM_TRAIN_KERNELS_DSP

#include "kernels/arm_simd.h"
#include "kernels/depthwise_dsp_common.h"
#include "kernels/quant_math.h"

namespace tflm_train {
namespace depthwise_dsp_detail {
namespace {

// Words of the pair path's patch: 1 KB of stack, so that the rows of most streamed layers fit
// one chunk (each chunk copies its K - 1 overlap columns again and has a per-row cost).
constexpr int32_t kPairPatchWords = 256;
// Patch row pitch (words) for K rows (at most 63: the row step is an 8-bit writeback offset),
// and the positions one chunk covers (even: pairs).
constexpr int32_t PairPitch(int k) { return kPairPatchWords / k < 63 ? kPairPatchWords / k : 63; }
constexpr int32_t PairChunk(int k, int s) { return ((PairPitch(k) - k) / s + 1) & ~1; }

// The window of a pair is one asm statement (GCC, given separate statements per tap, spilled
// accumulators): K copies of the text of one window row, which starts by moving the patch
// pointer p and the filter pointer w one row on (pre-indexed writeback), so that every other
// offset in it is a literal. Per patch column c: one load and two SXTB16s (t: channels 0, 2,
// x: 1, 3), then position 1's tap c (A) and position 2's tap c - S (B), each an LDRD of the
// tap's two filter words and four SMLAxy.
#define TFLM_TRAIN_DW_PAIR_COL_LOAD(addr)   \
  "ldr %[x], " addr "\n\t"                  \
  "sxtb16 %[t], %[x]\n\t"                   \
  "sxtb16 %[x], %[x], ror #8\n\t"
#define TFLM_TRAIN_DW_PAIR_MAC(addr, a0, a1, a2, a3) \
  "ldrd %[w0], %[w1], " addr "\n\t"                  \
  "smlabb %[" a0 "], %[t], %[w0], %[" a0 "]\n\t"     \
  "smlatt %[" a2 "], %[t], %[w0], %[" a2 "]\n\t"     \
  "smlabb %[" a1 "], %[x], %[w1], %[" a1 "]\n\t"     \
  "smlatt %[" a3 "], %[x], %[w1], %[" a3 "]\n\t"
#define TFLM_TRAIN_DW_PAIR_C(c) TFLM_TRAIN_DW_PAIR_COL_LOAD("[%[p], #(4 * " #c ")]")
#define TFLM_TRAIN_DW_PAIR_A(tap) \
  TFLM_TRAIN_DW_PAIR_MAC("[%[w], #(8 * " #tap ")]", "a0", "a1", "a2", "a3")
#define TFLM_TRAIN_DW_PAIR_B(tap) \
  TFLM_TRAIN_DW_PAIR_MAC("[%[w], #(8 * " #tap ")]", "b0", "b1", "b2", "b3")
// Column 0: the row moves.
#define TFLM_TRAIN_DW_PAIR_ROW_START                      \
  TFLM_TRAIN_DW_PAIR_COL_LOAD("[%[p], %[p_row]]!")        \
  TFLM_TRAIN_DW_PAIR_MAC("[%[w], %[w_row]]!", "a0", "a1", "a2", "a3")
#define TFLM_TRAIN_DW_PAIR_AB(c, tap_b) \
  TFLM_TRAIN_DW_PAIR_C(c) TFLM_TRAIN_DW_PAIR_A(c) TFLM_TRAIN_DW_PAIR_B(tap_b)

#define TFLM_TRAIN_DW_PAIR_ROW_3_1                                                      \
  TFLM_TRAIN_DW_PAIR_ROW_START TFLM_TRAIN_DW_PAIR_AB(1, 0) TFLM_TRAIN_DW_PAIR_AB(2, 1) \
      TFLM_TRAIN_DW_PAIR_C(3) TFLM_TRAIN_DW_PAIR_B(2)
#define TFLM_TRAIN_DW_PAIR_ROW_5_1                                                      \
  TFLM_TRAIN_DW_PAIR_ROW_START TFLM_TRAIN_DW_PAIR_AB(1, 0) TFLM_TRAIN_DW_PAIR_AB(2, 1) \
      TFLM_TRAIN_DW_PAIR_AB(3, 2) TFLM_TRAIN_DW_PAIR_AB(4, 3) TFLM_TRAIN_DW_PAIR_C(5)  \
          TFLM_TRAIN_DW_PAIR_B(4)
#define TFLM_TRAIN_DW_PAIR_ROW_7_1                                                        \
  TFLM_TRAIN_DW_PAIR_ROW_START TFLM_TRAIN_DW_PAIR_AB(1, 0) TFLM_TRAIN_DW_PAIR_AB(2, 1)   \
      TFLM_TRAIN_DW_PAIR_AB(3, 2) TFLM_TRAIN_DW_PAIR_AB(4, 3) TFLM_TRAIN_DW_PAIR_AB(5, 4) \
          TFLM_TRAIN_DW_PAIR_AB(6, 5) TFLM_TRAIN_DW_PAIR_C(7) TFLM_TRAIN_DW_PAIR_B(6)
#define TFLM_TRAIN_DW_PAIR_ROW_7_2                                                        \
  TFLM_TRAIN_DW_PAIR_ROW_START TFLM_TRAIN_DW_PAIR_C(1) TFLM_TRAIN_DW_PAIR_A(1)           \
      TFLM_TRAIN_DW_PAIR_AB(2, 0) TFLM_TRAIN_DW_PAIR_AB(3, 1) TFLM_TRAIN_DW_PAIR_AB(4, 2) \
          TFLM_TRAIN_DW_PAIR_AB(5, 3) TFLM_TRAIN_DW_PAIR_AB(6, 4) TFLM_TRAIN_DW_PAIR_C(7) \
              TFLM_TRAIN_DW_PAIR_B(5) TFLM_TRAIN_DW_PAIR_C(8) TFLM_TRAIN_DW_PAIR_B(6)
#define TFLM_TRAIN_DW_PAIR_X3(t) t t t
#define TFLM_TRAIN_DW_PAIR_X5(t) t t t t t
#define TFLM_TRAIN_DW_PAIR_X7(t) t t t t t t t

// a, b += the windows of the pair at patch address p (position 2 S columns on); w: the filter's
// centre (FilterPitch(K) taps per row). p and w arrive one row before their first rows.
#define TFLM_TRAIN_DW_PAIR_WINDOW(k, s)                                                      \
  __asm__(TFLM_TRAIN_DW_PAIR_X##k(TFLM_TRAIN_DW_PAIR_ROW_##k##_##s)                         \
          : [x] "=&r"(x), [t] "=&r"(t), [w0] "=&r"(w0), [w1] "=&r"(w1), [a0] "+r"(a.a0),     \
            [a1] "+r"(a.a1), [a2] "+r"(a.a2), [a3] "+r"(a.a3), [b0] "+r"(b.a0),              \
            [b1] "+r"(b.a1), [b2] "+r"(b.a2), [b3] "+r"(b.a3), [p] "+r"(p), [w] "+r"(w)      \
          : [p_row] "i"(4 * PairPitch(k)), [w_row] "i"(8 * FilterPitch(k)))

// No memory operand (it would force the accumulators through the stack): the patch and filter
// words it reads are written before the (non-inlined) PairRun that runs it.
template <int K, int S>
__attribute__((always_inline)) inline void PairWindow(uintptr_t p, uintptr_t w, Acc4& a,
                                                      Acc4& b) {
  uint32_t x, t, w0, w1;
  if constexpr (K == 3 && S == 1) {
    TFLM_TRAIN_DW_PAIR_WINDOW(3, 1);
  } else if constexpr (K == 5 && S == 1) {
    TFLM_TRAIN_DW_PAIR_WINDOW(5, 1);
  } else if constexpr (K == 7 && S == 1) {
    TFLM_TRAIN_DW_PAIR_WINDOW(7, 1);
  } else {
    static_assert(K == 7 && S == 2, "pair window shape");
    TFLM_TRAIN_DW_PAIR_WINDOW(7, 2);
  }
}

#undef TFLM_TRAIN_DW_PAIR_WINDOW
#undef TFLM_TRAIN_DW_PAIR_X7
#undef TFLM_TRAIN_DW_PAIR_X5
#undef TFLM_TRAIN_DW_PAIR_X3
#undef TFLM_TRAIN_DW_PAIR_ROW_7_2
#undef TFLM_TRAIN_DW_PAIR_ROW_7_1
#undef TFLM_TRAIN_DW_PAIR_ROW_5_1
#undef TFLM_TRAIN_DW_PAIR_ROW_3_1
#undef TFLM_TRAIN_DW_PAIR_AB
#undef TFLM_TRAIN_DW_PAIR_ROW_START
#undef TFLM_TRAIN_DW_PAIR_B
#undef TFLM_TRAIN_DW_PAIR_A
#undef TFLM_TRAIN_DW_PAIR_C
#undef TFLM_TRAIN_DW_PAIR_MAC
#undef TFLM_TRAIN_DW_PAIR_COL_LOAD

// RequantizeDoubled of one channel's sums at both positions of a pair, in place, the channel's
// constants loaded once (GCC, short of registers after the window, reloaded them per use).
__attribute__((always_inline)) inline void RequantizePairDoubled(const DoubledRequant& q,
                                                                 int32_t& a, int32_t& b) {
#if defined(__ARM_FEATURE_DSP)
  int32_t m, e, r, ha, hb;
  __asm__(
      "ldrd %[m], %[e], [%[q]]\n\t"
      "ldr %[r], [%[q], #8]\n\t"
      "smmlar %[ha], %[a], %[m], %[r]\n\t"
      "smmlar %[hb], %[b], %[m], %[r]\n\t"
      "add %[ha], %[ha], %[a], asr #31\n\t"
      "add %[hb], %[hb], %[b], asr #31\n\t"
      "asr %[a], %[ha], %[e]\n\t"
      "asr %[b], %[hb], %[e]\n\t"
      "ssat %[a], #8, %[a]\n\t"
      "ssat %[b], #8, %[b]"
      : [m] "=&r"(m), [e] "=&r"(e), [r] "=&r"(r), [ha] "=&r"(ha), [hb] "=&r"(hb), [a] "+r"(a),
        [b] "+r"(b)
      : [q] "r"(&q), "m"(q));
#else
  a = RequantizeDoubled(a, q);
  b = RequantizeDoubled(b, q);
#endif
}

// `count` positions from the patch (position i at column i * S; a pair's second position is
// computed even past count, from columns the patch holds).
// Not inlined: the window's asm gets the whole register file.
template <int K, int S>
__attribute__((noinline)) void PairRun(const RunGeometry& geo, const Group& g,
                                       const uint32_t* patch, int8_t* out, int32_t count) {
  // One row before the first: each window row's text starts by moving on.
  const uintptr_t w_start = reinterpret_cast<uintptr_t>(g.w + 2 * FilterMargin(K)) -
                            8 * FilterPitch(K);
  uintptr_t p_start = reinterpret_cast<uintptr_t>(patch) - 4 * PairPitch(K);
  for (; count > 0; count -= 2, p_start += 8 * S) {
    Acc4 a{g.folded_base[0], g.folded_base[1], g.folded_base[2], g.folded_base[3]};
    Acc4 b = a;
    PairWindow<K, S>(p_start, w_start, a, b);
    RequantizePairDoubled(g.doubled[0], a.a0, b.a0);
    RequantizePairDoubled(g.doubled[1], a.a1, b.a1);
    RequantizePairDoubled(g.doubled[2], a.a2, b.a2);
    RequantizePairDoubled(g.doubled[3], a.a3, b.a3);
    const uint32_t first = simd::ClampBytes(simd::PackBytes(a.a0, a.a1, a.a2, a.a3), geo.act_lo,
                                            geo.act_hi);
    const uint32_t second = simd::ClampBytes(simd::PackBytes(b.a0, b.a1, b.a2, b.a3),
                                             geo.act_lo, geo.act_hi);
    simd::Store4(out, first);
    if (count > 1) simd::Store4(out + geo.out_step, second);
    out += 2 * geo.out_step;
  }
}

// One output row (top window row y0) through the pair path.
template <int K, int S>
__attribute__((noinline)) void PairRow(const Shape& s, const RunGeometry& geo, const Group& g,
                                       const int8_t* in_batch, int32_t y0, int8_t* out) {
  uint32_t patch[kPairPatchWords];
  for (int32_t ox = 0; ox < s.out_w;) {
    const int32_t left = s.out_w - ox;
    const int32_t n = left < PairChunk(K, S) ? left : PairChunk(K, S);
    const int32_t width = ((n + 1) & ~1) * S - S + K;
    FillPatch(s, K, in_batch, y0, ox * S - s.params->padding.w, width, PairPitch(K), patch);
    PairRun<K, S>(geo, g, patch, out + ox * geo.out_step, n);
    ox += n;
  }
}

template <int K, int S>
void PairGroup(const Shape& s, const RunGeometry& geo, const Group& g, int32_t out_h,
               const int8_t* in_batch, int8_t* out_batch) {
  const DepthwiseParams& p = *s.params;
  for (int32_t oy = 0; oy < out_h; ++oy) {
    PairRow<K, S>(s, geo, g, in_batch, oy * p.stride.h - p.padding.h,
                  out_batch + oy * s.out_w * geo.out_step);
  }
}

// Whether the pair path handles the call's shape, for channel groups that requantise doubled.
// Stride 2 only for 7x7: at 3x3/2 and 5x5/2 the patch copy (two new columns per position and
// row) eats the gain, so those keep the direct interior loop and its smaller code.
bool PairShape(const DepthwiseParams& p, int32_t kh, int32_t kw) {
  if (kh != kw || p.dilation.w != 1) return false;
  if (p.stride.w == 1) return kw == 3 || kw == 5 || kw == 7;
  return p.stride.w == 2 && kw == 7;
}

// Every output position of one batch (in_batch, out_batch at channel oc) for one channel group
// that requantises doubled, of a shape PairShape accepts.
void PairGroupDispatch(const Shape& s, const RunGeometry& geo, const Group& g, int32_t out_h,
                       const int8_t* in_batch, int8_t* out_batch) {
  if (geo.kw == 3) {
    PairGroup<3, 1>(s, geo, g, out_h, in_batch, out_batch);
  } else if (geo.kw == 5) {
    PairGroup<5, 1>(s, geo, g, out_h, in_batch, out_batch);
  } else if (s.params->stride.w == 1) {
    PairGroup<7, 1>(s, geo, g, out_h, in_batch, out_batch);
  } else {
    PairGroup<7, 2>(s, geo, g, out_h, in_batch, out_batch);
  }
}

}  // namespace
}  // namespace depthwise_dsp_detail
}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DSP

#endif  // TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_PAIR_DSP_H_
