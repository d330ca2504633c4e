#include "kernels/depthwise_conv_dsp.h"

#if TFLM_TRAIN_KERNELS_DSP

#include <utility>

#include "kernels/arm_simd.h"
#include "kernels/conv_window.h"
#include "kernels/quant_math.h"
#include "kernels/requant_dsp.h"

namespace tflm_train {

namespace {

// The widened filter of a channel group is stored with kw / 2 zero taps left and right of each
// filter row (FilterPitch taps per row), so that a window crossing the left or right input edge
// can run clamped inside the row with its weights shifted over the zeros (ShiftedEdge), without a
// padded copy. kMaxPaddedTaps bounds kh * FilterPitch (8 x 15 for the largest window handled);
// its widened words take 2 * 4 * kMaxPaddedTaps bytes of stack.
constexpr int32_t kMaxPaddedTaps = 120;
constexpr int32_t FilterMargin(int32_t kw) { return kw / 2; }
constexpr int32_t FilterPitch(int32_t kw) { return kw + 2 * FilterMargin(kw); }
// Words (one pixel of four channels each) of the padded copy border positions run on: 512
// bytes of stack; a 3x3 row copy then holds 40 positions, a 7x7 one 12.
constexpr int32_t kPatchWords = 128;

// Output positions [y_begin, y_end) x [x_begin, x_end) whose windows lie wholly inside the
// input (no bounds checks needed).
struct InteriorRect {
  int32_t y_begin, y_end, x_begin, x_end;
};

// [begin, end) of the outputs along one axis whose window start o * stride - pad and end
// start + (k - 1) * dilation both lie in [0, in_size); pad >= 0.
void InteriorSpan(int32_t pad, int32_t stride, int32_t k, int32_t dilation, int32_t in_size,
                  int32_t out_size, int32_t* begin, int32_t* end) {
  int32_t b = (pad + stride - 1) / stride;
  const int32_t last = in_size - 1 - (k - 1) * dilation + pad;  // largest allowed o * stride
  int32_t e = last < 0 ? 0 : last / stride + 1;
  if (e > out_size) e = out_size;
  if (b > e) b = e;
  *begin = b;
  *end = e;
}

// One channel group's filter and output constants, prepared once per call.
// kDoubled groups (every channel eligible for RequantizeDoubled) hold doubled weights and
// bases, so their sums arrive doubled; the others the plain ones for Requantize<false>.
struct Group {
  // Widened filter words (even / odd channel bytes, tap by tap), FilterPitch taps per filter row
  // with FilterMargin zero taps on both sides (zeroed once per call).
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

// The four channels' output bytes of one position, packed into one word.
template <bool kDoubled>
inline uint32_t Requantize4(const RunGeometry& geo, const Group& g, int32_t a0, int32_t a1,
                            int32_t a2, int32_t a3) {
  uint32_t packed;
  if (kDoubled) {
    packed = simd::PackBytes(RequantizeDoubled(a0, g.doubled[0]),
                             RequantizeDoubled(a1, g.doubled[1]),
                             RequantizeDoubled(a2, g.doubled[2]),
                             RequantizeDoubled(a3, g.doubled[3]));
  } else {
    const int32_t oo = geo.output_offset;
    packed = simd::PackBytes(OffsetSat8(Requantize<false>(a0, g.quant, 0), oo),
                             OffsetSat8(Requantize<false>(a1, g.quant, 1), oo),
                             OffsetSat8(Requantize<false>(a2, g.quant, 2), oo),
                             OffsetSat8(Requantize<false>(a3, g.quant, 3), oo));
  }
  return simd::ClampBytes(packed, geo.act_lo, geo.act_hi);
}

template <bool kDoubled>
inline void RequantizeStore4(const RunGeometry& geo, const Group& g, int32_t a0, int32_t a1,
                             int32_t a2, int32_t a3, int8_t* out) {
  simd::Store4(out, Requantize4<kDoubled>(geo, g, a0, a1, a2, a3));
}

// Accumulators of one position's four channels.
struct Acc4 {
  int32_t a0, a1, a2, a3;
};

// acc += one tap: the four channels' input word at p + kMode * x_tap (kMode 0, 1 or 2: an
// addressing mode of the load, so no pointer arithmetic per tap), each byte plus the input
// offset (SXTAB16, as cheap as the plain sign extension), times the widened filter
// words w[kWord] (channels 0, 2) and w[kWord + 1] (channels 1, 3), kWord an immediate offset
// (a register per tap would be hoisted out of the loop and spilled); kAdvance: then p +=
// 2 * x_tap, inside the asm. Written out so the unrolled window keeps its accumulators and
// ONE moving input pointer in registers: eight instructions per tap (+1 per advance), where
// GCC's own scheduling of the same code, or per-tap pointers it could precompute, spilled and
// reloaded pointers. No memory clobber (it would force the accumulators through the stack):
// the input and filter words it reads are not written while a WindowRun (a separate,
// non-inlined function) runs.
template <int kMode, int kWord, bool kAdvance>
__attribute__((always_inline)) inline void MacTap(const int8_t*& p, int32_t x_tap,
                                                  const uint32_t* w, uint32_t off16,
                                                  Acc4& acc) {
  uint32_t x, t, w0, w1;
  static_assert(kMode >= 0 && kMode <= 2, "tap addressing mode");
#define TFLM_TRAIN_DW_TAP_BODY                          \
  "ldrd %[w0], %[w1], [%[w], %[off]]\n\t"               \
  "sxtab16 %[t], %[off16], %[x]\n\t"                    \
  "smlabb %[a0], %[t], %[w0], %[a0]\n\t"                \
  "smlatt %[a2], %[t], %[w0], %[a2]\n\t"                \
  "sxtab16 %[t], %[off16], %[x], ror #8\n\t"            \
  "smlabb %[a1], %[t], %[w1], %[a1]\n\t"                \
  "smlatt %[a3], %[t], %[w1], %[a3]"
#define TFLM_TRAIN_DW_TAP_ADVANCE "\n\tadd %[p], %[p], %[xt], lsl #1"
// p is an output operand only where the asm advances it: a read-only p leaves GCC free to keep
// the row pointers of small windows (3x3) as it likes.
#define TFLM_TRAIN_DW_TAP_OUTPUTS                                                         \
  [x] "=&r"(x), [t] "=&r"(t), [w0] "=&r"(w0), [w1] "=&r"(w1), [a0] "+r"(acc.a0),          \
      [a1] "+r"(acc.a1), [a2] "+r"(acc.a2), [a3] "+r"(acc.a3)
#define TFLM_TRAIN_DW_TAP_INPUTS \
  [xt] "r"(x_tap), [w] "r"(w), [off] "i"(4 * kWord), [off16] "r"(off16)
#define TFLM_TRAIN_DW_TAP(load)                                                              \
  if (kAdvance) {                                                                            \
    __asm__(load TFLM_TRAIN_DW_TAP_BODY TFLM_TRAIN_DW_TAP_ADVANCE                            \
            : TFLM_TRAIN_DW_TAP_OUTPUTS, [p] "+r"(p)                                         \
            : TFLM_TRAIN_DW_TAP_INPUTS);                                                     \
  } else {                                                                                   \
    __asm__(load TFLM_TRAIN_DW_TAP_BODY                                                      \
            : TFLM_TRAIN_DW_TAP_OUTPUTS                                                      \
            : TFLM_TRAIN_DW_TAP_INPUTS, [p] "r"(p));                                         \
  }
  if (kMode == 0) {
    TFLM_TRAIN_DW_TAP("ldr %[x], [%[p]]\n\t")
  } else if (kMode == 1) {
    TFLM_TRAIN_DW_TAP("ldr %[x], [%[p], %[xt]]\n\t")
  } else {
    TFLM_TRAIN_DW_TAP("ldr %[x], [%[p], %[xt], lsl #1]\n\t")
  }
#undef TFLM_TRAIN_DW_TAP
#undef TFLM_TRAIN_DW_TAP_BODY
#undef TFLM_TRAIN_DW_TAP_ADVANCE
#undef TFLM_TRAIN_DW_TAP_OUTPUTS
#undef TFLM_TRAIN_DW_TAP_INPUTS
}

// Input pointer advances (of 2 * x_tap each) within a window row of K taps: taps go in pairs
// read at p and p + x_tap, then p advances; the last two or three taps need no advance.
constexpr int RowAdvances(int k) { return k <= 3 ? 0 : (k - 2) / 2; }

// One window row of K taps from p (advanced by 2 * x_tap * RowAdvances(K) on return), taps
// kTap.. of it. kWord: the row's first filter word.
template <int K, int kWord, int kTap = 0>
__attribute__((always_inline)) inline void MacRow(const int8_t*& p, int32_t x_tap,
                                                  const uint32_t* w, uint32_t off16, Acc4& acc) {
  if constexpr (K - kTap <= 3) {
    MacTap<0, kWord + 2 * kTap, false>(p, x_tap, w, off16, acc);
    if constexpr (kTap + 1 < K) MacTap<1, kWord + 2 * kTap + 2, false>(p, x_tap, w, off16, acc);
    if constexpr (kTap + 2 < K) MacTap<2, kWord + 2 * kTap + 4, false>(p, x_tap, w, off16, acc);
  } else {
    MacTap<0, kWord + 2 * kTap, false>(p, x_tap, w, off16, acc);
    MacTap<1, kWord + 2 * kTap + 2, true>(p, x_tap, w, off16, acc);
    MacRow<K, kWord, kTap + 2>(p, x_tap, w, off16, acc);
  }
}

// Rows kRow.. of a K x K window whose first row starts at p (filter rows FilterPitch(K) taps
// apart); row_step: x_row less the advances MacRow made along a row.
template <int K, int kRow = 0>
__attribute__((always_inline)) inline void MacRows(const int8_t* p, int32_t x_tap,
                                                   int32_t row_step, const uint32_t* w,
                                                   uint32_t off16, Acc4& acc) {
  MacRow<K, 2 * FilterPitch(K) * kRow>(p, x_tap, w, off16, acc);
  if constexpr (kRow + 1 < K) MacRows<K, kRow + 1>(p + row_step, x_tap, row_step, w, off16, acc);
}

// The four channels' sums of the window at x with the filter at w (K as for WindowRun).
template <int K>
__attribute__((always_inline)) inline Acc4 WindowSum(const RunGeometry& geo, const Group& g,
                                                     const uint32_t* w, const int8_t* x) {
  Acc4 acc{g.base[0], g.base[1], g.base[2], g.base[3]};
  if constexpr (K > 0) {
    MacRows<K>(x, geo.x_tap, geo.x_row - 2 * RowAdvances(K) * geo.x_tap, w,
               geo.input_offset16, acc);
  } else {
    for (int32_t r = 0; r < geo.kh; ++r) {
      const int8_t* xp = x;
      const uint32_t* wp = w;
      for (int32_t t = 0; t < geo.kw; ++t) {
        MacTap<0, 0, false>(xp, geo.x_tap, wp, geo.input_offset16, acc);
        wp += 2;
        xp += geo.x_tap;
      }
      x += geo.x_row;
      w += geo.w_row;
    }
  }
  return acc;
}

// `count` output positions for four channels whose every tap reads memory inside the input (or
// inside a padded copy of it); w: the filter's first row (the group's own, or shifted over its
// zero margin for a clamped edge window). Each tap adds w * (x + input_offset), and the base is
// the bias: the reference's exact int32 sum (a padded copy's taps hold the zero point, x +
// input_offset = 0, as the reference's skipped taps; a clamped window's extra taps have zero
// weights). K: square window size, 0 = runtime (geo.kh x geo.kw).
// Not inlined: its unrolled loop then gets the whole register file, whatever the caller does.
template <int K, bool kDoubled>
__attribute__((noinline)) void WindowRun(const RunGeometry& geo, const Group& g,
                                         const uint32_t* w, const int8_t* x, int8_t* out,
                                         int32_t count) {
  const int8_t* const x_end = x + count * geo.x_step;
  for (; x != x_end; x += geo.x_step) {
    const Acc4 acc = WindowSum<K>(geo, g, w, x);
    RequantizeStore4<kDoubled>(geo, g, acc.a0, acc.a1, acc.a2, acc.a3, out);
    out += geo.out_step;
  }
}

template <bool kDoubled>
void WindowRunDispatch(const RunGeometry& geo, const Group& g, const uint32_t* w,
                       const int8_t* x, int8_t* out, int32_t count) {
  const int32_t k = geo.kh == geo.kw ? geo.kw : 0;
  if (k == 3) {
    WindowRun<3, kDoubled>(geo, g, w, x, out, count);
  } else if (k == 5) {
    WindowRun<5, kDoubled>(geo, g, w, x, out, count);
  } else if (k == 7) {
    WindowRun<7, kDoubled>(geo, g, w, x, out, count);
  } else {
    WindowRun<0, kDoubled>(geo, g, w, x, out, count);
  }
}

// The group's filter as an unshifted window reads it.
inline const uint32_t* CentreFilter(const Group& g, const RunGeometry& geo) {
  return g.w + 2 * FilterMargin(geo.kw);
}

// The call's shape, shared by every channel group.
struct Shape {
  const DepthwiseParams* params;
  Dims in;
  int32_t out_w;
  int32_t span_w;  // input columns one window covers: (kw - 1) * dilation.w + 1
  int32_t patch_positions;  // output positions one patch holds
  uint32_t zero_point4;     // the input zero point in all four bytes
};

// Copies the kh window rows (top input row y0) of input columns [x0, x0 + width), four channels
// per word, into patch rows `pitch` words apart; columns or rows outside the input hold the input
// zero point (what the reference skips: (zero point + input_offset) * w = 0). in_batch at
// channel oc.
void FillPatch(const Shape& s, int32_t kh, const int8_t* in_batch, int32_t y0, int32_t x0,
               int32_t width, int32_t pitch, uint32_t* patch) {
  const DepthwiseParams& p = *s.params;
  // Patch columns [c_begin, c_end) lie inside the input.
  const int32_t c_begin = x0 < 0 ? (-x0 < width ? -x0 : width) : 0;
  int32_t c_end = s.in.w - x0 < width ? s.in.w - x0 : width;
  if (c_end < c_begin) c_end = c_begin;
  const int32_t in_c = s.in.c;
  uint32_t* row = patch;
  for (int32_t r = 0; r < kh; ++r, row += pitch) {
    const int32_t y = y0 + r * p.dilation.h;
    if (y < 0 || y >= s.in.h) {
      for (int32_t c = 0; c < width; ++c) row[c] = s.zero_point4;
      continue;
    }
    for (int32_t c = 0; c < c_begin; ++c) row[c] = s.zero_point4;
    const int8_t* src = in_batch + (y * s.in.w + x0 + c_begin) * in_c;
    int32_t c = c_begin;
    for (; c + 4 <= c_end; c += 4, src += 4 * in_c) {
      row[c] = simd::Load4(src);
      row[c + 1] = simd::Load4(src + in_c);
      row[c + 2] = simd::Load4(src + 2 * in_c);
      row[c + 3] = simd::Load4(src + 3 * in_c);
    }
    for (; c < c_end; ++c, src += in_c) row[c] = simd::Load4(src);
    for (int32_t c = c_end; c < width; ++c) row[c] = s.zero_point4;
  }
}

// Output positions [ox, ox + count) of one output row whose windows (top-left input y0) may
// cross the input's edge: the rows they read are copied into a padded patch and run through
// WindowRun like interior positions. in_batch at channel oc.
template <bool kDoubled>
void PaddedRun(const Shape& s, const RunGeometry& geo, const Group& g, const int8_t* in_batch,
               int32_t y0, int32_t ox, int32_t count, int8_t* out) {
  const DepthwiseParams& p = *s.params;
  uint32_t patch[kPatchWords];
  while (count > 0) {
    const int32_t n = count < s.patch_positions ? count : s.patch_positions;
    const int32_t width = (n - 1) * p.stride.w + s.span_w;
    FillPatch(s, geo.kh, in_batch, y0, ox * p.stride.w - p.padding.w, width, width, patch);
    RunGeometry pg = geo;
    pg.x_tap = 4 * p.dilation.w;
    pg.x_row = 4 * width;
    pg.x_step = 4 * p.stride.w;
    WindowRunDispatch<kDoubled>(pg, g, CentreFilter(g, geo), reinterpret_cast<const int8_t*>(patch),
                                out, n);
    out += n * geo.out_step;
    ox += n;
    count -= n;
  }
}

// ---- Pair path: square K x K windows (K = 3, 5, 7), column stride S = 1 or 2, no column
// dilation, doubled requantisation. Each output row is copied, chunk by chunk, into a padded
// patch of compile-time row pitch, so every input and filter word of a window is an immediate
// offset from one of two pointers; two positions S columns apart are computed together, each
// input word loaded and widened once for both (position 2's tap c - S is position 1's tap c),
// in 14 registers (8 accumulators). The input offset is folded into the base (Group::
// folded_base), so the widening is a plain SXTB16 and needs no offset register: a padded tap
// (the zero point z = -input_offset) adds w * z, which the folded base's input_offset * w
// cancels, as the reference's skipped tap adds nothing; the sum is the reference's exact int32.

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

// Output position ox of a row whose window rows all lie inside the input (row_in: the input at
// the window's top row, channel oc), when its window crosses the left or right input edge: runs
// the window clamped inside the row with the filter shifted over its zero margin, so the taps
// that move onto in-bounds columns have zero weights and the in-bounds ones keep theirs. False
// (nothing written) when that does not apply: dilated columns, a row narrower than the window,
// or a shift beyond the margin.
template <bool kDoubled>
bool ShiftedEdge(const Shape& s, const RunGeometry& geo, const Group& g, const int8_t* row_in,
                 int32_t ox, int8_t* out) {
  const DepthwiseParams& p = *s.params;
  if (p.dilation.w != 1 || s.in.w < geo.kw) return false;
  const int32_t x0 = ox * p.stride.w - p.padding.w;
  // Left edge: window columns x0.. read from column 0, tap j' taking filter tap j' - x0.
  // Right edge: read from column in.w - kw, tap j' taking filter tap j' - overflow.
  const int32_t start = x0 < 0 ? 0 : s.in.w - geo.kw;
  const int32_t shift = x0 - start;  // filter tap of the clamped window's first tap
  const int32_t margin = FilterMargin(geo.kw);
  if (shift < -margin || shift > margin) return false;
  WindowRunDispatch<kDoubled>(geo, g, CentreFilter(g, geo) - 2 * shift, row_in + start * s.in.c,
                              out, 1);
  return true;
}

// Every output position of one batch for one channel group: the interior span of each row
// straight from the input, the edge positions of rows whose window rows are all inside the
// input as clamped windows (ShiftedEdge), the rest (top and bottom rows) through padded patches.
template <bool kDoubled>
void ChannelGroup(const Shape& s, const RunGeometry& geo, const InteriorRect& r, const Group& g,
                  int32_t out_h, const int8_t* in_batch, int8_t* out_batch) {
  const DepthwiseParams& p = *s.params;
  const int32_t out_row_bytes = s.out_w * geo.out_step;
  for (int32_t oy = 0; oy < out_h; ++oy) {
    const int32_t y0 = oy * p.stride.h - p.padding.h;
    int8_t* out_row = out_batch + oy * out_row_bytes;
    if (oy < r.y_begin || oy >= r.y_end) {
      PaddedRun<kDoubled>(s, geo, g, in_batch, y0, 0, s.out_w, out_row);
      continue;
    }
    const int8_t* row_in = in_batch + y0 * s.in.w * s.in.c;
    for (int32_t ox = 0; ox < r.x_begin; ++ox) {
      int8_t* o = out_row + ox * geo.out_step;
      if (!ShiftedEdge<kDoubled>(s, geo, g, row_in, ox, o)) {
        PaddedRun<kDoubled>(s, geo, g, in_batch, y0, ox, 1, o);
      }
    }
    if (r.x_end > r.x_begin) {
      const int32_t x0 = r.x_begin * p.stride.w - p.padding.w;
      WindowRunDispatch<kDoubled>(geo, g, CentreFilter(g, geo), row_in + x0 * s.in.c,
                                  out_row + r.x_begin * geo.out_step, r.x_end - r.x_begin);
    }
    for (int32_t ox = r.x_end > r.x_begin ? r.x_end : r.x_begin; ox < s.out_w; ++ox) {
      int8_t* o = out_row + ox * geo.out_step;
      if (!ShiftedEdge<kDoubled>(s, geo, g, row_in, ox, o)) {
        PaddedRun<kDoubled>(s, geo, g, in_batch, y0, ox, 1, o);
      }
    }
  }
}

// Widens channels [oc, oc + 4) of the filter into g's taps (doubled when every channel can take
// RequantizeDoubled; the zero margins are left as they are) and returns whether it did double.
bool PrepareGroup(const DepthwiseParams& params, const PerChannelQuant& quant,
                  const int8_t* filter, const int32_t* bias, int32_t kh, int32_t kw,
                  int32_t out_c, int32_t oc, Group* g) {
  int32_t bias4[4];
  bool doubled = true;
  for (int k = 0; k < 4; ++k) {
    bias4[k] = bias != nullptr ? bias[oc + k] : 0;
    // |acc| < 2^30 (RequantizeDoubled's bound): |bias| < 2^29 and at most 64 taps of
    // |w * (x + input_offset)| <= 128 * 255.
    doubled = doubled && bias4[k] > -(int32_t{1} << 29) && bias4[k] < (int32_t{1} << 29) &&
              PrepareDoubledRequant(quant.multiplier[oc + k], quant.shift[oc + k],
                                  params.output_offset, &g->doubled[k]);
  }
  if (!doubled) {
    for (int k = 0; k < 4; ++k) {
      const int32_t s = quant.shift[oc + k];
      g->quant.multiplier[k] = quant.multiplier[oc + k];
      g->quant.left[k] = s > 0 ? s : 0;
      g->quant.right[k] = s > 0 ? 0 : -s;
    }
  }
  const int8_t* f = filter + oc;
  uint32_t* w = g->w + 2 * FilterMargin(kw);
  const int32_t w_row = 2 * FilterPitch(kw);
  // The widened weights summed per lane (|sum| <= 64 * 256: no 16-bit lane overflows).
  uint32_t sum_even = 0, sum_odd = 0;
  for (int32_t r = 0; r < kh; ++r, w += w_row) {
    for (int32_t t = 0; t < kw; ++t, f += out_c) {
      const uint32_t v = simd::Load4(f);
      // Doubled lanes lie in [-256, 254]: still exact 16-bit SMLAxy operands.
      const uint32_t even = static_cast<uint32_t>(simd::EvenBytes(v));
      const uint32_t odd = static_cast<uint32_t>(simd::OddBytes(v));
      const uint32_t we = doubled ? simd::DoubleLanes(even) : even;
      const uint32_t wo = doubled ? simd::DoubleLanes(odd) : odd;
      w[2 * t] = we;
      w[2 * t + 1] = wo;
      sum_even = __sadd16(sum_even, we);
      sum_odd = __sadd16(sum_odd, wo);
    }
  }
  // Doubled: |bias| < 2^29, no wrap; otherwise the bias as the reference adds it.
  for (int k = 0; k < 4; ++k) g->base[k] = doubled ? 2 * bias4[k] : bias4[k];
  const int32_t sums[4] = {static_cast<int16_t>(sum_even), static_cast<int16_t>(sum_odd),
                           static_cast<int16_t>(sum_even >> 16),
                           static_cast<int16_t>(sum_odd >> 16)};
  for (int k = 0; k < 4; ++k) g->folded_base[k] = g->base[k] + params.input_offset * sums[k];
  return doubled;
}

}  // namespace

int32_t DepthwiseDm1Dsp(const DepthwiseParams& params, const PerChannelQuant& quant,
                        const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                        const int8_t* filter, const int32_t* bias, const Dims& output_dims,
                        int8_t* output) {
  const int32_t kh = filter_dims.h, kw = filter_dims.w;
  const int32_t in_h = input_dims.h, in_w = input_dims.w, in_c = input_dims.c;
  const int32_t out_c = output_dims.c;
  if (params.depth_multiplier != 1 || out_c < 4 || kh <= 0 || kw <= 0 ||
      kh * FilterPitch(kw) > kMaxPaddedTaps) {
    return 0;
  }
  if (params.padding.h < 0 || params.padding.w < 0 || params.stride.w <= 0) return 0;
  // The patch must hold at least one window; the zero point must be an int8 (it fills it).
  const int32_t span_w = (kw - 1) * params.dilation.w + 1;
  if (kh * span_w > kPatchWords) return 0;
  const int32_t zero_point = -params.input_offset;
  if (zero_point < -128 || zero_point > 127) return 0;
  InteriorRect r;
  InteriorSpan(params.padding.h, params.stride.h, kh, params.dilation.h, in_h, output_dims.h,
               &r.y_begin, &r.y_end);
  InteriorSpan(params.padding.w, params.stride.w, kw, params.dilation.w, in_w, output_dims.w,
               &r.x_begin, &r.x_end);

  Shape s;
  s.params = &params;
  s.in = input_dims;
  s.out_w = output_dims.w;
  s.span_w = span_w;
  s.patch_positions = (kPatchWords / kh - span_w) / params.stride.w + 1;
  s.zero_point4 = simd::Splat8(zero_point);

  RunGeometry geo;
  geo.kh = kh;
  geo.kw = kw;
  geo.w_row = 2 * FilterPitch(kw);
  geo.input_offset16 = simd::Splat16(params.input_offset);
  geo.x_tap = params.dilation.w * in_c;
  geo.x_row = params.dilation.h * in_w * in_c;
  geo.x_step = params.stride.w * in_c;
  geo.out_step = out_c;
  geo.output_offset = params.output_offset;
  geo.act_lo = simd::Splat8(params.activation.min);
  geo.act_hi = simd::Splat8(params.activation.max);
  const int32_t channels = out_c & ~3;

  // The pair path reads no filter margins: they are zeroed once the first group needs them.
  const bool pair_shape = PairShape(params, kh, kw);
  bool margins_zeroed = false;
  Group g;
  for (int32_t oc = 0; oc < channels; oc += 4) {
    const bool doubled = PrepareGroup(params, quant, filter, bias, kh, kw, out_c, oc, &g);
    const bool pair = doubled && pair_shape;
    if (!pair && !margins_zeroed) {
      const int32_t margin = 2 * FilterMargin(kw), pitch = 2 * FilterPitch(kw);
      for (int32_t r = 0; r < kh; ++r) {
        for (int32_t i = 0; i < margin; ++i) {
          g.w[r * pitch + i] = 0;
          g.w[r * pitch + pitch - 1 - i] = 0;
        }
      }
      margins_zeroed = true;
    }
    for (int32_t b = 0; b < output_dims.n; ++b) {
      const int8_t* in_batch = input + b * in_h * in_w * in_c + oc;
      int8_t* out_batch = output + b * output_dims.h * output_dims.w * out_c + oc;
      if (pair) {
        PairGroupDispatch(s, geo, g, output_dims.h, in_batch, out_batch);
      } else if (doubled) {
        ChannelGroup<true>(s, geo, r, g, output_dims.h, in_batch, out_batch);
      } else {
        ChannelGroup<false>(s, geo, r, g, output_dims.h, in_batch, out_batch);
      }
    }
  }
  return channels;
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DSP
