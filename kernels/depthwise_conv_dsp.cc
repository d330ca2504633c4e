#include "kernels/depthwise_conv_dsp.h"

#if TFLM_TRAIN_KERNELS_DSP

#include <utility>

#include "kernels/arm_simd.h"
#include "kernels/conv_window.h"
#include "kernels/depthwise_conv_pair_dsp.h"
#include "kernels/depthwise_dsp_common.h"
#include "kernels/quant_math.h"
#include "kernels/requant_dsp.h"

namespace tflm_train {
namespace depthwise_dsp_detail {

namespace {

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

// The four channels' output bytes of one position, packed into one word (before any
// activation clamp: ClampPositions).
template <bool kDoubled>
inline uint32_t Requantize4(const RunGeometry& geo, const Group& g, Acc4 a) {
  if (kDoubled) return RequantizePackDoubled(g.doubled, a);
  const int32_t oo = geo.output_offset;
  return simd::PackBytes(OffsetSat8(Requantize(a.a0, g.quant, 0), oo),
                         OffsetSat8(Requantize(a.a1, g.quant, 1), oo),
                         OffsetSat8(Requantize(a.a2, g.quant, 2), oo),
                         OffsetSat8(Requantize(a.a3, g.quant, 3), oo));
}

// acc += one tap: the four channels' input word at p + kMode * x_tap (kMode 0, 1 or 2: an
// addressing mode of the load, so no pointer arithmetic per tap), each byte plus the input
// offset (SXTAB16, as cheap as the plain sign extension), times the widened filter
// words w[kWord] (channels 0, 2) and w[kWord + 1] (channels 1, 3), kWord an immediate offset
// (a register per tap would be hoisted out of the loop and spilled); kAdvance: then p +=
// 2 * x_tap, inside the asm. Written out so the unrolled window keeps its accumulators and
// ONE moving input pointer in registers: nine instructions per tap (+1 per advance), where
// GCC's own scheduling of the same code, or per-tap pointers it could precompute, spilled and
// reloaded pointers. No memory clobber (it would force the accumulators through the stack):
// the input and filter words it reads are not written while a WindowRun (a separate,
// non-inlined function) runs. The filter words by two LDRs right after the input's: single
// loads pipeline on the M4 (3 loads in 4 cycles), an LDRD never does (a load then an LDRD: 5).
template <int kMode, int kWord, bool kAdvance>
__attribute__((always_inline)) inline void MacTap(const int8_t*& p, int32_t x_tap,
                                                  const uint32_t* w, uint32_t off16,
                                                  Acc4& acc) {
  uint32_t x, t, w0, w1;
  static_assert(kMode >= 0 && kMode <= 2, "tap addressing mode");
#define TFLM_TRAIN_DW_TAP_BODY                          \
  "ldr %[w0], [%[w], %[off]]\n\t"                       \
  "ldr %[w1], [%[w], #(%c[off] + 4)]\n\t"              \
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
// The steps are read once and the activation clamp is a pass after the loop: a byte store may
// alias geo (GCC reloaded the steps through the pointer every position), and the clamp's test
// cost every position.
template <int K, bool kDoubled>
__attribute__((noinline)) void WindowRun(const RunGeometry& geo, const Group& g,
                                         const uint32_t* w, const int8_t* x, int8_t* out,
                                         int32_t count) {
  const int32_t x_step = geo.x_step, out_step = geo.out_step;
  int8_t* const out_end = out + count * out_step;
  for (int8_t* o = out; o != out_end; o += out_step, x += x_step) {
    simd::Store4(o, Requantize4<kDoubled>(geo, g, WindowSum<K>(geo, g, w, x)));
  }
  if (ClampsOutput(geo)) ClampPositions(out, out_step, count, geo.act_lo, geo.act_hi);
}

// Groups that requantise doubled (every zoo model's, all of MobileNetV2's and MCUNet-like's
// calls) get windows unrolled for K = 3, 5, 7; the others (a multiplier or shift outside
// DoubledRequantEligible, or a bias of 2^29 and more) take the runtime-size window: the
// unrolled copies of that rare path cost ~3.3 KB of flash, which the zoo images lack.
template <bool kDoubled>
void WindowRunDispatch(const RunGeometry& geo, const Group& g, const uint32_t* w,
                       const int8_t* x, int8_t* out, int32_t count) {
  const int32_t k = kDoubled && geo.kh == geo.kw ? geo.kw : 0;
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

// Output positions [ox, ox + count) of one output row whose windows (top-left input y0) may
// cross the input's edge: the rows they read are copied into a padded patch and run through
// WindowRun like interior positions. in_batch at channel oc.
template <bool kDoubled>
void PaddedRun(const Shape& s, const RunGeometry& geo, const Group& g, const int8_t* in_batch,
               int32_t y0, int32_t ox, int32_t count, int8_t* out) {
  const DepthwiseParams& p = *s.params;
  uint32_t* const patch = s.patch;
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

// The requantisation constants of channels [oc, oc + 4) into g (doubled when every channel can
// take RequantizeDoubled) and g's bias; returns whether they are doubled.
bool PrepareGroupQuant(const DepthwiseParams& params, const PerChannelQuant& quant,
                       const int32_t* bias, int32_t oc, Group* g) {
  const int32_t* const multiplier = quant.multiplier + oc;
  const int32_t* const shift = quant.shift + oc;
  // One pass: each channel's conditions without early exits (GCC's branch per condition cost
  // ~75 cycles a channel), then, where they hold, its doubled constants and bias (a second
  // pass over the four channels cost ~20 cycles a channel: the streamed layers prepare every
  // group once per output row). A group with a channel outside them is prepared again below.
  bool doubled = true;
  for (int k = 0; k < 4; ++k) {
    const int32_t b = bias != nullptr ? bias[oc + k] : 0;
    // |acc| < 2^30 (RequantizeDoubled's bound): |bias| < 2^29 and at most 64 taps of
    // |w * (x + input_offset)| <= 128 * 255.
    const bool ok = (b > -(int32_t{1} << 29)) & (b < (int32_t{1} << 29)) &
                    DoubledRequantEligible(multiplier[k], shift[k], params.output_offset);
    if (ok) {
      g->doubled[k] = DoubledRequantOf(multiplier[k], shift[k], params.output_offset);
      g->base[k] = 2 * b;  // |bias| < 2^29: no wrap
    }
    doubled = doubled & ok;
  }
  if (!doubled) {
    // The bias as the reference adds it.
    for (int k = 0; k < 4; ++k) {
      g->quant.multiplier[k] = multiplier[k];
      g->quant.left[k] = shift[k] > 0 ? shift[k] : 0;
      g->quant.right[k] = shift[k] > 0 ? 0 : -shift[k];
      g->base[k] = bias != nullptr ? bias[oc + k] : 0;
    }
  }
  return doubled;
}

// g's folded base from the widened weights summed per lane (sum_even: channels 0, 2; sum_odd:
// 1, 3).
void FoldBase(const DepthwiseParams& params, uint32_t sum_even, uint32_t sum_odd, Group* g) {
  const int32_t sums[4] = {static_cast<int16_t>(sum_even), static_cast<int16_t>(sum_odd),
                           static_cast<int16_t>(sum_even >> 16),
                           static_cast<int16_t>(sum_odd >> 16)};
  for (int k = 0; k < 4; ++k) g->folded_base[k] = g->base[k] + params.input_offset * sums[k];
}

// Widens the four channels at f (taps f_stride apart) into g's taps (doubled when `doubled`;
// the zero margins are left as they are).
void PrepareGroupFilter(const DepthwiseParams& params, const int8_t* f, int32_t f_stride,
                        int32_t kh, int32_t kw, bool doubled, Group* g) {
  uint32_t* w = g->w + 2 * FilterMargin(kw);
  const int32_t w_row = 2 * FilterPitch(kw);
  // The widened weights summed per lane (|sum| <= 64 * 256: no 16-bit lane overflows).
  uint32_t sum_even = 0, sum_odd = 0;
  for (int32_t r = 0; r < kh; ++r, w += w_row) {
    for (int32_t t = 0; t < kw; ++t, f += f_stride) {
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
  FoldBase(params, sum_even, sum_odd, g);
}

// The low halves of lo and hi as one word's low and high halves (PKHBT), and their high
// halves likewise (PKHTB): GCC spells both with two or three instructions.
inline uint32_t PackLowHalves(uint32_t lo, uint32_t hi) {
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
  return r;
}
inline uint32_t PackHighHalves(uint32_t lo, uint32_t hi) {
  uint32_t r;
  __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(hi), "r"(lo));
  return r;
}

// One filter tap of four channels (the word at f) widened into its even / odd channel lanes,
// added to the raw per-lane sums, and returned doubled.
inline void WidenTap(const int8_t* f, uint32_t& sum_even, uint32_t& sum_odd, uint32_t& even,
                     uint32_t& odd) {
  const uint32_t v = simd::Load4(f);
  even = static_cast<uint32_t>(simd::EvenBytes(v));
  odd = static_cast<uint32_t>(simd::OddBytes(v));
  sum_even = __sadd16(sum_even, even);
  sum_odd = __sadd16(sum_odd, odd);
  even = simd::DoubleLanes(even);
  odd = simd::DoubleLanes(odd);
}

// The SMLAD words of taps (t0, t1) of channels 0, 1, 2, 3 (t0 in the low lanes) at pair.
inline void StorePairTaps(uint32_t even0, uint32_t odd0, uint32_t even1, uint32_t odd1,
                          uint32_t* pair) {
  pair[0] = PackLowHalves(even0, even1);
  pair[1] = PackLowHalves(odd0, odd1);
  pair[2] = PackHighHalves(even0, even1);
  pair[3] = PackHighHalves(odd0, odd1);
}

// The pair path's filter layout (depthwise_conv_pair_dsp.h) of the four channels at f (taps
// f_stride apart), doubled, K x K taps (K odd: PairShape): per row the single taps 0 and K - 1
// widened, then every two adjacent taps of each channel as one SMLAD word (lanes [-256, 254]).
// Taps 1..K - 1 go two at a time (no register moves between taps: GCC's loop of one tap
// spent ~4 of its ~25 cycles on them and on its counter).
void PreparePairFilter(const DepthwiseParams& params, const int8_t* f, int32_t f_stride,
                       int32_t k, Group* g) {
  // The raw weights summed per lane (|sum| <= 64 * 128), doubled at the end.
  uint32_t sum_even = 0, sum_odd = 0;
  uint32_t* w = g->w;
  for (int32_t r = 0; r < k; ++r, w += PairRowWords(k)) {
    uint32_t prev_even, prev_odd;
    WidenTap(f, sum_even, sum_odd, prev_even, prev_odd);
    f += f_stride;
    w[PairFirstWord()] = prev_even;
    w[PairFirstWord() + 1] = prev_odd;
    uint32_t* pair = w + PairTapsWord(0);
    for (int32_t t = 1; t < k; t += 2, f += 2 * f_stride, pair += 8) {
      uint32_t even1, odd1, even2, odd2;
      WidenTap(f, sum_even, sum_odd, even1, odd1);
      WidenTap(f + f_stride, sum_even, sum_odd, even2, odd2);
      StorePairTaps(prev_even, prev_odd, even1, odd1, pair);      // taps t - 1, t
      StorePairTaps(even1, odd1, even2, odd2, pair + 4);          // taps t, t + 1
      prev_even = even2;
      prev_odd = odd2;
    }
    w[PairLastWord()] = prev_even;
    w[PairLastWord() + 1] = prev_odd;
  }
  FoldBase(params, simd::DoubleLanes(sum_even), simd::DoubleLanes(sum_odd), g);
}

}  // namespace
}  // namespace depthwise_dsp_detail

int32_t DepthwiseDm1Dsp(const DepthwiseParams& params, const PerChannelQuant& quant,
                        const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                        const DepthwiseFilter& filter, const int32_t* bias,
                        const Dims& output_dims, int8_t* output, void* scratch) {
  using namespace depthwise_dsp_detail;
  static_assert(4 * kPatchWords <= kDepthwiseDspPatchBytes &&
                4 * kPairPatchWords <= kDepthwiseDspPatchBytes, "both paths' patches fit");
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
  // The scratch: the channel group's prepared filter, then the patch.
  Group& g = *static_cast<Group*>(scratch);
  s.patch = reinterpret_cast<uint32_t*>(static_cast<int8_t*>(scratch) + kDepthwiseDspGroupBytes);

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

  // The pair path's filter layout has no zero margins and overwrites them: they are zeroed
  // when a group of the other layout needs them.
  const bool pair_shape = PairShape(params, kh, kw, output_dims.w);
  bool margins_zeroed = false;
  for (int32_t oc = 0; oc < channels; oc += 4) {
    const bool doubled = PrepareGroupQuant(params, quant, bias, oc, &g);
    const bool pair = doubled && pair_shape;
    // The group's four channels lie in the filter's SRAM head or all in flash (types.h).
    const int8_t* const f = filter.taps_of(oc) + oc;
    const int32_t f_stride = filter.stride_of(oc);
    if (pair) {
      PreparePairFilter(params, f, f_stride, kw, &g);
      margins_zeroed = false;
    } else {
      PrepareGroupFilter(params, f, f_stride, kh, kw, doubled, &g);
    }
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
