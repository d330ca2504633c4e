#include "kernels/conv_dsp.h"

#include <type_traits>

#if TFLM_TRAIN_KERNELS_DSP

#include "kernels/arm_simd.h"
#include "kernels/conv_window.h"
#include "kernels/quant_math.h"

namespace tflm_train {

namespace {

constexpr int32_t kMaxWindowBytes = kConvSmallDepthDspMaxWindowBytes;
constexpr int32_t kMaxDoubledChunk = kConvSmallDepthDspMaxChunk;

// acc + sum_j (x[j].lo * w[j].lo + x[j].hi * w[j].hi) over `words` pairs of 16-bit lanes.
// kWords: the count when known at compile time (fully unrolled), 0 = runtime.
// The same for two filters against one window: each window word loaded once for both.
template <int32_t kWords>
inline void DualMacRun2(const uint32_t* x, const uint32_t* w0, const uint32_t* w1,
                        int32_t words, int32_t* acc0, int32_t* acc1) {
  const int32_t n = kWords > 0 ? kWords : words;
  int32_t a0 = *acc0, a1 = *acc1;
#pragma GCC unroll 16
  for (int32_t j = 0; j < n; ++j) {
    const int32_t xj = static_cast<int32_t>(x[j]);
    a0 = simd::DualMac(xj, static_cast<int32_t>(w0[j]), a0);
    a1 = simd::DualMac(xj, static_cast<int32_t>(w1[j]), a1);
  }
  *acc0 = a0;
  *acc1 = a1;
}

template <int32_t kWords>
inline int32_t DualMacRun(const uint32_t* x, const uint32_t* w, int32_t words, int32_t acc) {
  const int32_t n = kWords > 0 ? kWords : words;
#pragma GCC unroll 16
  for (int32_t j = 0; j < n; ++j) {
    acc = simd::DualMac(static_cast<int32_t>(x[j]), static_cast<int32_t>(w[j]), acc);
  }
  return acc;
}

// Four output channels' sums against one gathered window.
struct Acc4 {
  int32_t a0, a1, a2, a3;
};

// acc += window words x[kJ], x[kJ + 1] against the same words of four filter rows of kWords
// words each (w the first row). One asm block per word pair with immediate offsets: the window
// pair and two rows' pairs by six single LDRs, four SMLADs, the other two rows' pairs by four
// LDRs, four SMLADs (18 instructions for 16 products). On the Cortex-M4 an LDR right after a
// load takes one cycle and an LDRD always three (TRM: LDRD cannot be pipelined), so the step
// costs about 20 cycles where three LDRD pairs took 23; GCC's own code reloads and recomputes
// addresses. No memory clobber: nothing it reads is written while the channel loop runs.
template <int32_t kWords, int32_t kJ = 0>
__attribute__((always_inline)) inline void MacWordPairs4(const uint32_t* x, const uint32_t* w,
                                                         Acc4& acc) {
  uint32_t x0, x1, w0, w1, w2, w3;
  __asm__(
      "ldr %[x0], [%[x], %[xo]]\n\t"
      "ldr %[x1], [%[x], %[xo] + 4]\n\t"
      "ldr %[w0], [%[w], %[o0]]\n\t"
      "ldr %[w1], [%[w], %[o0] + 4]\n\t"
      "ldr %[w2], [%[w], %[o1]]\n\t"
      "ldr %[w3], [%[w], %[o1] + 4]\n\t"
      "smlad %[a0], %[x0], %[w0], %[a0]\n\t"
      "smlad %[a0], %[x1], %[w1], %[a0]\n\t"
      "smlad %[a1], %[x0], %[w2], %[a1]\n\t"
      "smlad %[a1], %[x1], %[w3], %[a1]\n\t"
      "ldr %[w0], [%[w], %[o2]]\n\t"
      "ldr %[w1], [%[w], %[o2] + 4]\n\t"
      "ldr %[w2], [%[w], %[o3]]\n\t"
      "ldr %[w3], [%[w], %[o3] + 4]\n\t"
      "smlad %[a2], %[x0], %[w0], %[a2]\n\t"
      "smlad %[a2], %[x1], %[w1], %[a2]\n\t"
      "smlad %[a3], %[x0], %[w2], %[a3]\n\t"
      "smlad %[a3], %[x1], %[w3], %[a3]"
      : [x0] "=&r"(x0), [x1] "=&r"(x1), [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2),
        [w3] "=&r"(w3), [a0] "+r"(acc.a0), [a1] "+r"(acc.a1), [a2] "+r"(acc.a2),
        [a3] "+r"(acc.a3)
      : [x] "r"(x), [w] "r"(w), [xo] "i"(4 * kJ), [o0] "i"(4 * kJ),
        [o1] "i"(4 * (kWords + kJ)), [o2] "i"(4 * (2 * kWords + kJ)),
        [o3] "i"(4 * (3 * kWords + kJ)));
  if constexpr (kJ + 2 < kWords) MacWordPairs4<kWords, kJ + 2>(x, w, acc);
}

// The same for a window size known only at run time (words even).
inline void MacWordPairs4(const uint32_t* x, const uint32_t* w, int32_t words, Acc4& acc) {
  const uint32_t* w1 = w + words;
  const uint32_t* w2 = w1 + words;
  const uint32_t* w3 = w2 + words;
  for (int32_t j = 0; j < words; ++j) {
    const int32_t xj = static_cast<int32_t>(x[j]);
    acc.a0 = simd::DualMac(xj, static_cast<int32_t>(w[j]), acc.a0);
    acc.a1 = simd::DualMac(xj, static_cast<int32_t>(w1[j]), acc.a1);
    acc.a2 = simd::DualMac(xj, static_cast<int32_t>(w2[j]), acc.a2);
    acc.a3 = simd::DualMac(xj, static_cast<int32_t>(w3[j]), acc.a3);
  }
}

// `channels` (a multiple of 4) output channels of one position from the gathered window x,
// their filter rows widened AND doubled (w), doubled biases and RequantizeDoubled constants;
// four output bytes per store. kWords: window words, 0 = run time. kClamp: false when the
// fused activation's range is all of int8 (ReLU6 quantised over [0, 6]): SSAT #8 already
// clamped, and the four-instruction byte clamp per 4 outputs is skipped.
template <int32_t kWords, bool kClamp>
__attribute__((noinline)) void DoubledChannels(const uint32_t* x, const uint32_t* w,
                                               int32_t words, const int32_t* bias2,
                                               const DoubledRequant* q, int32_t channels,
                                               uint32_t act_lo, uint32_t act_hi,
                                               int8_t* out_px) {
  for (int32_t oc = 0; oc < channels; oc += 4) {
    Acc4 acc{bias2[oc], bias2[oc + 1], bias2[oc + 2], bias2[oc + 3]};
    if constexpr (kWords > 0) {
      MacWordPairs4<kWords>(x, w, acc);
    } else {
      MacWordPairs4(x, w, words, acc);
    }
    w += 4 * words;
    const uint32_t packed = simd::PackBytes(
        RequantizeDoubled(acc.a0, q[oc]), RequantizeDoubled(acc.a1, q[oc + 1]),
        RequantizeDoubled(acc.a2, q[oc + 2]), RequantizeDoubled(acc.a3, q[oc + 3]));
    simd::Store4(out_px + oc, kClamp ? simd::ClampBytes(packed, act_lo, act_hi) : packed);
  }
}

struct Gather {
  int32_t kh, kw, in_c;
  int32_t tap_step;  // input bytes between horizontal taps: dilation.w * in_c
  int32_t row_step;  // input bytes between window rows: dilation.h * in_w * in_c
  int32_t groups4;   // 4-byte groups of the (zero-padded) window
};

// The window at `x` (its top-left tap, channel 0) as widened words: the bytes in (ky, kx, c)
// order, i.e. the filter row's OHWI order, padded with zero bytes to whole 4-byte groups; each
// group becomes (bytes 0, 2) and (bytes 1, 3) plus the input offset, the filter words' layout.
// The padding bytes meet zero filter bytes, so they add nothing.
inline void GatherWindow(const Gather& g, const int8_t* x, uint32_t xo, uint32_t* out) {
  alignas(4) int8_t bytes[kMaxWindowBytes];
  int32_t i = 0;
  if (g.tap_step == g.in_c) {
    // Without horizontal dilation a window row is kw * in_c adjacent bytes: copied by words.
    const int32_t n = g.kw * g.in_c;
    for (int32_t ky = 0; ky < g.kh; ++ky) {
      const int8_t* p = x + ky * g.row_step;
      int32_t j = 0;
      for (; j + 4 <= n; j += 4) simd::Store4(bytes + i + j, simd::Load4(p + j));
      for (; j < n; ++j) bytes[i + j] = p[j];
      i += n;
    }
  } else {
    for (int32_t ky = 0; ky < g.kh; ++ky) {
      const int8_t* p = x + ky * g.row_step;
      for (int32_t kx = 0; kx < g.kw; ++kx) {
        for (int32_t c = 0; c < g.in_c; ++c) bytes[i++] = p[c];
        p += g.tap_step;
      }
    }
  }
  for (; i < 4 * g.groups4; ++i) bytes[i] = 0;
  for (int32_t k = 0; k < g.groups4; ++k) {
    const uint32_t v = simd::Load4(bytes + 4 * k);
    out[2 * k] = static_cast<uint32_t>(simd::EvenBytesPlus(xo, v));
    out[2 * k + 1] = static_cast<uint32_t>(simd::OddBytesPlus(xo, v));
  }
}

// GatherWindow for 3 rows of 9 adjacent bytes (3x3 over RGB without dilation, the stem),
// straight-line: two word and one byte copy per row, seven widened groups.
inline void GatherWindow3x9(const int8_t* x, int32_t row_step, uint32_t xo, uint32_t* out) {
  alignas(4) int8_t bytes[28];
#pragma GCC unroll 3
  for (int32_t ky = 0; ky < 3; ++ky) {
    const int8_t* p = x + ky * row_step;
    simd::Store4(bytes + 9 * ky, simd::Load4(p));
    simd::Store4(bytes + 9 * ky + 4, simd::Load4(p + 4));
    bytes[9 * ky + 8] = p[8];
  }
  bytes[27] = 0;
#pragma GCC unroll 7
  for (int32_t k = 0; k < 7; ++k) {
    const uint32_t v = simd::Load4(bytes + 4 * k);
    out[2 * k] = static_cast<uint32_t>(simd::EvenBytesPlus(xo, v));
    out[2 * k + 1] = static_cast<uint32_t>(simd::OddBytesPlus(xo, v));
  }
}

// GatherWindow for a window cut by the input's edge: a tap outside the input is gathered as
// the input zero point (-input_offset), which the offset makes 0, so it adds nothing, as the
// reference's skipped tap. y0 / x0: the window's top-left input coordinates.
inline void GatherWindowChecked(const Gather& g, const int8_t* in_batch, int32_t y0, int32_t x0,
                                int32_t in_h, int32_t in_w, int32_t dil_h, int32_t dil_w,
                                int8_t zero_point, uint32_t xo, uint32_t* out) {
  alignas(4) int8_t bytes[kMaxWindowBytes];
  int32_t i = 0;
  for (int32_t ky = 0; ky < g.kh; ++ky) {
    const int32_t y = y0 + ky * dil_h;
    for (int32_t kx = 0; kx < g.kw; ++kx) {
      const int32_t x = x0 + kx * dil_w;
      if (y >= 0 && y < in_h && x >= 0 && x < in_w) {
        const int8_t* p = in_batch + (y * in_w + x) * g.in_c;
        for (int32_t c = 0; c < g.in_c; ++c) bytes[i++] = p[c];
      } else {
        for (int32_t c = 0; c < g.in_c; ++c) bytes[i++] = zero_point;
      }
    }
  }
  for (; i < 4 * g.groups4; ++i) bytes[i] = 0;
  for (int32_t k = 0; k < g.groups4; ++k) {
    const uint32_t v = simd::Load4(bytes + 4 * k);
    out[2 * k] = static_cast<uint32_t>(simd::EvenBytesPlus(xo, v));
    out[2 * k + 1] = static_cast<uint32_t>(simd::OddBytesPlus(xo, v));
  }
}

}  // namespace

bool ConvSmallDepthDsp(const ConvParams& params, const PerChannelQuant& quant,
                       const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                       const FilterRows& filter, const int32_t* bias, const Dims& output_dims,
                       int8_t* output, void* scratch) {
  const int32_t kh = filter_dims.h, kw = filter_dims.w, in_c = input_dims.c;
  const int32_t in_h = input_dims.h, in_w = input_dims.w;
  const int32_t out_h = output_dims.h, out_w = output_dims.w, out_c = output_dims.c;
  const int32_t window = kh * kw * in_c;
  if (filter_dims.c != in_c || in_c >= 8 || kh * kw < 2 || window > kMaxWindowBytes) {
    return false;
  }
  const int32_t zero_point = -params.input_offset;
  if (zero_point < -128 || zero_point > 127 || out_c <= 0) return false;

  Gather g;
  g.kh = kh;
  g.kw = kw;
  g.in_c = in_c;
  g.tap_step = params.dilation.w * in_c;
  g.row_step = params.dilation.h * in_w * in_c;
  g.groups4 = (window + 3) / 4;
  const int32_t words = 2 * g.groups4;
  const int32_t chunk = ConvSmallDepthDspChunk(words);
  const uint32_t xo = simd::Splat16(params.input_offset);
  const int32_t output_offset = params.output_offset;
  const ActivationRange activation = params.activation;
  // Locals: the int8 output stores may alias anything, which would otherwise force reloads.
  const int32_t* const multiplier = quant.multiplier;
  const int32_t* const shift = quant.shift;
  const int32_t span_h = (kh - 1) * params.dilation.h, span_w = (kw - 1) * params.dilation.w;
  const bool rows_of_9 = kh == 3 && kw * in_c == 9 && g.tap_step == in_c;

  uint32_t* const w = static_cast<uint32_t*>(scratch);  // the chunk's widened filter rows
  uint32_t x[kMaxWindowBytes / 2];
  for (int32_t c0 = 0; c0 < out_c; c0 += chunk) {
    const int32_t c1 = c0 + chunk < out_c ? c0 + chunk : out_c;
    // Doubled (quant_math.h) when every channel of the chunk allows it: |bias| < 2^29 keeps
    // |acc| < 2^30 (at most 64 window bytes of |w * (x + input_offset)| <= 128 * 255).
    int32_t bias2[kMaxDoubledChunk];
    DoubledRequant dq[kMaxDoubledChunk];
    bool doubled = true;
    for (int32_t oc = c0; oc < c1 && doubled; ++oc) {
      const int32_t b = bias != nullptr ? bias[oc] : 0;
      doubled = b > -(int32_t{1} << 29) && b < (int32_t{1} << 29) &&
                PrepareDoubledRequant(multiplier[oc], shift[oc], output_offset, &dq[oc - c0]);
      bias2[oc - c0] = 2 * b;
    }
    // The chunk's filter rows widened once, in GatherWindow's layout (doubled lanes stay in
    // [-256, 254]).
    for (int32_t oc = c0; oc < c1; ++oc) {
      alignas(4) int8_t bytes[kMaxWindowBytes];
      const int8_t* f = filter.row(oc);
      int32_t i = 0;
      for (; i < window; ++i) bytes[i] = f[i];
      for (; i < 4 * g.groups4; ++i) bytes[i] = 0;
      uint32_t* wo = w + (oc - c0) * words;
      for (int32_t k = 0; k < g.groups4; ++k) {
        const uint32_t v = simd::Load4(bytes + 4 * k);
        const uint32_t even = static_cast<uint32_t>(simd::EvenBytes(v));
        const uint32_t odd = static_cast<uint32_t>(simd::OddBytes(v));
        wo[2 * k] = doubled ? simd::DoubleLanes(even) : even;
        wo[2 * k + 1] = doubled ? simd::DoubleLanes(odd) : odd;
      }
    }
    const int32_t c4 = c0 + ((c1 - c0) & ~3);  // doubled: [c0, c4) four at a time
    for (int32_t b = 0; b < output_dims.n; ++b) {
      const int8_t* in_batch = input + b * in_h * in_w * in_c;
      for (int32_t oy = 0; oy < out_h; ++oy) {
        const int32_t in_y0 = oy * params.stride.h - params.padding.h;
        const bool rows_inside = in_y0 >= 0 && in_y0 + span_h < in_h;
        for (int32_t ox = 0; ox < out_w; ++ox) {
          const int32_t in_x0 = ox * params.stride.w - params.padding.w;
          if (rows_inside && in_x0 >= 0 && in_x0 + span_w < in_w) {
            if (rows_of_9) {
              GatherWindow3x9(in_batch + (in_y0 * in_w + in_x0) * in_c, g.row_step, xo, x);
            } else {
              GatherWindow(g, in_batch + (in_y0 * in_w + in_x0) * in_c, xo, x);
            }
          } else {
            GatherWindowChecked(g, in_batch, in_y0, in_x0, in_h, in_w, params.dilation.h,
                                params.dilation.w, static_cast<int8_t>(zero_point), xo, x);
          }
          int8_t* out_px = output + ((b * out_h + oy) * out_w + ox) * out_c;
          if (doubled) {
            const uint32_t act_lo = simd::Splat8(activation.min);
            const uint32_t act_hi = simd::Splat8(activation.max);
            const bool clamp = activation.min > -128 || activation.max < 127;
            // 3x3 over 3 channels (27 bytes, 14 words): the MobileNet / MCUNet stem.
            if (words == 14 && clamp) {
              DoubledChannels<14, true>(x, w, words, bias2, dq, c4 - c0, act_lo, act_hi,
                                        out_px + c0);
            } else if (words == 14) {
              DoubledChannels<14, false>(x, w, words, bias2, dq, c4 - c0, act_lo, act_hi,
                                         out_px + c0);
            } else {
              DoubledChannels<0, true>(x, w, words, bias2, dq, c4 - c0, act_lo, act_hi,
                                       out_px + c0);
            }
            for (int32_t oc = c4; oc < c1; ++oc) {
              const int32_t acc = DualMacRun<0>(x, w + (oc - c0) * words, words, bias2[oc - c0]);
              out_px[oc] = static_cast<int8_t>(ClampToRange(
                  RequantizeDoubled(acc, dq[oc - c0]), activation.min, activation.max));
            }
            continue;
          }
          auto channels = [&](auto words_const) {
            constexpr int32_t kWords = decltype(words_const)::value;
            const uint32_t* wp = w;
            int32_t oc = c0;
            // Output channels in pairs, sharing the window loads.
            for (; oc + 2 <= c1; oc += 2) {
              int32_t acc0 = bias != nullptr ? bias[oc] : 0;
              int32_t acc1 = bias != nullptr ? bias[oc + 1] : 0;
              DualMacRun2<kWords>(x, wp, wp + words, words, &acc0, &acc1);
              wp += 2 * words;
              out_px[oc] =
                  RequantizeToInt8(acc0, multiplier[oc], shift[oc], output_offset, activation);
              out_px[oc + 1] = RequantizeToInt8(acc1, multiplier[oc + 1], shift[oc + 1],
                                                output_offset, activation);
            }
            if (oc < c1) {
              const int32_t acc =
                  DualMacRun<kWords>(x, wp, words, bias != nullptr ? bias[oc] : 0);
              out_px[oc] =
                  RequantizeToInt8(acc, multiplier[oc], shift[oc], output_offset, activation);
            }
          };
          // 3x3 over 3 channels (27 bytes, 14 words): the MobileNet / MCUNet stem.
          if (words == 14) {
            channels(std::integral_constant<int32_t, 14>{});
          } else {
            channels(std::integral_constant<int32_t, 0>{});
          }
        }
      }
    }
  }
  return true;
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DSP
