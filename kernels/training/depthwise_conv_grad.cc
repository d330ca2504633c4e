#include "kernels/training/depthwise_conv_grad.h"

#include "kernels/training/output_taps.h"
#include "kernels/training/vfp_asm.h"

namespace tflm_train {
namespace {

// The general form (any depth multiplier and dilation): per input element, the output taps in
// ForEachOutputTap order. Null filter_scales: grad_output already holds g * s_w (here and in
// the fast path below).
void InputGradGeneral(const DepthwiseParams& params, const Dims& output_dims,
                      const float* grad_output, const Dims& filter_dims,
                      const DepthwiseFilter& filter, const float* filter_scales,
                      const Dims& input_dims, float* grad_input) {
  const int32_t out_c = output_dims.c, in_c = input_dims.c;
  const int32_t mult = params.depth_multiplier;
  GatherInputGrad(params, input_dims, output_dims, filter_dims.h, filter_dims.w, grad_input,
                  [&](float* gin, int32_t o, int32_t tap) {
    const float* gout = grad_output + o * out_c;
    for (int32_t ci = 0; ci < in_c; ++ci) {
      float acc = gin[ci];
      for (int32_t m = 0; m < mult; ++m) {
        const int32_t oc = ci * mult + m;
        const float g = filter_scales != nullptr ? gout[oc] * filter_scales[oc] : gout[oc];
        acc = MulAdd(acc, g, static_cast<float>(filter.at(tap, oc)));
      }
      gin[ci] = acc;
    }
  });
}

// Depth multiplier 1 and dilation 1 (every zoo model) take a faster path with the same sums:
// channels go in blocks of up to kMaxBlock whose accumulators and scales stay in registers and
// whose filter is converted to float once (exact); the taps reaching an element are found
// arithmetically (TapsReaching), once per input row and column, instead of testing every tap of
// every element.
constexpr int32_t kMaxBlock = 8;
constexpr int32_t kMaxFastTaps = 49;     // 7x7: a block's float filter lives on the stack
constexpr int32_t kMaxFastWidth = 128;   // the column table lives on the stack

// The taps of one filter axis that reach input coordinate i with dilation 1: i + pad = o * stride
// + k with 0 <= k < k_size and 0 <= o < out_size, i.e. k = first, first + stride, ... (count of
// them; increasing, the documented order) read through o = out_first, out_first - 1, ...
struct AxisTaps {
  int16_t first, count, out_first;
};

inline AxisTaps TapsReaching(int32_t i, int32_t pad, int32_t stride, int32_t k_size,
                             int32_t out_size) {
  const int32_t t = i + pad;
  int32_t lo = t - (out_size - 1) * stride;
  if (lo < 0) lo = 0;
  const int32_t hi = t < k_size - 1 ? t : k_size - 1;
  if (lo > hi) return AxisTaps{0, 0, 0};
  const int32_t first = lo + (t - lo) % stride;
  if (first > hi) return AxisTaps{0, 0, 0};
  return AxisTaps{static_cast<int16_t>(first), static_cast<int16_t>((hi - first) / stride + 1),
                  static_cast<int16_t>((t - first) / stride)};
}

// acc[j] = acc[j] + (g[j] * s[j]) * w[j] for j < B, count times, g stepping back by g_step floats
// and w forward by w_step floats: one row of taps reaching an element.
// kScaled: g already holds g * s, the term is g * w.
template <int B, bool kScaled>
inline void AccumulateRow(float (&acc)[B], const float (&s)[B], const float* g, int32_t g_step,
                          const float* w, int32_t w_step, int32_t count) {
  for (int32_t x = 0; x < count; ++x, g -= g_step, w += w_step) {
#pragma GCC unroll 8
    for (int32_t j = 0; j < B; ++j) {
      acc[j] = MulAdd(acc[j], kScaled ? g[j] : g[j] * s[j], w[j]);
    }
  }
}

#if TFLM_TRAIN_VFP_ASM
constexpr bool kVfpRow8 = true;
// The same on a single-precision VFP (Cortex-M4F/M7), count >= 1: VLDM brings the 8 gradients
// and the 8 weights of a tap in one instruction each (GCC emits 16 VLDRs); VMULs make g * s, then
// acc + (g * s) * w with the product rounded first: VMLA where it is cheap (the M7), VMUL + VADD
// elsewhere (vfp_asm.h TFLM_TRAIN_VFP_VMLA): the portable loop's operations, operand for operand.
// The tap's products go to s16-s23 (the gradients are dead by then), all 8 before their adds.
// Lane j's product goes to s16+j, its weight is s24+j, its accumulator operand a<j>.
#if TFLM_TRAIN_VFP_VMLA
#define TFLM_TRAIN_DW_MULS_4
#define TFLM_TRAIN_DW_MULS_5
#define TFLM_TRAIN_DW_MULS_6
#define TFLM_TRAIN_DW_MULS_7
#define TFLM_TRAIN_DW_MULS_8
#define TFLM_TRAIN_DW_ADDS_4                                                  \
  "vmla.f32 %[a0], s16, s24\n\t" "vmla.f32 %[a1], s17, s25\n\t"             \
  "vmla.f32 %[a2], s18, s26\n\t" "vmla.f32 %[a3], s19, s27\n\t"
#define TFLM_TRAIN_DW_ADDS_5 TFLM_TRAIN_DW_ADDS_4 "vmla.f32 %[a4], s20, s28\n\t"
#define TFLM_TRAIN_DW_ADDS_6 TFLM_TRAIN_DW_ADDS_5 "vmla.f32 %[a5], s21, s29\n\t"
#define TFLM_TRAIN_DW_ADDS_7 TFLM_TRAIN_DW_ADDS_6 "vmla.f32 %[a6], s22, s30\n\t"
#define TFLM_TRAIN_DW_ADDS_8 TFLM_TRAIN_DW_ADDS_7 "vmla.f32 %[a7], s23, s31\n\t"
#else
#define TFLM_TRAIN_DW_MULS_4                                                  \
  "vmul.f32 s16, s16, s24\n\t" "vmul.f32 s17, s17, s25\n\t"                 \
  "vmul.f32 s18, s18, s26\n\t" "vmul.f32 s19, s19, s27\n\t"
#define TFLM_TRAIN_DW_MULS_5 TFLM_TRAIN_DW_MULS_4 "vmul.f32 s20, s20, s28\n\t"
#define TFLM_TRAIN_DW_MULS_6 TFLM_TRAIN_DW_MULS_5 "vmul.f32 s21, s21, s29\n\t"
#define TFLM_TRAIN_DW_MULS_7 TFLM_TRAIN_DW_MULS_6 "vmul.f32 s22, s22, s30\n\t"
#define TFLM_TRAIN_DW_MULS_8 TFLM_TRAIN_DW_MULS_7 "vmul.f32 s23, s23, s31\n\t"
#define TFLM_TRAIN_DW_ADDS_4                                                  \
  "vadd.f32 %[a0], %[a0], s16\n\t" "vadd.f32 %[a1], %[a1], s17\n\t"         \
  "vadd.f32 %[a2], %[a2], s18\n\t" "vadd.f32 %[a3], %[a3], s19\n\t"
#define TFLM_TRAIN_DW_ADDS_5 TFLM_TRAIN_DW_ADDS_4 "vadd.f32 %[a4], %[a4], s20\n\t"
#define TFLM_TRAIN_DW_ADDS_6 TFLM_TRAIN_DW_ADDS_5 "vadd.f32 %[a5], %[a5], s21\n\t"
#define TFLM_TRAIN_DW_ADDS_7 TFLM_TRAIN_DW_ADDS_6 "vadd.f32 %[a6], %[a6], s22\n\t"
#define TFLM_TRAIN_DW_ADDS_8 TFLM_TRAIN_DW_ADDS_7 "vadd.f32 %[a7], %[a7], s23\n\t"
#endif
#define TFLM_TRAIN_DW_TAP_MACS TFLM_TRAIN_DW_MULS_8 TFLM_TRAIN_DW_ADDS_8
template <>
inline void AccumulateRow<8, false>(float (&acc)[8], const float (&s)[8], const float* g,
                                    int32_t g_step, const float* w, int32_t w_step,
                                    int32_t count) {
  for (int32_t x = count; x != 0; --x, g -= g_step, w += w_step) {  // down: SUBS + BNE
    __asm__(
        "vldmia %[g], {s16-s23}\n\t"
        "vldmia %[w], {s24-s31}\n\t"
        "vmul.f32 s16, s16, %[s0]\n\t"
        "vmul.f32 s17, s17, %[s1]\n\t"
        "vmul.f32 s18, s18, %[s2]\n\t"
        "vmul.f32 s19, s19, %[s3]\n\t"
        "vmul.f32 s20, s20, %[s4]\n\t"
        "vmul.f32 s21, s21, %[s5]\n\t"
        "vmul.f32 s22, s22, %[s6]\n\t"
        "vmul.f32 s23, s23, %[s7]\n\t" TFLM_TRAIN_DW_TAP_MACS
        : [a0] "+t"(acc[0]), [a1] "+t"(acc[1]), [a2] "+t"(acc[2]), [a3] "+t"(acc[3]),
          [a4] "+t"(acc[4]), [a5] "+t"(acc[5]), [a6] "+t"(acc[6]), [a7] "+t"(acc[7])
        : [g] "r"(g), [w] "r"(w), [s0] "t"(s[0]), [s1] "t"(s[1]), [s2] "t"(s[2]),
          [s3] "t"(s[3]), [s4] "t"(s[4]), [s5] "t"(s[5]), [s6] "t"(s[6]), [s7] "t"(s[7]),
          "m"(*reinterpret_cast<const float(*)[8]>(g)),
          "m"(*reinterpret_cast<const float(*)[8]>(w))
        : "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25", "s26", "s27",
          "s28", "s29", "s30", "s31");
  }
}

// Pre-scaled rows of 4 to 8 channels (4 to 7: the block left after the 8s, e.g. 7 of a group of
// 15): one VLDM of the B gradients and one of the B weights per tap, where GCC emits 2 * B VLDRs
// (on the Cortex-M4 a VLDM of n takes 1 + n cycles, n VLDRs up to 2n, plus their addressing).
#define TFLM_TRAIN_DW_ACC_OUT_4                                                            \
  [a0] "+t"(acc[0]), [a1] "+t"(acc[1]), [a2] "+t"(acc[2]), [a3] "+t"(acc[3])
#define TFLM_TRAIN_DW_ACC_OUT_5 TFLM_TRAIN_DW_ACC_OUT_4, [a4] "+t"(acc[4])
#define TFLM_TRAIN_DW_ACC_OUT_6 TFLM_TRAIN_DW_ACC_OUT_5, [a5] "+t"(acc[5])
#define TFLM_TRAIN_DW_ACC_OUT_7 TFLM_TRAIN_DW_ACC_OUT_6, [a6] "+t"(acc[6])
#define TFLM_TRAIN_DW_ACC_OUT_8 TFLM_TRAIN_DW_ACC_OUT_7, [a7] "+t"(acc[7])
#define TFLM_TRAIN_DW_SCALED_ROW(B, LAST_G, LAST_W)                                          \
  template <>                                                                               \
  inline void AccumulateRow<B, true>(float (&acc)[B], const float (&)[B], const float* g,   \
                                     int32_t g_step, const float* w, int32_t w_step,        \
                                     int32_t count) {                                       \
    for (int32_t x = count; x != 0; --x, g -= g_step, w += w_step) {                        \
      __asm__("vldmia %[g], {s16-" LAST_G "}\n\t"                                           \
              "vldmia %[w], {s24-" LAST_W "}\n\t" TFLM_TRAIN_DW_MULS_##B TFLM_TRAIN_DW_ADDS_##B \
              : TFLM_TRAIN_DW_ACC_OUT_##B                                                   \
              : [g] "r"(g), [w] "r"(w), "m"(*reinterpret_cast<const float(*)[B]>(g)),       \
                "m"(*reinterpret_cast<const float(*)[B]>(w))                                \
              : "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25", "s26", \
                "s27", "s28", "s29", "s30", "s31");                                         \
    }                                                                                       \
  }
TFLM_TRAIN_DW_SCALED_ROW(4, "s19", "s27")
TFLM_TRAIN_DW_SCALED_ROW(5, "s20", "s28")
TFLM_TRAIN_DW_SCALED_ROW(6, "s21", "s29")
TFLM_TRAIN_DW_SCALED_ROW(7, "s22", "s30")
TFLM_TRAIN_DW_SCALED_ROW(8, "s23", "s31")
#undef TFLM_TRAIN_DW_SCALED_ROW
#undef TFLM_TRAIN_DW_TAP_MACS
#undef TFLM_TRAIN_DW_MULS_4
#undef TFLM_TRAIN_DW_MULS_5
#undef TFLM_TRAIN_DW_MULS_6
#undef TFLM_TRAIN_DW_MULS_7
#undef TFLM_TRAIN_DW_MULS_8
#undef TFLM_TRAIN_DW_ADDS_4
#undef TFLM_TRAIN_DW_ADDS_5
#undef TFLM_TRAIN_DW_ADDS_6
#undef TFLM_TRAIN_DW_ADDS_7
#undef TFLM_TRAIN_DW_ADDS_8
#undef TFLM_TRAIN_DW_ACC_OUT_4
#undef TFLM_TRAIN_DW_ACC_OUT_5
#undef TFLM_TRAIN_DW_ACC_OUT_6
#undef TFLM_TRAIN_DW_ACC_OUT_7
#undef TFLM_TRAIN_DW_ACC_OUT_8

// Two elements of an input row, columns iw and iw + 1 at stride 1, 8 channels pre-scaled (the
// block the zoo models spend their depthwise input gradient in): per window row, the first
// element's taps before the second's first (left edge), the taps both take (the second
// element's gradient one output column further), the second's taps past the first's last
// (right edge). Each shared tap's 8 weights come by one VLDM for both elements, and each
// element's sum is the single path's, term for term. The 16 sums stay in s0-s15 across the
// asm statements as pinned D registers (16 float operands would pass GCC's 30-operand limit
// and make it spill them); per tap the weights go to s16-s23, the gradients to s24-s31 and
// the products over them.
#if TFLM_TRAIN_VFP_VMLA
#define TFLM_TRAIN_DWP_TERMS(a0, a1, a2, a3, a4, a5, a6, a7)                                 \
  "vmla.f32 " a0 ", s24, s16\n\t" "vmla.f32 " a1 ", s25, s17\n\t"                            \
  "vmla.f32 " a2 ", s26, s18\n\t" "vmla.f32 " a3 ", s27, s19\n\t"                            \
  "vmla.f32 " a4 ", s28, s20\n\t" "vmla.f32 " a5 ", s29, s21\n\t"                            \
  "vmla.f32 " a6 ", s30, s22\n\t" "vmla.f32 " a7 ", s31, s23\n\t"
#else
#define TFLM_TRAIN_DWP_TERMS(a0, a1, a2, a3, a4, a5, a6, a7)                                 \
  "vmul.f32 s24, s24, s16\n\t" "vmul.f32 s25, s25, s17\n\t"                                \
  "vmul.f32 s26, s26, s18\n\t" "vmul.f32 s27, s27, s19\n\t"                                \
  "vmul.f32 s28, s28, s20\n\t" "vmul.f32 s29, s29, s21\n\t"                                \
  "vmul.f32 s30, s30, s22\n\t" "vmul.f32 s31, s31, s23\n\t"                                \
  "vadd.f32 " a0 ", " a0 ", s24\n\t" "vadd.f32 " a1 ", " a1 ", s25\n\t"                      \
  "vadd.f32 " a2 ", " a2 ", s26\n\t" "vadd.f32 " a3 ", " a3 ", s27\n\t"                      \
  "vadd.f32 " a4 ", " a4 ", s28\n\t" "vadd.f32 " a5 ", " a5 ", s29\n\t"                      \
  "vadd.f32 " a6 ", " a6 ", s30\n\t" "vadd.f32 " a7 ", " a7 ", s31\n\t"
#endif
#define TFLM_TRAIN_DWP_FIRST TFLM_TRAIN_DWP_TERMS("s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7")
#define TFLM_TRAIN_DWP_SECOND \
  TFLM_TRAIN_DWP_TERMS("s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15")
#define TFLM_TRAIN_DWP_CLOBBERS                                                              \
  "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25", "s26", "s27", "s28", \
      "s29", "s30", "s31"
#define TFLM_TRAIN_DWP_TAP_MEM(p) "m"(*reinterpret_cast<const float(*)[8]>(p))
__attribute__((always_inline)) inline void InputGradPair8(
    const float* gy, int32_t g_row, int32_t out_stride, const float* wy, int32_t w_row,
    int32_t rows, int32_t pre, int32_t common, int32_t post, float* gin, float* gin2) {
  // 0.0 doubles: both halves +0.0f, the single path's start.
  register double a0 __asm__("d0") = 0.0, a1 __asm__("d1") = 0.0, a2 __asm__("d2") = 0.0,
                  a3 __asm__("d3") = 0.0, b0 __asm__("d4") = 0.0, b1 __asm__("d5") = 0.0,
                  b2 __asm__("d6") = 0.0, b3 __asm__("d7") = 0.0;
  for (int32_t y = rows; y != 0; --y, gy -= g_row, wy += w_row) {
    const float* g = gy;
    const float* w = wy;
    for (int32_t x = pre; x != 0; --x, g -= out_stride, w += 8) {
      __asm__("vldmia %[w], {s16-s23}\n\t"
              "vldmia %[g], {s24-s31}\n\t" TFLM_TRAIN_DWP_FIRST
              : "+w"(a0), "+w"(a1), "+w"(a2), "+w"(a3)
              : [g] "r"(g), [w] "r"(w), TFLM_TRAIN_DWP_TAP_MEM(g), TFLM_TRAIN_DWP_TAP_MEM(w)
              : TFLM_TRAIN_DWP_CLOBBERS);
    }
    for (int32_t x = common; x != 0; --x, g -= out_stride, w += 8) {
      const float* g2 = g + out_stride;
      __asm__("vldmia %[w], {s16-s23}\n\t"
              "vldmia %[g], {s24-s31}\n\t" TFLM_TRAIN_DWP_FIRST
              "vldmia %[g2], {s24-s31}\n\t" TFLM_TRAIN_DWP_SECOND
              : "+w"(a0), "+w"(a1), "+w"(a2), "+w"(a3), "+w"(b0), "+w"(b1), "+w"(b2), "+w"(b3)
              : [g] "r"(g), [g2] "r"(g2), [w] "r"(w), TFLM_TRAIN_DWP_TAP_MEM(g),
                TFLM_TRAIN_DWP_TAP_MEM(g2), TFLM_TRAIN_DWP_TAP_MEM(w)
              : TFLM_TRAIN_DWP_CLOBBERS);
    }
    for (int32_t x = post; x != 0; --x, g -= out_stride, w += 8) {
      const float* g2 = g + out_stride;
      __asm__("vldmia %[w], {s16-s23}\n\t"
              "vldmia %[g2], {s24-s31}\n\t" TFLM_TRAIN_DWP_SECOND
              : "+w"(b0), "+w"(b1), "+w"(b2), "+w"(b3)
              : [g2] "r"(g2), [w] "r"(w), TFLM_TRAIN_DWP_TAP_MEM(g2), TFLM_TRAIN_DWP_TAP_MEM(w)
              : TFLM_TRAIN_DWP_CLOBBERS);
    }
  }
  __asm__("vstmia %[p], {d0-d3}\n\t"
          "vstmia %[q], {d4-d7}"
          : "=m"(*reinterpret_cast<float(*)[8]>(gin)), "=m"(*reinterpret_cast<float(*)[8]>(gin2))
          : [p] "r"(gin), [q] "r"(gin2), "w"(a0), "w"(a1), "w"(a2), "w"(a3), "w"(b0), "w"(b1),
            "w"(b2), "w"(b3));
}
#undef TFLM_TRAIN_DWP_TERMS
#undef TFLM_TRAIN_DWP_FIRST
#undef TFLM_TRAIN_DWP_SECOND
#undef TFLM_TRAIN_DWP_CLOBBERS
#undef TFLM_TRAIN_DWP_TAP_MEM
#else
constexpr bool kVfpRow8 = false;
#endif

// Channels [0, B) of grad_output (out_stride floats per position) into grad_input (in_stride
// floats per position); w holds the block's filter as [k_h * k_w][B] floats, columns[iw] the
// taps reaching column iw. Per element: 0.0f plus the terms (g * s) * w in (ky, kx) increasing
// order, the sum InputGradGeneral makes (null filter_scales: g already holds g * s).
template <int B, bool kScaled>
void InputGradBlock(const DepthwiseParams& params, const Dims& output_dims,
                    const float* grad_output, int32_t out_stride, int32_t k_h, int32_t k_w,
                    const float* w, const float* filter_scales, const Dims& input_dims,
                    const AxisTaps* columns, float* grad_input, int32_t in_stride) {
  float s[B];
#pragma GCC unroll 8
  for (int32_t j = 0; j < B; ++j) s[j] = kScaled ? 1.0f : filter_scales[j];
  const int32_t out_h = output_dims.h, out_w = output_dims.w;
  const int32_t g_row = out_w * out_stride, w_step = params.stride.w * B;
  const int32_t w_row = params.stride.h * k_w * B;
  // At stride 1 neighbouring interior columns take the same taps, one output column apart.
  [[maybe_unused]] const bool pairs = params.stride.w == 1;
  float* gin = grad_input;
  for (int32_t n = 0; n < input_dims.n; ++n) {
    const float* gout_n = grad_output + n * out_h * g_row;
    for (int32_t ih = 0; ih < input_dims.h; ++ih) {
      const AxisTaps ty = TapsReaching(ih, params.padding.h, params.stride.h, k_h, out_h);
      const float* g_row0 = gout_n + ty.out_first * g_row;
      const float* w_row0 = w + ty.first * k_w * B;
      for (int32_t iw = 0; iw < input_dims.w; ++iw, gin += in_stride) {
        const AxisTaps tx = columns[iw];
#if TFLM_TRAIN_VFP_ASM
        if constexpr (kScaled && B == 8) {
          // This column and the next as a pair: per window row, this one's taps before the
          // next one's first (the left edge), the taps they share (each element's gradient one
          // output column apart), the next one's taps past this one's last (the right edge):
          // every element's terms in the single path's order.
          const AxisTaps tn = iw + 1 < input_dims.w ? columns[iw + 1] : AxisTaps{0, 0, 0};
          const int32_t a_end = tx.first + tx.count, b_end = tn.first + tn.count;
          if (pairs && ty.count > 0 && tx.count > 0 && tn.count > 0 && tn.first >= tx.first &&
              tn.first < a_end && b_end >= a_end) {
            InputGradPair8(g_row0 + tx.out_first * out_stride, g_row, out_stride,
                           w_row0 + tx.first * B, w_row, ty.count, tn.first - tx.first,
                           a_end - tn.first, b_end - a_end, gin, gin + in_stride);
            ++iw;
            gin += in_stride;
            continue;
          }
        }
#endif
        float acc[B];
#pragma GCC unroll 8
        for (int32_t j = 0; j < B; ++j) acc[j] = 0.0f;
        const float* gy = g_row0 + tx.out_first * out_stride;
        const float* wy = w_row0 + tx.first * B;
        const int32_t rows = tx.count > 0 ? ty.count : 0;
        for (int32_t y = 0; y < rows; ++y, gy -= g_row, wy += w_row) {
          AccumulateRow<B, kScaled>(acc, s, gy, out_stride, wy, w_step, tx.count);
        }
#pragma GCC unroll 8
        for (int32_t j = 0; j < B; ++j) gin[j] = acc[j];
      }
    }
  }
}

using BlockFn = void (*)(const DepthwiseParams&, const Dims&, const float*, int32_t, int32_t,
                         int32_t, const float*, const float*, const Dims&, const AxisTaps*,
                         float*, int32_t);
template <bool kScaled>
constexpr BlockFn kBlockFns[kMaxBlock] = {
    InputGradBlock<1, kScaled>, InputGradBlock<2, kScaled>, InputGradBlock<3, kScaled>,
    InputGradBlock<4, kScaled>, InputGradBlock<5, kScaled>, InputGradBlock<6, kScaled>,
    InputGradBlock<7, kScaled>, InputGradBlock<8, kScaled>};

void InputGradMult1(const DepthwiseParams& params, const Dims& output_dims,
                    const float* grad_output, const Dims& filter_dims,
                    const DepthwiseFilter& filter, const float* filter_scales,
                    const Dims& input_dims, float* grad_input) {
  const int32_t channels = input_dims.c, taps = filter_dims.h * filter_dims.w;
  AxisTaps columns[kMaxFastWidth];
  for (int32_t iw = 0; iw < input_dims.w; ++iw) {
    columns[iw] = TapsReaching(iw, params.padding.w, params.stride.w, filter_dims.w,
                               output_dims.w);
  }
  float w[kMaxFastTaps * kMaxBlock];
  // Portable: blocks as even as kMaxBlock allows (14 channels: 7 + 7, not 8 + 4 + 2), as narrow
  // blocks pay the per-element bookkeeping for fewer terms. With the VFP row of 8: all the 8s it
  // can take, then one block of the rest.
  const int32_t blocks = (channels + kMaxBlock - 1) / kMaxBlock;
  for (int32_t c = 0, k = 0; k < blocks; ++k) {
    const int32_t b = kVfpRow8 ? (channels - c < kMaxBlock ? channels - c : kMaxBlock)
                               : (channels - c) / (blocks - k) + ((channels - c) % (blocks - k) != 0);
    if (c < filter.head_channels && c + b > filter.head_channels) {
      // The block straddles the filter's SRAM head: each channel from where it lives.
      for (int32_t t = 0; t < taps; ++t) {
        for (int32_t j = 0; j < b; ++j) w[t * b + j] = static_cast<float>(filter.at(t, c + j));
      }
    } else {
      const int8_t* const f = filter.taps_of(c) + c;
      const int32_t f_stride = filter.stride_of(c);
      for (int32_t t = 0; t < taps; ++t) {
        for (int32_t j = 0; j < b; ++j) w[t * b + j] = static_cast<float>(f[t * f_stride + j]);
      }
    }
    const BlockFn block = filter_scales != nullptr ? kBlockFns<false>[b - 1]
                                                   : kBlockFns<true>[b - 1];
    block(params, output_dims, grad_output + c, output_dims.c, filter_dims.h, filter_dims.w, w,
          filter_scales != nullptr ? filter_scales + c : nullptr, input_dims, columns,
          grad_input + c, channels);
    c += b;
  }
}

// Null filter_scales: grad_output already holds g * s_w.
void InputGrad(const DepthwiseParams& params, const Dims& output_dims, const float* grad_output,
               const Dims& filter_dims, const DepthwiseFilter& filter,
               const float* filter_scales, const Dims& input_dims, float* grad_input) {
  if (params.depth_multiplier == 1 && params.dilation.h == 1 && params.dilation.w == 1 &&
      filter_dims.h * filter_dims.w <= kMaxFastTaps && input_dims.w <= kMaxFastWidth) {
    InputGradMult1(params, output_dims, grad_output, filter_dims, filter, filter_scales,
                   input_dims, grad_input);
  } else {
    InputGradGeneral(params, output_dims, grad_output, filter_dims, filter, filter_scales,
                     input_dims, grad_input);
  }
}

}  // namespace

int32_t DepthwiseInPlaceScratchFloats(const Dims& dims, int32_t group) {
  // The group's output gradient (scaled) and its input gradient; the filter is read in place.
  return 2 * dims.n * dims.h * dims.w * group;
}

void DepthwiseConvInputGradInPlace(const DepthwiseParams& params, const Dims& dims,
                                   const Dims& filter_dims, const DepthwiseFilter& filter,
                                   const float* filter_scales, int32_t group, float* scratch,
                                   float* grad) {
  const int32_t positions = dims.n * dims.h * dims.w, channels = dims.c;
  float* g_out = scratch;
  float* g_in = scratch + positions * group;
  for (int32_t c0 = 0; c0 < channels; c0 += group) {
    const int32_t g = channels - c0 < group ? channels - c0 : group;
    // The gathered copy holds g * s_w: the products the sum uses, made once per element.
    const float* s = filter_scales + c0;
    for (int32_t p = 0; p < positions; ++p) {
      for (int32_t j = 0; j < g; ++j) g_out[p * g + j] = grad[p * channels + c0 + j] * s[j];
    }
    const Dims group_dims{dims.n, dims.h, dims.w, g};
    InputGrad(params, group_dims, g_out, Dims{1, filter_dims.h, filter_dims.w, g},
              filter.from(c0), nullptr, group_dims, g_in);
    for (int32_t p = 0; p < positions; ++p) {
      for (int32_t j = 0; j < g; ++j) grad[p * channels + c0 + j] = g_in[p * g + j];
    }
  }
}

void DepthwiseConvInputGradStrided(const DepthwiseParams& params, const Dims& output_dims,
                                   const float* grad_output, const Dims& filter_dims,
                                   const DepthwiseFilter& filter, const float* filter_scales,
                                   const Dims& input_dims, float* grad_input) {
  InputGrad(params, output_dims, grad_output, filter_dims, filter, filter_scales, input_dims,
            grad_input);
}

void DepthwiseConvInputGradConsuming(const DepthwiseParams& params, const Dims& output_dims,
                                     float* grad_output, const Dims& filter_dims,
                                     const DepthwiseFilter& filter, const float* filter_scales,
                                     const Dims& input_dims, float* grad_input) {
  const int32_t positions = output_dims.n * output_dims.h * output_dims.w, c = output_dims.c;
  for (int32_t p = 0; p < positions; ++p, grad_output += c) {
    int32_t j = 0;
#if TFLM_TRAIN_VFP_ASM
    for (; j + 4 <= c; j += 4) MulByS24x4(grad_output + j, filter_scales + j);
#endif
    for (; j < c; ++j) grad_output[j] = grad_output[j] * filter_scales[j];
  }
  grad_output -= positions * c;
  InputGrad(params, output_dims, grad_output, filter_dims, filter, nullptr, input_dims,
            grad_input);
}

void DepthwiseConvInputGrad(const DepthwiseParams& params, const Dims& output_dims,
                            const float* grad_output, const Dims& filter_dims,
                            const DepthwiseFilter& filter, const float* filter_scales,
                            const Dims& input_dims, float* grad_input) {
  DepthwiseConvInputGradStrided(params, output_dims, grad_output, filter_dims, filter,
                                filter_scales, input_dims, grad_input);
}

void DepthwiseConvFilterGrad(const DepthwiseParams& params, const Dims& input_dims,
                             const int8_t* input, float input_scale, const Dims& output_dims,
                             const float* grad_output, const Dims& filter_dims, int32_t c_begin,
                             int32_t c_end, float* grad_filter) {
  const int32_t in_c = input_dims.c, out_c = output_dims.c;
  const int32_t k_h = filter_dims.h, k_w = filter_dims.w;
  const int32_t count = c_end - c_begin;
  const int32_t mult = params.depth_multiplier;
  for (int32_t ky = 0; ky < k_h; ++ky) {
    for (int32_t kx = 0; kx < k_w; ++kx) {
      float* gw = grad_filter + (ky * k_w + kx) * count;
      for (int32_t j = 0; j < count; ++j) gw[j] = 0.0f;
      ForEachTapPair(params, ky, kx, input_dims, output_dims, [&](int32_t o, int32_t i) {
        const float* g = grad_output + o * out_c;
        const int8_t* x = input + i * in_c;
        for (int32_t oc = c_begin; oc < c_end; ++oc) {
          const int32_t xv = static_cast<int32_t>(x[oc / mult]) + params.input_offset;
          gw[oc - c_begin] = MulAdd(gw[oc - c_begin], g[oc], static_cast<float>(xv));
        }
      });
      for (int32_t j = 0; j < count; ++j) gw[j] = gw[j] * input_scale;
    }
  }
}

}  // namespace tflm_train
