// Internals shared by the two DSP-path depth-multiplier-1 depthwise paths: the general one with
// padded-border runs (depthwise_conv_dsp.cc) and the pair path (depthwise_conv_pair_dsp.h).
// Only for those files, which make one translation unit (see depthwise_conv_pair_dsp.h); only
// built on the DSP path (kernel_path.h).
#ifndef TFLM_TRAIN_KERNELS_DEPTHWISE_DSP_COMMON_H_
#define TFLM_TRAIN_KERNELS_DEPTHWISE_DSP_COMMON_H_

#include <cstddef>
#include <cstdint>

#include "kernels/depthwise_conv_dsp.h"
#include "kernels/kernel_path.h"
#include "kernels/types.h"

#if TFLM_TRAIN_KERNELS_DSP

#include "kernels/arm_simd.h"
#include "kernels/quant_math.h"
#include "kernels/requant_dsp.h"

namespace tflm_train {
namespace depthwise_dsp_detail {

// The widened filter of a channel group is stored with kw / 2 zero taps left and right of each
// filter row (FilterPitch taps per row), so that a window crossing the left or right input edge
// can run clamped inside the row with its weights shifted over the zeros (ShiftedEdge), without a
// padded copy. kMaxPaddedTaps bounds kh * FilterPitch (8 x 15 for the largest window handled);
// its widened words take 2 * 4 * kMaxPaddedTaps bytes of the caller's scratch.
constexpr int32_t kMaxPaddedTaps = kDepthwiseDspMaxPaddedTaps;
constexpr int32_t FilterMargin(int32_t kw) { return kw / 2; }
constexpr int32_t FilterPitch(int32_t kw) { return kw + 2 * FilterMargin(kw); }

// One channel group's filter and output constants, prepared once per call.
// kDoubled groups (every channel eligible for RequantizeDoubled) hold doubled weights and
// bases, so their sums arrive doubled; the others the plain ones for Requantize.
struct Group {
  // Widened filter words (even / odd channel bytes, tap by tap), FilterPitch taps per filter row
  // with FilterMargin zero taps on both sides (zeroed when a call's first such group needs
  // them); or, for the pair path, its own layout (PairRowWords, depthwise_conv_pair_dsp.h:
  // 4 K^2 words, at most 196 for 7 x 7, inside the same array).
  uint32_t w[2 * kMaxPaddedTaps];
  int32_t base[4];           // the bias
  // base + input_offset * (the channel's widened weights summed): the pair path's base, whose
  // taps multiply the raw input bytes (see PairRun).
  int32_t folded_base[4];
  DoubledRequant doubled[4];
  GroupQuant quant;
};

// Where a run of output positions reads: the window of the run's first position starts at x
// (its top-left tap, channel oc); taps x_tap, window rows x_row, positions x_step bytes apart.
struct RunGeometry {
  int32_t x_tap;
  int32_t x_row;
  int32_t x_step;
  int32_t out_step;  // output bytes between positions (the channel count)
  int32_t kh, kw;
  int32_t w_row;            // filter words per filter row: 2 * FilterPitch(kw)
  uint32_t input_offset16;  // input_offset in both 16-bit lanes (SXTAB16's addend)
  int32_t output_offset;
  uint32_t act_lo, act_hi;  // activation bounds, Splat8
};

// Accumulators of one position's four channels.
struct Acc4 {
  int32_t a0, a1, a2, a3;
};

// The call's shape, shared by every channel group.
struct Shape {
  const DepthwiseParams* params;
  Dims in;
  int32_t out_w;
  int32_t span_w;  // input columns one window covers: (kw - 1) * dilation.w + 1
  int32_t patch_positions;  // output positions one patch holds
  uint32_t zero_point4;     // the input zero point in all four bytes
  uint32_t* patch;          // the padded rows' copy (caller's scratch: kDepthwiseDspPatchBytes)
};

static_assert(sizeof(Group) == kDepthwiseDspGroupBytes, "DepthwiseDm1DspGetBufferSize");

namespace {  // file-local: only depthwise_conv_dsp.cc includes this header

// RequantizeDoubled of a position's four channel sums, packed into one output word, written as
// asm (the one-position and the pair form share the text below): given C, GCC (short of
// registers after the windows) spent cycles on register moves, reloaded constants, and, with a
// memory operand, reloaded that operand's address per channel. No memory operand: the
// constants are written before the (non-inlined) runs that use these. Per channel: its three
// constants (multiplier, shift, round: DoubledRequant) by pipelined loads, SMMLAR, the sign
// correction, the shift and SSAT #8; the bytes go into the packed word by BFI as each channel
// finishes, which frees its registers.
#define TFLM_TRAIN_DW_RQ_STR2(x) #x
#define TFLM_TRAIN_DW_RQ_STR(x) TFLM_TRAIN_DW_RQ_STR2(x)
#define TFLM_TRAIN_DW_RQ_LOAD(c, reg, field) \
  "ldr %[" reg "], [%[q], #((" TFLM_TRAIN_DW_RQ_STR(c) ") * %c[size] + %c[" field "])]\n\t"
#define TFLM_TRAIN_DW_RQ_LOADS(c, m, e, r) \
  TFLM_TRAIN_DW_RQ_LOAD(c, m, "om") TFLM_TRAIN_DW_RQ_LOAD(c, e, "oe") \
      TFLM_TRAIN_DW_RQ_LOAD(c, r, "oround")
// Sums a, b with the same constants (m, e, r): the pair path's two positions. b's result is
// computed in m once both SMMLARs have read it.
#define TFLM_TRAIN_DW_RQ_TWO_SUMS(c, a, b)        \
  TFLM_TRAIN_DW_RQ_LOADS(c, "m", "e", "r")        \
  "smmlar %[h], %[" a "], %[m], %[r]\n\t"         \
  "smmlar %[m], %[" b "], %[m], %[r]\n\t"         \
  "add %[h], %[h], %[" a "], asr #31\n\t"         \
  "add %[m], %[m], %[" b "], asr #31\n\t"         \
  "asr %[" a "], %[h], %[e]\n\t"                  \
  "asr %[" b "], %[m], %[e]\n\t"                  \
  "ssat %[" a "], #8, %[" a "]\n\t"               \
  "ssat %[" b "], #8, %[" b "]\n\t"
// Channels c and c + 1 of one position (sums a, b; constants m, e, r and n, f, s): six
// loads in a row, the two channels' dependent steps side by side.
#define TFLM_TRAIN_DW_RQ_TWO_CHANNELS(c, a, b)                                     \
  TFLM_TRAIN_DW_RQ_LOADS(c, "m", "e", "r") TFLM_TRAIN_DW_RQ_LOADS(c + 1, "n", "f", "s") \
  "smmlar %[m], %[" a "], %[m], %[r]\n\t"                                         \
  "smmlar %[n], %[" b "], %[n], %[s]\n\t"                                         \
  "add %[m], %[m], %[" a "], asr #31\n\t"                                         \
  "add %[n], %[n], %[" b "], asr #31\n\t"                                         \
  "asr %[" a "], %[m], %[e]\n\t"                                                  \
  "asr %[" b "], %[n], %[f]\n\t"                                                  \
  "ssat %[" a "], #8, %[" a "]\n\t"                                               \
  "ssat %[" b "], #8, %[" b "]\n\t"
#define TFLM_TRAIN_DW_RQ_PACK(word, c, v) \
  "bfi %[" word "], %[" v "], #(8 * (" TFLM_TRAIN_DW_RQ_STR(c) ")), #8\n\t"
#define TFLM_TRAIN_DW_RQ_CONSTANTS                                                    \
  [size] "i"(sizeof(DoubledRequant)), [om] "i"(offsetof(DoubledRequant, multiplier)), \
      [oe] "i"(offsetof(DoubledRequant, shift)), [oround] "i"(offsetof(DoubledRequant, round))

// The packed output word of one position's sums a (q: the group's four channels' constants).
__attribute__((always_inline)) inline uint32_t RequantizePackDoubled(const DoubledRequant* q,
                                                                     Acc4 a) {
  int32_t m, e, r, n, f, s;
  __asm__(TFLM_TRAIN_DW_RQ_TWO_CHANNELS(0, "a0", "a1") TFLM_TRAIN_DW_RQ_PACK("a0", 1, "a1")
              TFLM_TRAIN_DW_RQ_TWO_CHANNELS(2, "a2", "a3") TFLM_TRAIN_DW_RQ_PACK("a0", 2, "a2")
                  TFLM_TRAIN_DW_RQ_PACK("a0", 3, "a3")
          : [m] "=&r"(m), [e] "=&r"(e), [r] "=&r"(r), [n] "=&r"(n), [f] "=&r"(f),
            [s] "=&r"(s), [a0] "+r"(a.a0), [a1] "+r"(a.a1), [a2] "+r"(a.a2), [a3] "+r"(a.a3)
          : [q] "r"(q), TFLM_TRAIN_DW_RQ_CONSTANTS);
  return static_cast<uint32_t>(a.a0);
}

// Both positions of a pair (sums a, b), packed into a.a0 and b.a0.
__attribute__((always_inline)) inline void RequantizePairDoubled(const DoubledRequant* q, Acc4& a,
                                                                 Acc4& b) {
  int32_t m, e, r, h;
  __asm__(TFLM_TRAIN_DW_RQ_TWO_SUMS(0, "a0", "b0") TFLM_TRAIN_DW_RQ_TWO_SUMS(1, "a1", "b1")
              TFLM_TRAIN_DW_RQ_PACK("a0", 1, "a1") TFLM_TRAIN_DW_RQ_PACK("b0", 1, "b1")
                  TFLM_TRAIN_DW_RQ_TWO_SUMS(2, "a2", "b2") TFLM_TRAIN_DW_RQ_PACK("a0", 2, "a2")
                      TFLM_TRAIN_DW_RQ_PACK("b0", 2, "b2") TFLM_TRAIN_DW_RQ_TWO_SUMS(3, "a3", "b3")
                          TFLM_TRAIN_DW_RQ_PACK("a0", 3, "a3") TFLM_TRAIN_DW_RQ_PACK("b0", 3, "b3")
          : [m] "=&r"(m), [e] "=&r"(e), [r] "=&r"(r), [h] "=&r"(h), [a0] "+r"(a.a0),
            [a1] "+r"(a.a1), [a2] "+r"(a.a2), [a3] "+r"(a.a3), [b0] "+r"(b.a0),
            [b1] "+r"(b.a1), [b2] "+r"(b.a2), [b3] "+r"(b.a3)
          : [q] "r"(q), TFLM_TRAIN_DW_RQ_CONSTANTS);
}

#undef TFLM_TRAIN_DW_RQ_CONSTANTS
#undef TFLM_TRAIN_DW_RQ_PACK
#undef TFLM_TRAIN_DW_RQ_TWO_CHANNELS
#undef TFLM_TRAIN_DW_RQ_TWO_SUMS
#undef TFLM_TRAIN_DW_RQ_LOADS
#undef TFLM_TRAIN_DW_RQ_LOAD
#undef TFLM_TRAIN_DW_RQ_STR
#undef TFLM_TRAIN_DW_RQ_STR2

// Whether the activation range is narrower than int8: a full range (e.g. ReLU6 quantised over
// [0, 6]) clamps nothing after the requantisation's SSAT #8.
inline bool ClampsOutput(const RunGeometry& geo) {
  return geo.act_lo != simd::Splat8(-128) || geo.act_hi != simd::Splat8(127);
}

// The n positions of a run (step bytes apart, four channels each) clamped to the activation
// bounds (Splat8), a pass after the run: inside the runs' loops its test cost every position.
__attribute__((noinline)) void ClampPositions(int8_t* out, int32_t step, int32_t n, uint32_t lo,
                                              uint32_t hi) {
  for (; n > 0; --n, out += step) simd::Store4(out, simd::ClampBytes(simd::Load4(out), lo, hi));
}

// n words of value v from d on; returns the word after them.
inline uint32_t* FillWords(uint32_t* d, int32_t n, uint32_t v) {
  for (; n > 0; --n) *d++ = v;
  return d;
}

// Copies the kh window rows (top input row y0) of input columns [x0, x0 + width), four channels
// per word, into patch rows `pitch` words apart; columns or rows outside the input hold the input
// zero point (what the reference skips: (zero point + input_offset) * w = 0). in_batch at
// channel oc.
// The rows inside the input are found once, and each copied row is three counted runs (zero
// points, input words, zero points): a row's bounds tests and index arithmetic, which GCC
// spilled around the copy, cost more than the copy of a short row (MobileNetV2's ~14 words).
void FillPatch(const Shape& s, int32_t kh, const int8_t* in_batch, int32_t y0, int32_t x0,
               int32_t width, int32_t pitch, uint32_t* patch) {
  const DepthwiseParams& p = *s.params;
  // Patch columns [c_begin, c_end) lie inside the input.
  const int32_t c_begin = x0 < 0 ? (-x0 < width ? -x0 : width) : 0;
  int32_t c_end = s.in.w - x0 < width ? s.in.w - x0 : width;
  if (c_end < c_begin) c_end = c_begin;
  // Window rows [r_begin, r_end) lie inside the input (y0 + r * dilation in [0, in.h)).
  const int32_t dh = p.dilation.h;
  int32_t r_begin = y0 < 0 ? (-y0 + dh - 1) / dh : 0;
  if (r_begin > kh) r_begin = kh;
  int32_t r_end = s.in.h - y0 <= 0 ? 0 : (s.in.h - y0 + dh - 1) / dh;
  if (r_end > kh) r_end = kh;
  if (r_end < r_begin) r_end = r_begin;
  const uint32_t z = s.zero_point4;
  uint32_t* row = patch;
  for (int32_t r = 0; r < r_begin; ++r, row += pitch) FillWords(row, width, z);
  if (r_end > r_begin) {
    const int32_t in_c = s.in.c;
    const int32_t n_copy = c_end - c_begin, n_right = width - c_end;
    const int32_t row_bytes = dh * s.in.w * in_c;
    const int8_t* src = in_batch + ((y0 + r_begin * dh) * s.in.w + x0 + c_begin) * in_c;
    for (int32_t r = r_begin; r < r_end; ++r, row += pitch, src += row_bytes) {
      uint32_t* d = FillWords(row, c_begin, z);
      const int8_t* q = src;
      int32_t n = n_copy;
      // Four loads, then four stores: the loads pipeline (1 cycle after the first on the M4),
      // where load / store pairs cost 3 cycles a word.
      for (; n >= 4; n -= 4, q += 4 * in_c, d += 4) {
        const uint32_t w0 = simd::Load4(q), w1 = simd::Load4(q + in_c);
        const uint32_t w2 = simd::Load4(q + 2 * in_c), w3 = simd::Load4(q + 3 * in_c);
        d[0] = w0;
        d[1] = w1;
        d[2] = w2;
        d[3] = w3;
      }
      for (; n > 0; --n, q += in_c) *d++ = simd::Load4(q);
      FillWords(d, n_right, z);
    }
  }
  for (int32_t r = r_end; r < kh; ++r, row += pitch) FillWords(row, width, z);
}

}  // namespace
}  // namespace depthwise_dsp_detail
}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DSP

#endif  // TFLM_TRAIN_KERNELS_DEPTHWISE_DSP_COMMON_H_
