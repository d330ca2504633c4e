#include "kernels/depthwise_conv.h"

#include "kernels/conv_window.h"
#include "kernels/depthwise_conv_dsp.h"
#include "kernels/depthwise_conv_mve.h"
#include "kernels/dot_product.h"

namespace tflm_train {

bool DepthwiseConvPrepare(float input_scale, int32_t input_zero_point, const float* filter_scales,
                          int32_t num_filter_scales, float output_scale,
                          int32_t output_zero_point, const Dims& input_dims,
                          const Dims& filter_dims, int32_t depth_multiplier, Tile stride,
                          Tile dilation, Padding padding, FusedActivation activation,
                          DepthwiseParams* params, int32_t* multiplier, int32_t* shift,
                          int32_t* out_h, int32_t* out_w) {
  const int32_t out_c = filter_dims.c;
  if (depth_multiplier <= 0 || input_dims.c * depth_multiplier != out_c) return false;
  if (num_filter_scales != 1 && num_filter_scales != out_c) return false;
  params->depth_multiplier = depth_multiplier;
  PrepareWindowParams(input_scale, input_zero_point, filter_scales, num_filter_scales,
                      output_scale, output_zero_point, input_dims, filter_dims, out_c, stride,
                      dilation, padding, activation, params, multiplier, shift, out_h, out_w);
  return true;
}

namespace {

// acc += the window's products for one channel (Acc = int32_t) or four adjacent channels
// (Acc = Lanes4); `x` points at the first channel's input in the batch's first pixel, `w` at its
// output channel in the filter.
template <typename Acc>
inline void AccumulateTaps(const WindowPlan& p, int32_t input_offset, const int8_t* x,
                           const int8_t* w, Acc& acc) {
  const int8_t* x_row = x + p.input;
  const int8_t* w_row = w + p.filter;
  const int32_t x_step = p.input_tap_step, w_step = p.filter_tap_step;
  for (int32_t r = 0; r < p.rows; ++r) {
    const int8_t* xp = x_row;
    const int8_t* wp = w_row;
    const int8_t* const w_end = w_row + p.taps * w_step;
    while (wp != w_end) {
      MacTap(xp, wp, input_offset, acc);
      xp += x_step;
      wp += w_step;
    }
    x_row += p.input_row_step;
    w_row += p.filter_row_step;
  }
}

// Two output positions whose windows cover the same taps, the second's input dx bytes after
// the first's: a / b as AccumulateTaps would give them.
inline void AccumulateTapsPair(const WindowPlan& p, int32_t dx, int32_t input_offset,
                               const int8_t* x, const int8_t* w, Lanes4& a, Lanes4& b) {
  const int8_t* x_row = x + p.input;
  const int8_t* w_row = w + p.filter;
  const int32_t x_step = p.input_tap_step, w_step = p.filter_tap_step;
  for (int32_t r = 0; r < p.rows; ++r) {
    const int8_t* xp = x_row;
    const int8_t* wp = w_row;
    const int8_t* const w_end = w_row + p.taps * w_step;
    while (wp != w_end) {
      MacTap2(xp, dx, wp, input_offset, a, b);
      xp += x_step;
      wp += w_step;
    }
    x_row += p.input_row_step;
    w_row += p.filter_row_step;
  }
}

}  // namespace

int32_t DepthwiseConvInt8GetBufferSize(const Dims& input_dims, const Dims& filter_dims,
                                       const Dims& output_dims) {
  return DepthwiseDm1DspGetBufferSize(input_dims, filter_dims, output_dims);
}

static_assert(kDepthwiseConvInt8MaxBufferSize ==
                  kDepthwiseDspGroupBytes + kDepthwiseDspPatchBytes,
              "the DSP kernel's scratch");

void DepthwiseConvInt8(const DepthwiseParams& params, const PerChannelQuant& quant,
                       const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                       const DepthwiseFilter& filter, const int32_t* bias,
                       const Dims& output_dims, int8_t* output, void* scratch) {
  // Locals, not reads through params/quant: the int8 output stores may alias anything, which
  // would otherwise force a reload of every parameter after each output byte.
  const int32_t input_offset = params.input_offset, output_offset = params.output_offset;
  const ActivationRange activation = params.activation;
  const int32_t* const multiplier = quant.multiplier;
  const int32_t* const shift = quant.shift;
  const int32_t in_h = input_dims.h, in_w = input_dims.w, in_c = input_dims.c;
  const int32_t f_w = filter_dims.w;
  const int32_t out_c = output_dims.c;
  const int32_t dm = params.depth_multiplier;
  // DSP path: channels [0, dsp_c) are already done (depthwise_conv_dsp.h); the loops below
  // compute the rest. The reference path computes all of them here.
#if TFLM_TRAIN_KERNELS_MVE
  if (DepthwiseDm1Mve(params, quant, input_dims, input, filter_dims, filter, bias, output_dims,
                      output)) {
    return;
  }
#endif
#if TFLM_TRAIN_KERNELS_DSP
  const int32_t dsp_c = DepthwiseDm1Dsp(params, quant, input_dims, input, filter_dims, filter,
                                        bias, output_dims, output, scratch);
  if (dsp_c == out_c) return;
#else
  const int32_t dsp_c = 0;
  (void)scratch;  // the reference path needs none
#endif
  // The channels in the filter's SRAM head, then those in flash: each part one plain filter
  // (filter_w taps of f_stride bytes per row); every output channel reads only its own.
  const int32_t head_end = filter.head_channels < out_c ? filter.head_channels : out_c;
  for (int32_t part = 0; part < 2; ++part) {
    const int32_t c_begin = part == 0 ? dsp_c : (head_end > dsp_c ? head_end : dsp_c);
    const int32_t c_end = part == 0 ? head_end : out_c;
    if (c_begin >= c_end) continue;
    const int8_t* const filter_part = part == 0 ? filter.head : filter.base;
    const int32_t f_stride = part == 0 ? filter.head_stride : filter.base_stride;
    for (int32_t b = 0; b < output_dims.n; ++b) {
      const int8_t* in_batch = input + b * in_h * in_w * in_c;
      for (int32_t oy = 0; oy < output_dims.h; ++oy) {
        const int32_t in_y0 = oy * params.stride.h - params.padding.h;
        const Span taps_y = FilterTaps(in_y0, params.dilation.h, filter_dims.h, in_h);
        for (int32_t ox = 0; ox < output_dims.w; ++ox) {
          const int32_t in_x0 = ox * params.stride.w - params.padding.w;
          const TapWindow win{taps_y, FilterTaps(in_x0, params.dilation.w, f_w, in_w)};
          const WindowPlan plan =
              PlanWindow(win, in_y0, in_x0, params.dilation, in_w, in_c, f_w, f_stride);
          int8_t* out_px = output + ((b * output_dims.h + oy) * output_dims.w + ox) * out_c;
          int32_t oc = c_begin;
          // Depth multiplier 1 (the common case): input channel == output channel, so four
          // adjacent channels are four adjacent bytes in both the input and the filter.
          if (dm == 1 && dsp_c == 0) {
            // Two adjacent output positions whose windows cover the same taps (interior
            // positions) go together: each filter word then serves both.
            if (ox + 1 < output_dims.w) {
              const int32_t in_x1 = in_x0 + params.stride.w;
              const TapWindow win1{taps_y, FilterTaps(in_x1, params.dilation.w, f_w, in_w)};
              const WindowPlan plan1 =
                  PlanWindow(win1, in_y0, in_x1, params.dilation, in_w, in_c, f_w, f_stride);
              if (plan1.taps == plan.taps && plan1.filter == plan.filter && out_c >= 4) {
                const int32_t dx = plan1.input - plan.input;
                int8_t* out_px1 = out_px + out_c;
                for (; oc + 4 <= c_end; oc += 4) {
                  Lanes4 a{0, 0, 0, 0};
                  if (bias != nullptr) {
                    a = Lanes4{bias[oc], bias[oc + 1], bias[oc + 2], bias[oc + 3]};
                  }
                  Lanes4 c = a;
                  AccumulateTapsPair(plan, dx, input_offset, in_batch + oc, filter_part + oc, a,
                                     c);
                  const int32_t acc_a[4] = {a.c0, a.c1, a.c2, a.c3};
                  const int32_t acc_c[4] = {c.c0, c.c1, c.c2, c.c3};
                  for (int32_t k = 0; k < 4; ++k) {
                    const int32_t m = multiplier[oc + k], s = shift[oc + k];
                    out_px[oc + k] = RequantizeToInt8(acc_a[k], m, s, output_offset, activation);
                    out_px1[oc + k] =
                        RequantizeToInt8(acc_c[k], m, s, output_offset, activation);
                  }
                }
                // Remaining channels one at a time, for both positions.
                for (; oc < c_end; ++oc) {
                  int32_t acc = bias != nullptr ? bias[oc] : 0;
                  int32_t acc1 = acc;
                  AccumulateTaps(plan, input_offset, in_batch + oc, filter_part + oc, acc);
                  AccumulateTaps(plan1, input_offset, in_batch + oc, filter_part + oc, acc1);
                  out_px[oc] =
                      RequantizeToInt8(acc, multiplier[oc], shift[oc], output_offset, activation);
                  out_px1[oc] = RequantizeToInt8(acc1, multiplier[oc], shift[oc], output_offset,
                                                 activation);
                }
                ++ox;
                continue;
              }
            }
            for (; oc + 4 <= c_end; oc += 4) {
              Lanes4 acc{0, 0, 0, 0};
              if (bias != nullptr) {
                acc = Lanes4{bias[oc], bias[oc + 1], bias[oc + 2], bias[oc + 3]};
              }
              AccumulateTaps(plan, input_offset, in_batch + oc, filter_part + oc, acc);
              out_px[oc] = RequantizeToInt8(acc.c0, multiplier[oc], shift[oc], output_offset,
                                            activation);
              out_px[oc + 1] = RequantizeToInt8(acc.c1, multiplier[oc + 1], shift[oc + 1],
                                                output_offset, activation);
              out_px[oc + 2] = RequantizeToInt8(acc.c2, multiplier[oc + 2], shift[oc + 2],
                                                output_offset, activation);
              out_px[oc + 3] = RequantizeToInt8(acc.c3, multiplier[oc + 3], shift[oc + 3],
                                                output_offset, activation);
            }
          }
          // Remaining channels one at a time; output channel oc reads input channel oc / dm.
          for (; oc < c_end; ++oc) {
            int32_t acc = bias != nullptr ? bias[oc] : 0;
            AccumulateTaps(plan, input_offset, in_batch + oc / dm, filter_part + oc, acc);
            out_px[oc] =
                RequantizeToInt8(acc, multiplier[oc], shift[oc], output_offset, activation);
          }
        }
      }
    }
  }
}

}  // namespace tflm_train
