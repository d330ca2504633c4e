#include "kernels/conv.h"

#include <type_traits>

#include "kernels/conv_dsp.h"
#include "kernels/conv_pointwise_dsp.h"
#include "kernels/conv_pointwise_mve.h"
#include "kernels/conv_window.h"
#include "kernels/dot_product.h"

namespace tflm_train {

bool ConvPrepare(float input_scale, int32_t input_zero_point, const float* filter_scales,
                 int32_t num_filter_scales, float output_scale, int32_t output_zero_point,
                 const Dims& input_dims, const Dims& filter_dims, Tile stride, Tile dilation,
                 Padding padding, FusedActivation activation, ConvParams* params,
                 int32_t* multiplier, int32_t* shift, int32_t* out_h, int32_t* out_w) {
  if (num_filter_scales != 1 && num_filter_scales != filter_dims.n) return false;
  if (filter_dims.c <= 0 || input_dims.c % filter_dims.c != 0) return false;
  PrepareWindowParams(input_scale, input_zero_point, filter_scales, num_filter_scales,
                      output_scale, output_zero_point, input_dims, filter_dims, filter_dims.n,
                      stride, dilation, padding, activation, params, multiplier, shift, out_h,
                      out_w);
  return true;
}

namespace {

// The window of one output position for the conv loops: a WindowPlan plus the dot-product
// length per tap. Without groups and horizontal dilation the taps of a filter row are adjacent in
// both the input row and the filter (NHWC / OHWI), so a whole row is one dot product of
// width * channels (taps == 1) and no im2col buffer is needed.
struct ConvWindow {
  WindowPlan plan;
  int32_t length;
};

ConvWindow PlanConvWindow(const TapWindow& win, int32_t in_y0, int32_t in_x0, Tile dilation,
                          const Dims& input_dims, const Dims& filter_dims) {
  const int32_t f_c = filter_dims.c;
  ConvWindow w{PlanWindow(win, in_y0, in_x0, dilation, input_dims.w, input_dims.c,
                          filter_dims.w, f_c),
               f_c};
  if (f_c == input_dims.c && dilation.w == 1) {
    w.length = w.plan.taps * f_c;
    w.plan.taps = 1;
  }
  return w;
}

// acc0/acc1 += the window's products with the filters w0 / w1 (two output channels).
inline void AccumulateWindow(const ConvWindow& window, const int8_t* in, int32_t input_offset,
                             const int8_t* w0, const int8_t* w1, int32_t* acc0, int32_t* acc1) {
  const WindowPlan& p = window.plan;
  const int32_t length = window.length;
  // One contiguous segment (1x1 convolutions, or a window that is a single full-depth row):
  // skip the loop bookkeeping, this case dominates MobileNet-style models.
  if (p.rows == 1 && p.taps == 1) {
    DotPair(in + p.input, w0 + p.filter, w1 + p.filter, length, input_offset, 0, acc0, acc1);
    return;
  }
  const int8_t* in_row = in + p.input;
  int32_t f_row = p.filter;
  for (int32_t r = 0; r < p.rows; ++r) {
    const int8_t* in_tap = in_row;
    int32_t f_tap = f_row;
    for (int32_t t = 0; t < p.taps; ++t) {
      DotPair(in_tap, w0 + f_tap, w1 + f_tap, length, input_offset, 0, acc0, acc1);
      in_tap += p.input_tap_step;
      f_tap += p.filter_tap_step;
    }
    in_row += p.input_row_step;
    f_row += p.filter_row_step;
  }
}

// Each window row is one contiguous dot product (no groups, no horizontal dilation: every 1x1
// convolution, and stems like 3x3 over 3 channels).
inline bool RowsAreSegments(const ConvWindow& w) { return w.plan.taps == 1; }

// Two output positions whose windows have the same rows of the same length over the same filter
// taps (interior positions of a row): acc[0..3] as in DotPair2x2, row by row. kOneRow (every
// 1x1 convolution) is a separate instantiation: the row loop's bookkeeping would otherwise take
// registers from the dot product, which then spills.
template <bool kOneRow>
inline void AccumulateWindowPair(const ConvWindow& window, const ConvWindow& window1,
                                 const int8_t* in, int32_t input_offset, const int8_t* w0,
                                 const int8_t* w1, int32_t* acc) {
  const WindowPlan& p = window.plan;
  const int8_t* in0 = in + p.input;
  const int8_t* in1 = in + window1.plan.input;
  int32_t f = p.filter;
  if (kOneRow) {
    DotPair2x2(in0, in1, w0 + f, w1 + f, window.length, input_offset, acc);
    return;
  }
  for (int32_t r = 0; r < p.rows; ++r) {
    DotPair2x2(in0, in1, w0 + f, w1 + f, window.length, input_offset, acc);
    in0 += p.input_row_step;
    in1 += p.input_row_step;
    f += p.filter_row_step;
  }
}

}  // namespace

int32_t ConvInt8RowsGetBufferSize(const Dims& input_dims, const Dims& filter_dims,
                                  const Dims& output_dims) {
  const int32_t pointwise = ConvPointwiseDspGetBufferSize(input_dims, filter_dims, output_dims);
  const int32_t small = ConvSmallDepthDspGetBufferSize(input_dims, filter_dims, output_dims);
  return pointwise > small ? pointwise : small;
}

static_assert(kConvInt8RowsMaxBufferSize ==
                  32 * kConvPointwiseDspSliceGroups +
                      kConvPointwiseDspChannelBytes * (kConvPointwiseDspChunk + 1) &&
              kConvInt8RowsMaxBufferSize >= 4 * kConvSmallDepthDspMaxWeightWords,
              "the largest scratch of either DSP kernel");

void ConvInt8(const ConvParams& params, const PerChannelQuant& quant, const Dims& input_dims,
              const int8_t* input, const Dims& filter_dims, const int8_t* filter,
              const int32_t* bias, const Dims& output_dims, int8_t* output) {
  alignas(8) int8_t scratch[kConvInt8RowsMaxBufferSize];
  ConvInt8Rows(params, quant, input_dims, input, filter_dims,
               WholeFilter(filter, filter_dims.h * filter_dims.w * filter_dims.c), bias,
               output_dims, output, scratch);
}

void ConvInt8Rows(const ConvParams& params, const PerChannelQuant& quant,
                  const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                  const FilterRows& filter, const int32_t* bias, const Dims& output_dims,
                  int8_t* output, void* scratch) {
#if TFLM_TRAIN_KERNELS_MVE
  if (ConvPointwiseMve(params, quant, input_dims, input, filter_dims, filter, bias, output_dims,
                       output)) {
    return;
  }
#endif
#if TFLM_TRAIN_KERNELS_DSP
  // Small-depth windows (stems) and pointwise convolutions have their own kernels on the DSP
  // path (conv_dsp.h, conv_pointwise_dsp.h).
  if (ConvSmallDepthDsp(params, quant, input_dims, input, filter_dims, filter, bias, output_dims,
                        output, scratch) ||
      ConvPointwiseDsp(params, quant, input_dims, input, filter_dims, filter, bias, output_dims,
                       output, scratch)) {
    return;
  }
#else
  (void)scratch;  // the reference path needs none
#endif
  // Locals, not reads through params/quant: the int8 output stores may alias anything, which
  // would otherwise force a reload of every parameter after each output byte.
  const int32_t input_offset = params.input_offset, output_offset = params.output_offset;
  const ActivationRange activation = params.activation;
  const int32_t* const multiplier = quant.multiplier;
  const int32_t* const shift = quant.shift;
  const int32_t in_h = input_dims.h, in_w = input_dims.w, in_c = input_dims.c;
  const int32_t f_c = filter_dims.c;
  const int32_t out_h = output_dims.h, out_w = output_dims.w, out_c = output_dims.c;
  const int32_t groups = in_c / f_c;
  const int32_t filters_per_group = out_c / groups;
  for (int32_t b = 0; b < output_dims.n; ++b) {
    const int8_t* in_batch = input + b * in_h * in_w * in_c;
    for (int32_t oy = 0; oy < out_h; ++oy) {
      const int32_t in_y0 = oy * params.stride.h - params.padding.h;
      const Span taps_y = FilterTaps(in_y0, params.dilation.h, filter_dims.h, in_h);
      for (int32_t ox = 0; ox < out_w; ++ox) {
        const int32_t in_x0 = ox * params.stride.w - params.padding.w;
        const TapWindow win{taps_y, FilterTaps(in_x0, params.dilation.w, filter_dims.w, in_w)};
        const ConvWindow window =
            PlanConvWindow(win, in_y0, in_x0, params.dilation, input_dims, filter_dims);
        int8_t* out_px = output + ((b * out_h + oy) * out_w + ox) * out_c;
        // Two adjacent output positions whose windows are contiguous rows of the same shape
        // over the same filter taps (every 1x1 convolution; interior positions of stems like
        // 3x3 over 3 channels) go together: each filter word then serves both.
        if (ox + 1 < out_w && RowsAreSegments(window)) {
          const int32_t in_x1 = in_x0 + params.stride.w;
          const TapWindow win1{taps_y,
                               FilterTaps(in_x1, params.dilation.w, filter_dims.w, in_w)};
          const ConvWindow window1 =
              PlanConvWindow(win1, in_y0, in_x1, params.dilation, input_dims, filter_dims);
          if (RowsAreSegments(window1) && window1.plan.rows == window.plan.rows &&
              window1.length == window.length && window1.plan.filter == window.plan.filter) {
            int8_t* out_px1 = out_px + out_c;
            auto pair_channels = [&](auto one_row) {
              for (int32_t g = 0; g < groups; ++g) {
                const int8_t* in_group = in_batch + g * f_c;
                const int32_t oc_end = (g + 1) * filters_per_group;
                for (int32_t oc = g * filters_per_group; oc < oc_end; oc += 2) {
                  const int32_t oc1 = oc + 1 < oc_end ? oc + 1 : oc;
                  int32_t acc[4] = {0, 0, 0, 0};
                  if (bias != nullptr) {
                    acc[0] = acc[2] = bias[oc];
                    acc[1] = acc[3] = bias[oc1];
                  }
                  AccumulateWindowPair<decltype(one_row)::value>(
                      window, window1, in_group, input_offset, filter.row(oc), filter.row(oc1),
                      acc);
                  const int32_t m0 = multiplier[oc], s0 = shift[oc];
                  const int32_t m1 = multiplier[oc1], s1 = shift[oc1];
                  out_px[oc] = RequantizeToInt8(acc[0], m0, s0, output_offset, activation);
                  out_px[oc1] = RequantizeToInt8(acc[1], m1, s1, output_offset, activation);
                  out_px1[oc] = RequantizeToInt8(acc[2], m0, s0, output_offset, activation);
                  out_px1[oc1] = RequantizeToInt8(acc[3], m1, s1, output_offset, activation);
                }
              }
            };
            if (window.plan.rows == 1) {
              pair_channels(std::true_type{});
            } else {
              pair_channels(std::false_type{});
            }
            ++ox;
            continue;
          }
        }
        for (int32_t g = 0; g < groups; ++g) {
          const int32_t oc_end = (g + 1) * filters_per_group;
          // Output channels in pairs (they share every input load); an odd last channel is
          // paired with itself and its duplicate sum dropped.
          for (int32_t oc = g * filters_per_group; oc < oc_end; oc += 2) {
            const int32_t oc1 = oc + 1 < oc_end ? oc + 1 : oc;
            int32_t acc0 = bias != nullptr ? bias[oc] : 0;
            int32_t acc1 = bias != nullptr ? bias[oc1] : 0;
            AccumulateWindow(window, in_batch + g * f_c, input_offset, filter.row(oc),
                             filter.row(oc1), &acc0, &acc1);
            out_px[oc] =
                RequantizeToInt8(acc0, multiplier[oc], shift[oc], output_offset, activation);
            out_px[oc1] =
                RequantizeToInt8(acc1, multiplier[oc1], shift[oc1], output_offset, activation);
          }
        }
      }
    }
  }
}

}  // namespace tflm_train
