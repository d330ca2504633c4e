#include "kernels/depthwise_conv_dsp.h"

#if TFLM_TRAIN_KERNELS_DSP

#include "kernels/arm_simd.h"
#include "kernels/conv_window.h"
#include "kernels/quant_math.h"
#include "kernels/requant_dsp.h"

namespace tflm_train {

namespace {

// Taps of the largest window handled (8 x 8 covers the 3x3 / 5x5 / 7x7 of the zoo); its widened
// filter words take 2 * 4 * kMaxTaps bytes of stack.
constexpr int32_t kMaxTaps = 64;

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


struct RowGeometry;
template <bool kRightOnly>
inline void RequantizeStore4(const RowGeometry& geo, const GroupQuant& q, int32_t a0, int32_t a1,
                             int32_t a2, int32_t a3, int8_t* out);

struct RowGeometry {
  int32_t kh;            // window rows
  int32_t kw;            // window columns (used when KW == 0)
  int32_t x_tap;         // input bytes between horizontal taps: dilation.w * in_c
  int32_t x_row;         // input bytes between window rows: dilation.h * in_w * in_c
  int32_t x_step;        // input bytes between output positions: stride.w * in_c
  int32_t count;         // output positions in the row span
  int32_t out_c;         // output bytes between output positions
  int32_t filter_tap;    // filter bytes between taps (the channel count)
  int32_t output_offset;
  uint32_t act_lo, act_hi;  // activation bounds, Splat8
};

// The four channels' output bytes of one position, stored as one word.
template <bool kRightOnly>
inline void RequantizeStore4(const RowGeometry& geo, const GroupQuant& q, int32_t a0, int32_t a1,
                             int32_t a2, int32_t a3, int8_t* out) {
  const int32_t oo = geo.output_offset;
  const uint32_t packed = simd::PackBytes(OffsetSat8(Requantize<kRightOnly>(a0, q, 0), oo),
                                          OffsetSat8(Requantize<kRightOnly>(a1, q, 1), oo),
                                          OffsetSat8(Requantize<kRightOnly>(a2, q, 2), oo),
                                          OffsetSat8(Requantize<kRightOnly>(a3, q, 3), oo));
  simd::Store4(out, simd::ClampBytes(packed, geo.act_lo, geo.act_hi));
}

// One output row's interior span for four channels: x / out at the first position's
// channel oc. w: the window's filter words for these channels, widened (even / odd bytes
// alternate, tap by tap); base: bias + input_offset * (sum of the channel's taps), so the
// inputs need no offset add: every tap of an interior window is in bounds, and the sum is the
// reference's exact int32 sum regrouped. K: square window size, 0 = runtime (geo.kh x geo.kw).
// Not inlined: its unrolled loop then gets the whole register file, whatever the caller does.
template <int K, bool kRightOnly>
__attribute__((noinline)) void InteriorRow(const RowGeometry& geo, const uint32_t* w,
                                           const int32_t* base,
                 const GroupQuant& q, const int8_t* x, int8_t* out) {
  const int32_t kh = K > 0 ? K : geo.kh;
  const int32_t kw = K > 0 ? K : geo.kw;
  const int32_t x_tap = geo.x_tap, x_row = geo.x_row;
  for (int32_t n = geo.count; n > 0; --n) {
    int32_t a0 = base[0], a1 = base[1], a2 = base[2], a3 = base[3];
    const uint32_t* wp = w;
    const int8_t* xr = x;
    // Constant trip counts for K > 0: fully unrolled (GCC -O2 does not peel them by itself),
    // which leaves 9 instructions per tap for 4 channels.
#pragma GCC unroll 7
    for (int32_t r = 0; r < kh; ++r) {
      const int8_t* xp = xr;
#pragma GCC unroll 7
      for (int32_t t = 0; t < kw; ++t) {
        const uint32_t xv = simd::Load4(xp);
        const int32_t x_even = simd::EvenBytes(xv);  // channels 0, 2
        const int32_t x_odd = simd::OddBytes(xv);    // channels 1, 3
        const int32_t w_even = static_cast<int32_t>(wp[0]);
        const int32_t w_odd = static_cast<int32_t>(wp[1]);
        a0 = simd::MacLow(x_even, w_even, a0);
        a2 = simd::MacHigh(x_even, w_even, a2);
        a1 = simd::MacLow(x_odd, w_odd, a1);
        a3 = simd::MacHigh(x_odd, w_odd, a3);
        wp += 2;
        xp += x_tap;
      }
      xr += x_row;
    }
    RequantizeStore4<kRightOnly>(geo, q, a0, a1, a2, a3, out);
    x += geo.x_step;
    out += geo.out_c;
  }
}

template <bool kRightOnly>
void InteriorRowDispatch(const RowGeometry& geo, const uint32_t* w, const int32_t* base,
                         const GroupQuant& q, const int8_t* x, int8_t* out) {
  const int32_t k = geo.kh == geo.kw ? geo.kw : 0;
  if (k == 3) {
    InteriorRow<3, kRightOnly>(geo, w, base, q, x, out);
  } else if (k == 5) {
    InteriorRow<5, kRightOnly>(geo, w, base, q, x, out);
  } else if (k == 7) {
    InteriorRow<7, kRightOnly>(geo, w, base, q, x, out);
  } else {
    InteriorRow<0, kRightOnly>(geo, w, base, q, x, out);
  }
}

// One position whose window is cut by the input's edge (or padding): only its in-bounds taps,
// found as the reference does (FilterTaps), with the input offset added per tap because the
// folded base covers whole windows only. in_batch at channel oc; bias4: the channels' biases.
template <bool kRightOnly>
void BorderPosition(const RowGeometry& geo, const DepthwiseParams& params, const Dims& in_dims,
                    int32_t kw, const uint32_t* w, const int32_t* bias4, const GroupQuant& q,
                    const int8_t* in_batch, int32_t in_y0, int32_t in_x0, int8_t* out) {
  const Span ty = FilterTaps(in_y0, params.dilation.h, geo.kh, in_dims.h);
  const Span tx = FilterTaps(in_x0, params.dilation.w, kw, in_dims.w);
  int32_t a0 = bias4[0], a1 = bias4[1], a2 = bias4[2], a3 = bias4[3];
  const uint32_t xo = simd::Splat16(params.input_offset);
  const int32_t taps = tx.end - tx.begin;
  if (taps > 0) {
    const int8_t* xr = in_batch + ((in_y0 + ty.begin * params.dilation.h) * in_dims.w + in_x0 +
                                   tx.begin * params.dilation.w) * in_dims.c;
    const uint32_t* wr = w + 2 * (ty.begin * kw + tx.begin);
    for (int32_t r = ty.begin; r < ty.end; ++r) {
      const int8_t* xp = xr;
      const uint32_t* wp = wr;
      for (int32_t t = 0; t < taps; ++t) {
        const uint32_t xv = simd::Load4(xp);
        const int32_t x_even = simd::EvenBytesPlus(xo, xv);
        const int32_t x_odd = simd::OddBytesPlus(xo, xv);
        a0 = simd::MacLow(x_even, static_cast<int32_t>(wp[0]), a0);
        a2 = simd::MacHigh(x_even, static_cast<int32_t>(wp[0]), a2);
        a1 = simd::MacLow(x_odd, static_cast<int32_t>(wp[1]), a1);
        a3 = simd::MacHigh(x_odd, static_cast<int32_t>(wp[1]), a3);
        wp += 2;
        xp += geo.x_tap;
      }
      xr += geo.x_row;
      wr += 2 * kw;
    }
  }
  RequantizeStore4<kRightOnly>(geo, q, a0, a1, a2, a3, out);
}

// A border column (output x whose window is cut by the left or right edge) as a whole window
// shifted by `shift` taps to lie inside the input: its tap kx reads the input of the original
// tap kx + shift, so the original in-bounds taps [begin, end) keep their weights and the others
// get weight 0. False when no such window fits (input narrower than the window).
struct ColumnShift {
  int32_t begin, end, shift, x;  // x: input x of the shifted window's first tap
};

inline bool ShiftColumn(int32_t in_x0, int32_t dilation, int32_t kw, int32_t in_w,
                        ColumnShift* c) {
  const Span t = FilterTaps(in_x0, dilation, kw, in_w);
  if (t.begin == t.end) return false;
  c->begin = t.begin;
  c->end = t.end;
  c->shift = in_x0 < 0 ? t.begin : t.end - kw;
  c->x = in_x0 + c->shift * dilation;
  return c->x >= 0 && c->x + (kw - 1) * dilation < in_w;
}

// Every output position of one batch for four channels: interior spans through InteriorRow,
// border columns of the interior rows through InteriorRow down the column with shifted
// weights, the rest through BorderPosition. f: the group's first filter byte (tap 0).
template <bool kRightOnly>
void ChannelGroup(const RowGeometry& geo, const DepthwiseParams& params, const Dims& in_dims,
                  const Dims& out_dims, const InteriorRect& r, int32_t kw, const uint32_t* w,
                  const int32_t* base, const int32_t* bias4, const GroupQuant& q,
                  const int8_t* f, const int8_t* in_batch, int8_t* out_batch) {
  const int32_t out_c = geo.out_c;
  const int32_t kh = geo.kh;
  const int32_t rows = r.y_end - r.y_begin;
  // The shifted weights cost about as much as a few border positions: only for longer columns
  // (not for the one-row calls of a row-streamed chain).
  const bool by_column = rows >= 4;
  if (by_column) {
    // Down a column: one position per interior row.
    RowGeometry col = geo;
    col.count = rows;
    col.x_step = params.stride.h * in_dims.w * in_dims.c;
    col.out_c = out_dims.w * out_c;
    const int32_t in_y0 = r.y_begin * params.stride.h - params.padding.h;
    for (int32_t ox = 0; ox < out_dims.w; ++ox) {
      if (ox == r.x_begin && r.x_begin < r.x_end) {
        ox = r.x_end - 1;
        continue;
      }
      ColumnShift c;
      if (!ShiftColumn(ox * params.stride.w - params.padding.w, params.dilation.w, kw,
                       in_dims.w, &c)) {
        continue;
      }
      uint32_t ws[2 * kMaxTaps];
      int32_t base_s[4] = {bias4[0], bias4[1], bias4[2], bias4[3]};
      for (int32_t ky = 0; ky < kh; ++ky) {
        for (int32_t kx = 0; kx < kw; ++kx) {
          const int32_t t = ky * kw + kx, src = kx + c.shift;
          const bool kept = src >= c.begin && src < c.end;
          ws[2 * t] = kept ? w[2 * (ky * kw + src)] : 0;
          ws[2 * t + 1] = kept ? w[2 * (ky * kw + src) + 1] : 0;
          if (kept) {
            const int8_t* fs = f + (ky * kw + src) * geo.filter_tap;
            // Wrapping adds, as for the whole-window base.
            for (int k = 0; k < 4; ++k) {
              base_s[k] = static_cast<int32_t>(static_cast<uint32_t>(base_s[k]) +
                                               static_cast<uint32_t>(params.input_offset * fs[k]));
            }
          }
        }
      }
      InteriorRowDispatch<kRightOnly>(col, ws, base_s, q,
                                      in_batch + (in_y0 * in_dims.w + c.x) * in_dims.c,
                                      out_batch + (r.y_begin * out_dims.w + ox) * out_c);
    }
  }
  for (int32_t oy = 0; oy < out_dims.h; ++oy) {
    const int32_t in_y0 = oy * params.stride.h - params.padding.h;
    int8_t* out_row = out_batch + oy * out_dims.w * out_c;
    const bool row_interior = oy >= r.y_begin && oy < r.y_end;
    const bool column_done = by_column && row_interior;
    for (int32_t ox = 0; ox < out_dims.w; ++ox) {
      const int32_t in_x0 = ox * params.stride.w - params.padding.w;
      if (row_interior) {
        if (ox == r.x_begin && r.x_begin < r.x_end) {
          InteriorRowDispatch<kRightOnly>(geo, w, base, q,
                                          in_batch + (in_y0 * in_dims.w + in_x0) * in_dims.c,
                                          out_row + ox * out_c);
          ox = r.x_end - 1;
          continue;
        }
        ColumnShift c;
        if (column_done && ShiftColumn(in_x0, params.dilation.w, kw, in_dims.w, &c)) continue;
      }
      BorderPosition<kRightOnly>(geo, params, in_dims, kw, w, bias4, q, in_batch, in_y0, in_x0,
                                 out_row + ox * out_c);
    }
  }
}

}  // namespace

int32_t DepthwiseDm1Dsp(const DepthwiseParams& params, const PerChannelQuant& quant,
                        const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                        const int8_t* filter, const int32_t* bias, const Dims& output_dims,
                        int8_t* output) {
  const int32_t kh = filter_dims.h, kw = filter_dims.w;
  const int32_t in_h = input_dims.h, in_w = input_dims.w, in_c = input_dims.c;
  const int32_t out_c = output_dims.c;
  if (params.depth_multiplier != 1 || out_c < 4 || kh * kw > kMaxTaps || kh <= 0 || kw <= 0) {
    return 0;
  }
  if (params.padding.h < 0 || params.padding.w < 0) return 0;
  InteriorRect r;
  InteriorSpan(params.padding.h, params.stride.h, kh, params.dilation.h, in_h, output_dims.h,
               &r.y_begin, &r.y_end);
  InteriorSpan(params.padding.w, params.stride.w, kw, params.dilation.w, in_w, output_dims.w,
               &r.x_begin, &r.x_end);

  RowGeometry geo;
  geo.kh = kh;
  geo.kw = kw;
  geo.x_tap = params.dilation.w * in_c;
  geo.x_row = params.dilation.h * in_w * in_c;
  geo.x_step = params.stride.w * in_c;
  geo.count = r.x_end - r.x_begin;
  geo.out_c = out_c;
  geo.filter_tap = out_c;
  geo.output_offset = params.output_offset;
  geo.act_lo = simd::Splat8(params.activation.min);
  geo.act_hi = simd::Splat8(params.activation.max);
  const int32_t input_offset = params.input_offset;
  const int32_t taps = kh * kw;
  const int32_t channels = out_c & ~3;

  uint32_t w[2 * kMaxTaps];
  for (int32_t oc = 0; oc < channels; oc += 4) {
    // Widen this group's filter once; fold the input offset into the bias for the interior
    // (whole windows: sum_t w_t * (x_t + off) = sum_t w_t * x_t + off * sum_t w_t).
    int32_t sum[4] = {0, 0, 0, 0};
    for (int32_t t = 0; t < taps; ++t) {
      const int8_t* f = filter + t * out_c + oc;
      const uint32_t v = simd::Load4(f);
      w[2 * t] = static_cast<uint32_t>(simd::EvenBytes(v));
      w[2 * t + 1] = static_cast<uint32_t>(simd::OddBytes(v));
      for (int k = 0; k < 4; ++k) sum[k] += f[k];
    }
    int32_t bias4[4], base[4];
    GroupQuant q;
    bool right_only = true;
    for (int k = 0; k < 4; ++k) {
      bias4[k] = bias != nullptr ? bias[oc + k] : 0;
      // |sum| <= 64 * 128 and |input_offset| <= 255: the product is far inside int32; the add
      // wraps as the reference's accumulation would.
      base[k] = static_cast<int32_t>(static_cast<uint32_t>(bias4[k]) +
                                     static_cast<uint32_t>(input_offset * sum[k]));
      const int32_t s = quant.shift[oc + k];
      q.multiplier[k] = quant.multiplier[oc + k];
      q.left[k] = s > 0 ? s : 0;
      q.right[k] = s > 0 ? 0 : -s;
      if (q.left[k] != 0 || q.right[k] == 0) right_only = false;
    }
    for (int32_t b = 0; b < output_dims.n; ++b) {
      const int8_t* in_batch = input + b * in_h * in_w * in_c + oc;
      int8_t* out_batch = output + b * output_dims.h * output_dims.w * out_c + oc;
      if (right_only) {
        ChannelGroup<true>(geo, params, input_dims, output_dims, r, kw, w, base, bias4, q,
                           filter + oc, in_batch, out_batch);
      } else {
        ChannelGroup<false>(geo, params, input_dims, output_dims, r, kw, w, base, bias4, q,
                            filter + oc, in_batch, out_batch);
      }
    }
  }
  return channels;
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DSP
