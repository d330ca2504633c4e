#include "kernels/conv_pointwise_dsp.h"

#if TFLM_TRAIN_KERNELS_DSP

#include <arm_acle.h>

#include "kernels/arm_simd.h"
#include "kernels/conv_window.h"
#include "kernels/quant_math.h"

namespace tflm_train {

namespace {

// Output positions computed together: each filter word is loaded and widened once for them.
constexpr int32_t kPixels = 4;
// 4-channel input groups widened at once (8 words each: 1 KB); deeper inputs go in slices
// whose partial sums wait in the accumulator buffer.
constexpr int32_t kSliceGroups = 32;
// Output channels whose constants are prepared at once (32 bytes each: 1 KB); more channels
// go in chunks, each widening the inputs again.
constexpr int32_t kChunk = 32;

// One output channel's constants. bias4: the bias once per position (the accumulators' start,
// loaded with one LDM). Fast chunks hold FoldedRequant's multiplier / round / right shift, the
// others the raw multiplier and shift.
struct Channel {
  int32_t bias4[kPixels];
  int32_t multiplier;
  int32_t round;
  int32_t shift;
  const int8_t* row;
};

// One 4-channel group of the four positions: x holds the group's even lanes of positions 0..3,
// then its odd lanes (8 words, widened with the input offset); the filter word is widened once
// for all four. 13 instructions for 16 multiply-accumulates; LDM needs fixed registers, hence
// the assembly (GCC neither emits LDM here nor keeps this many values out of the stack).
#define TT_POINTWISE_GROUP                      \
  "ldr %[wv], [%[w]], #4\n\t"                 \
  "ldm %[x]!, {r8, r9, r10, r11}\n\t"         \
  "sxtb16 %[we], %[wv]\n\t"                   \
  "sxtb16 %[wv], %[wv], ror #8\n\t"           \
  "smlad %[a0], r8, %[we], %[a0]\n\t"         \
  "smlad %[a1], r9, %[we], %[a1]\n\t"         \
  "smlad %[a2], r10, %[we], %[a2]\n\t"        \
  "smlad %[a3], r11, %[we], %[a3]\n\t"        \
  "ldm %[x]!, {r8, r9, r10, r11}\n\t"         \
  "smlad %[a0], r8, %[wv], %[a0]\n\t"         \
  "smlad %[a1], r9, %[wv], %[a1]\n\t"         \
  "smlad %[a2], r10, %[wv], %[a2]\n\t"        \
  "smlad %[a3], r11, %[wv], %[a3]\n\t"

#define TT_POINTWISE_OPERANDS                                                          \
  : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w), \
    [wv] "=&r"(wv), [we] "=&r"(we)

// acc[0..4) = start[0..4) + the products of `groups` (>= 1) input groups of the four positions
// (x: Widen's layout) with the filter row w.
inline void DotGroups(const uint32_t* x, const int8_t* w, int32_t groups, const int32_t* start,
                      int32_t* acc) {
  int32_t a0 = start[0], a1 = start[1], a2 = start[2], a3 = start[3];
  uint32_t wv, we;
  const int8_t* const w_end = w + 4 * groups;
  if (groups & 1) {
    __asm__ volatile(TT_POINTWISE_GROUP TT_POINTWISE_OPERANDS
                     :
                     : "r8", "r9", "r10", "r11", "memory");
  }
  if (w != w_end) {
    // Two groups per iteration: the loop's compare and branch are a tenth of its instructions.
    __asm__ volatile("1:\n\t" TT_POINTWISE_GROUP TT_POINTWISE_GROUP
                     "cmp %[w], %[end]\n\t"
                     "bne 1b\n\t" TT_POINTWISE_OPERANDS
                     : [end] "r"(w_end)
                     : "r8", "r9", "r10", "r11", "cc", "memory");
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

#undef TT_POINTWISE_GROUP
#undef TT_POINTWISE_OPERANDS

// Input groups [0, groups) of the four positions (byte offset `offset` into each) widened into
// 16-bit lanes plus the input offset, in DotGroups' layout.
void Widen(const int8_t* const* in, int32_t offset, int32_t groups, uint32_t xo, uint32_t* x) {
  const int8_t* p0 = in[0] + offset;
  const int8_t* p1 = in[1] + offset;
  const int8_t* p2 = in[2] + offset;
  const int8_t* p3 = in[3] + offset;
  for (int32_t g = 0; g < groups; ++g) {
    const uint32_t v0 = simd::Load4(p0), v1 = simd::Load4(p1);
    const uint32_t v2 = simd::Load4(p2), v3 = simd::Load4(p3);
    x[0] = static_cast<uint32_t>(simd::EvenBytesPlus(xo, v0));
    x[1] = static_cast<uint32_t>(simd::EvenBytesPlus(xo, v1));
    x[2] = static_cast<uint32_t>(simd::EvenBytesPlus(xo, v2));
    x[3] = static_cast<uint32_t>(simd::EvenBytesPlus(xo, v3));
    x[4] = static_cast<uint32_t>(simd::OddBytesPlus(xo, v0));
    x[5] = static_cast<uint32_t>(simd::OddBytesPlus(xo, v1));
    x[6] = static_cast<uint32_t>(simd::OddBytesPlus(xo, v2));
    x[7] = static_cast<uint32_t>(simd::OddBytesPlus(xo, v3));
    x += 8;
    p0 += 4;
    p1 += 4;
    p2 += 4;
    p3 += 4;
  }
}

// acc (4 words per channel) = start (4 words every start_stride words) + one slice's products.
__attribute__((noinline)) void MacPass(const uint32_t* x, int32_t groups, const Channel* ch,
                                       int32_t count, int32_t row_offset, const int32_t* start,
                                       int32_t start_stride, int32_t* acc) {
  for (int32_t k = 0; k < count; ++k) {
    DotGroups(x, ch[k].row + row_offset, groups, start, acc);
    start += start_stride;
    acc += kPixels;
  }
}

// The last in_c % 4 input channels (from byte `offset`), one multiply at a time.
void TailPass(const int8_t* const* in, int32_t offset, int32_t tail, int32_t input_offset,
              const Channel* ch, int32_t count, int32_t* acc) {
  for (int32_t k = 0; k < count; ++k) {
    const int8_t* w = ch[k].row + offset;
    for (int32_t t = 0; t < tail; ++t) {
      for (int32_t p = 0; p < kPixels; ++p) {
        acc[p] += static_cast<int32_t>(w[t]) * (static_cast<int32_t>(in[p][offset + t]) +
                                                input_offset);
      }
    }
    acc += kPixels;
  }
}

// Where the four positions' output bytes of channel 0 go: out + 0 / d1 / d2 / d3.
struct OutQuad {
  int8_t* out;
  int32_t d1, d2, d3;
};

// The fast output stage: FoldedRequantize, int8 saturation, the activation clamp when it is
// narrower than int8 (kClamp).
template <bool kClamp>
__attribute__((noinline)) void RequantFast(const Channel* ch, const int32_t* acc, int32_t count,
                                           OutQuad o, int32_t lo, int32_t hi) {
  int8_t* out = o.out;
  for (int32_t k = 0; k < count; ++k) {
    const FoldedRequant q{ch[k].multiplier, ch[k].round, ch[k].shift};
    int32_t v[kPixels];
    for (int32_t p = 0; p < kPixels; ++p) {
      // Doubled without overflow: |acc| < 2^30 (BuildChannels).
      const int32_t acc2 = static_cast<int32_t>(static_cast<uint32_t>(acc[p]) << 1);
      v[p] = __ssat(FoldedRequantize(acc2, q), 8);
      if (kClamp) v[p] = ClampToRange(v[p], lo, hi);
    }
    out[0] = static_cast<int8_t>(v[0]);
    out[o.d1] = static_cast<int8_t>(v[1]);
    out[o.d2] = static_cast<int8_t>(v[2]);
    out[o.d3] = static_cast<int8_t>(v[3]);
    ++out;
    acc += kPixels;
  }
}

// The general output stage (channels outside FoldedRequant's domain).
void RequantGeneral(const Channel* ch, const int32_t* acc, int32_t count, OutQuad o,
                    int32_t output_offset, ActivationRange act) {
  int8_t* out = o.out;
  for (int32_t k = 0; k < count; ++k) {
    const int32_t m = ch[k].multiplier, s = ch[k].shift;
    out[0] = RequantizeToInt8(acc[0], m, s, output_offset, act);
    out[o.d1] = RequantizeToInt8(acc[1], m, s, output_offset, act);
    out[o.d2] = RequantizeToInt8(acc[2], m, s, output_offset, act);
    out[o.d3] = RequantizeToInt8(acc[3], m, s, output_offset, act);
    ++out;
    acc += kPixels;
  }
}

// Channels [c0, c0 + count) into ch. Returns whether all of them take the fast output stage:
// FoldedRequant's domain, and a bias that keeps every accumulator within +-2^30 (each of the
// in_c products is at most 255 * 128 in magnitude).
bool BuildChannels(const PerChannelQuant& quant, const int32_t* bias, const FilterRows& filter,
                   int32_t c0, int32_t count, int32_t in_c, int32_t output_offset,
                   Channel* ch) {
  const int64_t reach = static_cast<int64_t>(in_c) * 255 * 128;
  const int64_t bias_lo = -(int64_t{1} << 30) + reach, bias_hi = (int64_t{1} << 30) - 1 - reach;
  bool fast = true;
  for (int32_t k = 0; k < count; ++k) {
    const int32_t oc = c0 + k;
    const int32_t b = bias != nullptr ? bias[oc] : 0;
    for (int32_t p = 0; p < kPixels; ++p) ch[k].bias4[p] = b;
    ch[k].row = filter.row(oc);
    const int32_t m = quant.multiplier[oc], s = quant.shift[oc];
    ch[k].multiplier = m;
    ch[k].shift = s;
    ch[k].round = 0;
    if (!FoldedRequantEligible(m, s, output_offset) || b < bias_lo || b > bias_hi) fast = false;
  }
  if (fast) {
    for (int32_t k = 0; k < count; ++k) {
      const FoldedRequant q = MakeFoldedRequant(ch[k].multiplier, ch[k].shift, output_offset);
      ch[k].round = q.round;
      ch[k].shift = q.shift;
    }
  }
  return fast;
}

// Walks the output positions in NHWC order and yields their input pixels.
struct PixelCursor {
  const int8_t* batch;  // the current batch's input
  int32_t oy, ox;
  int32_t out_h, out_w;
  int32_t x_step;      // input bytes between horizontal positions: stride.w * in_c
  int32_t y_step;      // between rows: stride.h * in_w * in_c
  int32_t batch_step;  // between batches: in_h * in_w * in_c
  const int8_t* Pixel() const { return batch + oy * y_step + ox * x_step; }
  void Next() {
    if (++ox < out_w) return;
    ox = 0;
    if (++oy < out_h) return;
    oy = 0;
    batch += batch_step;
  }
};

}  // namespace

bool ConvPointwiseDsp(const ConvParams& params, const PerChannelQuant& quant,
                      const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                      const FilterRows& filter, const int32_t* bias, const Dims& output_dims,
                      int8_t* output) {
  const int32_t in_c = input_dims.c, out_c = output_dims.c;
  const int32_t out_h = output_dims.h, out_w = output_dims.w;
  if (filter_dims.h != 1 || filter_dims.w != 1 || filter_dims.c != in_c || in_c < 4) {
    return false;
  }
  if (params.padding.h != 0 || params.padding.w != 0 || out_c <= 0 || out_h <= 0 ||
      out_w <= 0 || output_dims.n != input_dims.n || output_dims.n <= 0) {
    return false;
  }
  // Every position must read an input pixel (a padded one would need the reference's skip).
  if ((out_h - 1) * params.stride.h >= input_dims.h ||
      (out_w - 1) * params.stride.w >= input_dims.w) {
    return false;
  }
  const int32_t zero_point = -params.input_offset;
  if (zero_point < -128 || zero_point > 127) return false;

  const int32_t groups = in_c / 4, tail = in_c % 4;
  const int32_t positions = output_dims.n * out_h * out_w;
  const uint32_t xo = simd::Splat16(params.input_offset);
  const int32_t output_offset = params.output_offset;
  const ActivationRange act = params.activation;
  const bool clamp = act.min > -128 || act.max < 127;

  alignas(8) uint32_t x[kSliceGroups * 8];
  int32_t acc[kChunk * kPixels];
  Channel ch[kChunk];
  for (int32_t c0 = 0; c0 < out_c; c0 += kChunk) {
    const int32_t count = out_c - c0 < kChunk ? out_c - c0 : kChunk;
    const bool fast = BuildChannels(quant, bias, filter, c0, count, in_c, output_offset, ch);
    PixelCursor cur{input, 0, 0, out_h, out_w, params.stride.w * in_c,
                    params.stride.h * input_dims.w * in_c, input_dims.h * input_dims.w * in_c};
    for (int32_t i = 0; i < positions; i += kPixels) {
      // The last block may be short: its missing positions repeat the last one, whose bytes
      // are then written twice with the same value.
      const int8_t* in[kPixels];
      int32_t out_delta[kPixels];
      for (int32_t p = 0; p < kPixels; ++p) {
        if (i + p < positions) {
          in[p] = cur.Pixel();
          out_delta[p] = p * out_c;
          cur.Next();
        } else {
          in[p] = in[p - 1];
          out_delta[p] = out_delta[p - 1];
        }
      }
      for (int32_t g0 = 0; g0 < groups; g0 += kSliceGroups) {
        const int32_t n = groups - g0 < kSliceGroups ? groups - g0 : kSliceGroups;
        Widen(in, 4 * g0, n, xo, x);
        if (g0 == 0) {
          MacPass(x, n, ch, count, 0, ch[0].bias4, sizeof(Channel) / sizeof(int32_t), acc);
        } else {
          MacPass(x, n, ch, count, 4 * g0, acc, kPixels, acc);
        }
      }
      if (tail != 0) TailPass(in, 4 * groups, tail, params.input_offset, ch, count, acc);
      const OutQuad o{output + i * out_c + c0, out_delta[1], out_delta[2], out_delta[3]};
      if (!fast) {
        RequantGeneral(ch, acc, count, o, output_offset, act);
      } else if (clamp) {
        RequantFast<true>(ch, acc, count, o, act.min, act.max);
      } else {
        RequantFast<false>(ch, acc, count, o, act.min, act.max);
      }
    }
  }
  return true;
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DSP
