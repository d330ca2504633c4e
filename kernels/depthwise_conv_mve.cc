#include "kernels/depthwise_conv_mve.h"

#if TFLM_TRAIN_KERNELS_MVE

#include <arm_mve.h>

#include "kernels/conv_window.h"
#include "kernels/requant_mve.h"

namespace tflm_train {

namespace {

using mve_detail::ChunkQuant;
using mve_detail::kMveChunk;

// The two vectors of eight channels' sums.
struct Acc8 {
  int32x4_t lo, hi;
};

// acc += the window's taps (plan) for channels [0, 8) at x / w (both at the chunk's channel k);
// kOffset: add input_offset to each input (border windows; interior ones have it in the base).
// n < 8: only the first n lanes load (the others stay as they are and are not stored).
template <bool kOffset>
inline void WindowTaps(const WindowPlan& plan, int32_t input_offset, const int8_t* x,
                       const int8_t* w, int32_t n, Acc8& acc) {
  const int8_t* x_row = x + plan.input;
  const int8_t* w_row = w + plan.filter;
  const int32_t x_step = plan.input_tap_step, w_step = plan.filter_tap_step;
  int32x4_t lo = acc.lo, hi = acc.hi;
  if (n >= 8) {
    for (int32_t r = 0; r < plan.rows; ++r) {
      const int8_t* xp = x_row;
      const int8_t* wp = w_row;
      for (int32_t t = plan.taps; t > 0; --t) {
        int32x4_t x0 = vldrbq_s32(xp), x1 = vldrbq_s32(xp + 4);
        if (kOffset) {
          x0 = vaddq_n_s32(x0, input_offset);
          x1 = vaddq_n_s32(x1, input_offset);
        }
        lo = vaddq_s32(lo, vmulq_s32(x0, vldrbq_s32(wp)));
        hi = vaddq_s32(hi, vmulq_s32(x1, vldrbq_s32(wp + 4)));
        xp += x_step;
        wp += w_step;
      }
      x_row += plan.input_row_step;
      w_row += plan.filter_row_step;
    }
  } else {
    const mve_pred16_t p_lo = vctp32q(static_cast<uint32_t>(n));
    const mve_pred16_t p_hi = vctp32q(static_cast<uint32_t>(n > 4 ? n - 4 : 0));
    for (int32_t r = 0; r < plan.rows; ++r) {
      const int8_t* xp = x_row;
      const int8_t* wp = w_row;
      for (int32_t t = plan.taps; t > 0; --t) {
        int32x4_t x0 = vldrbq_z_s32(xp, p_lo), x1 = vldrbq_z_s32(xp + 4, p_hi);
        if (kOffset) {
          x0 = vaddq_n_s32(x0, input_offset);
          x1 = vaddq_n_s32(x1, input_offset);
        }
        lo = vaddq_s32(lo, vmulq_s32(x0, vldrbq_z_s32(wp, p_lo)));
        hi = vaddq_s32(hi, vmulq_s32(x1, vldrbq_z_s32(wp + 4, p_hi)));
        xp += x_step;
        wp += w_step;
      }
      x_row += plan.input_row_step;
      w_row += plan.filter_row_step;
    }
  }
  acc.lo = lo;
  acc.hi = hi;
}

// Channels [k, k + n) (n <= 4, k a multiple of 4 in the chunk) of one position.
inline void Store4(int32x4_t v, const ChunkQuant& q, int32_t k, int32_t n, int32_t c0,
                   const PerChannelQuant& quant, int32_t output_offset, ActivationRange act,
                   int8_t* out) {
  if (n <= 0) return;
  if (q.fast[k / 4]) {
    mve_detail::RequantizeStore(v, q, k, act.min, act.max, out + k, n);
    return;
  }
  int32_t a[4];
  vstrwq_s32(a, v);
  for (int32_t j = 0; j < n; ++j) {
    out[k + j] = RequantizeToInt8(a[j], quant.multiplier[c0 + k + j],
                                  quant.shift[c0 + k + j], output_offset, act);
  }
}

}  // namespace

bool DepthwiseDm1Mve(const DepthwiseParams& params, const PerChannelQuant& quant,
                     const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                     const DepthwiseFilter& filter, const int32_t* bias, const Dims& output_dims,
                     int8_t* output) {
  const int32_t out_c = output_dims.c;
  if (params.depth_multiplier != 1 || input_dims.c != out_c || out_c <= 0) return false;
  const int32_t in_h = input_dims.h, in_w = input_dims.w, in_c = input_dims.c;
  const int32_t kh = filter_dims.h, kw = filter_dims.w;
  const int32_t taps = kh * kw;
  const int32_t output_offset = params.output_offset;
  const ActivationRange act = params.activation;
  const int64_t reach = static_cast<int64_t>(taps) * 255 * 128;

  ChunkQuant q;
  alignas(8) int32_t base[kMveChunk];     // the bias
  alignas(8) int32_t folded[kMveChunk];   // + input_offset * the channel's filter sum
  for (int32_t c0 = 0, count = 0; c0 < out_c; c0 += count) {
    // Chunks end where the filter's SRAM head ends: each reads one plain filter.
    const int32_t part_end = c0 < filter.head_channels ? filter.head_channels : out_c;
    count = part_end - c0 < kMveChunk ? part_end - c0 : kMveChunk;
    const int8_t* const f = filter.taps_of(c0) + c0;
    const int32_t f_stride = filter.stride_of(c0);
    mve_detail::PrepareChunkQuant(quant, bias, c0, count, reach, output_offset, act, &q);
    // Four channels' filter sums at a time (row-streamed chains call this once per row).
    for (int32_t k = 0; k < kMveChunk; k += 4) {
      const mve_pred16_t m = vctp32q(static_cast<uint32_t>(k < count ? count - k : 0));
      int32x4_t wsum = vdupq_n_s32(0);
      for (int32_t t = 0; t < taps; ++t) {
        wsum = vaddq_s32(wsum, vldrbq_z_s32(f + t * f_stride + k, m));
      }
      const int32x4_t b = bias != nullptr ? vldrwq_z_s32(bias + c0 + k, m) : vdupq_n_s32(0);
      vstrwq_s32(base + k, b);
      // Modulo 2^32 (VMUL keeps the low 32 bits), as every sum here.
      vstrwq_s32(folded + k, vaddq_s32(b, vmulq_n_s32(wsum, params.input_offset)));
    }
    for (int32_t b = 0; b < output_dims.n; ++b) {
      const int8_t* in_batch = input + b * in_h * in_w * in_c + c0;
      for (int32_t oy = 0; oy < output_dims.h; ++oy) {
        const int32_t in_y0 = oy * params.stride.h - params.padding.h;
        const Span taps_y = FilterTaps(in_y0, params.dilation.h, kh, in_h);
        for (int32_t ox = 0; ox < output_dims.w; ++ox) {
          const int32_t in_x0 = ox * params.stride.w - params.padding.w;
          const TapWindow win{taps_y, FilterTaps(in_x0, params.dilation.w, kw, in_w)};
          const WindowPlan plan =
              PlanWindow(win, in_y0, in_x0, params.dilation, in_w, in_c, kw, f_stride);
          const bool interior = plan.rows * plan.taps == taps;
          const int32_t* start = interior ? folded : base;
          int8_t* out = output + ((b * output_dims.h + oy) * output_dims.w + ox) * out_c + c0;
          for (int32_t k = 0; k < count; k += 8) {
            const int32_t n = count - k < 8 ? count - k : 8;
            Acc8 acc{vldrwq_s32(start + k), vldrwq_s32(start + k + 4)};
            if (interior) {
              WindowTaps<false>(plan, params.input_offset, in_batch + k, f + k, n,
                                acc);
            } else {
              WindowTaps<true>(plan, params.input_offset, in_batch + k, f + k, n,
                               acc);
            }
            Store4(acc.lo, q, k, n < 4 ? n : 4, c0, quant, output_offset, act, out);
            Store4(acc.hi, q, k + 4, n - 4, c0, quant, output_offset, act, out);
          }
        }
      }
    }
  }
  return true;
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_MVE
