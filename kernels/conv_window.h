// Geometry and output stage shared by the convolution-like kernels. Geometry: which filter taps
// of a padded window fall inside the input. Skipping the others is what TFLM's reference kernels
// do (a padded position contributes (zero_point + input_offset) * w = 0), and computing the
// range once per output position keeps bounds checks out of the multiply-accumulate loops.
#ifndef TFLM_TRAIN_KERNELS_CONV_WINDOW_H_
#define TFLM_TRAIN_KERNELS_CONV_WINDOW_H_

#include <cstdint>

#include "kernels/kernel_path.h"
#include "kernels/quant_math.h"
#include "kernels/types.h"

namespace tflm_train {

// Filter taps [begin, end) along one axis whose input coordinate start + tap * dilation lies in
// [0, in_size); start = out * stride - padding. Empty (begin == end) if none does.
inline Span FilterTaps(int32_t start, int32_t dilation, int32_t filter_size, int32_t in_size) {
  // Smallest tap with start + tap * dilation >= 0 (ceiling division of a non-negative value).
  int32_t begin = start < 0 ? (dilation - 1 - start) / dilation : 0;
  // One past the largest tap with start + tap * dilation < in_size.
  int32_t end = start < in_size ? (in_size - start + dilation - 1) / dilation : 0;
  if (end > filter_size) end = filter_size;
  if (begin > end) begin = end;
  return Span{begin, end};
}

// The in-bounds taps of one output position's window.
struct TapWindow {
  Span y;
  Span x;
};

// Where one output position's in-bounds window lies, as element offsets from channel 0 of the
// batch's first pixel (NHWC input) and from the start of one output channel's filter (conv OHWI:
// taps f_c apart) or of the filter (depthwise 1HWO: taps out_c apart): the first in-bounds tap,
// then `rows` x `taps` taps at fixed steps. Computed once per output position so the
// per-channel loops only walk pointers.
struct WindowPlan {
  int32_t input;
  int32_t filter;
  int32_t rows;
  int32_t taps;
  int32_t input_row_step;
  int32_t input_tap_step;
  int32_t filter_row_step;
  int32_t filter_tap_step;
};

// in_y0/in_x0: input coordinates of the window's top-left tap (out * stride - padding).
inline WindowPlan PlanWindow(const TapWindow& win, int32_t in_y0, int32_t in_x0, Tile dilation,
                             int32_t in_w, int32_t in_c, int32_t filter_w,
                             int32_t filter_tap_stride) {
  WindowPlan p;
  p.input = ((in_y0 + dilation.h * win.y.begin) * in_w + in_x0 + dilation.w * win.x.begin) *
            in_c;
  p.filter = (win.y.begin * filter_w + win.x.begin) * filter_tap_stride;
  p.taps = win.x.end - win.x.begin;
  p.rows = p.taps > 0 ? win.y.end - win.y.begin : 0;
  p.input_row_step = dilation.h * in_w * in_c;
  p.input_tap_step = dilation.w * in_c;
  p.filter_row_step = filter_w * filter_tap_stride;
  p.filter_tap_step = filter_tap_stride;
  return p;
}

// The output stage every int8 kernel here shares: requantise (quant_math), add the output zero
// point, clamp to the fused activation. The zero point is added with two's-complement wrap-around
// (what a plain int32 add does on every target; written out because signed overflow is undefined
// in C++): with shift > 0 the requantised value can be within 127 of INT32_MAX, and both
// formulations must then wrap alike.
inline int8_t OffsetAndClamp(int32_t requantized, int32_t output_offset,
                             ActivationRange activation) {
  const int32_t v = static_cast<int32_t>(static_cast<uint32_t>(requantized) +
                                         static_cast<uint32_t>(output_offset));
  return static_cast<int8_t>(ClampToRange(v, activation.min, activation.max));
}

inline int8_t RequantizeToInt8Reference(int32_t acc, int32_t multiplier, int32_t shift,
                                        int32_t output_offset, ActivationRange activation) {
  return OffsetAndClamp(MultiplyByQuantizedMultiplier(acc, multiplier, shift), output_offset,
                        activation);
}

// Same bytes as the reference for every input (quant_math.h says why); about half the
// instructions on Cortex-M4/M7 (one SMLAL instead of a 64-bit division-style nudge and a
// masked rounding shift).
inline int8_t RequantizeToInt8Smull(int32_t acc, int32_t multiplier, int32_t shift,
                                    int32_t output_offset, ActivationRange activation) {
  return OffsetAndClamp(MultiplyByQuantizedMultiplierSmull(acc, multiplier, shift),
                        output_offset, activation);
}

// The part of TFLM's Prepare that conv and depthwise conv share: offsets, stride, dilation,
// resolved padding, activation range and (unless multiplier is null, when the caller already
// holds them) the per-channel multipliers of `channels` output channels.
template <typename Params>
void PrepareWindowParams(float input_scale, int32_t input_zero_point, const float* filter_scales,
                         int32_t num_filter_scales, float output_scale,
                         int32_t output_zero_point, const Dims& input_dims,
                         const Dims& filter_dims, int32_t channels, Tile stride, Tile dilation,
                         Padding padding, FusedActivation activation, Params* params,
                         int32_t* multiplier, int32_t* shift, int32_t* out_h, int32_t* out_w) {
  params->input_offset = -input_zero_point;
  params->output_offset = output_zero_point;
  params->stride = stride;
  params->dilation = dilation;
  ResolvePadding(padding, input_dims.h, input_dims.w, filter_dims.h, filter_dims.w, stride,
                 dilation, out_h, out_w, &params->padding);
  params->activation = ActivationRangeInt8(activation, output_scale, output_zero_point);
  if (multiplier != nullptr) {
    PerChannelMultipliers(input_scale, filter_scales, num_filter_scales, output_scale, channels,
                          multiplier, shift);
  }
}

// The multiply the kernel path (kernel_path.h) picks: the same bytes either way.
inline int32_t MultiplyByQuantizedMultiplierForPath(int32_t x, int32_t multiplier,
                                                    int32_t shift) {
#if TFLM_TRAIN_KERNELS_DSP
  return MultiplyByQuantizedMultiplierSmull(x, multiplier, shift);
#else
  return MultiplyByQuantizedMultiplier(x, multiplier, shift);
#endif
}

// What conv / depthwise / fully connected call: the kernel path (kernel_path.h) picks the
// formulation, so this is the only place the two paths differ in the output stage.
inline int8_t RequantizeToInt8(int32_t acc, int32_t multiplier, int32_t shift,
                               int32_t output_offset, ActivationRange activation) {
#if TFLM_TRAIN_KERNELS_DSP
  return RequantizeToInt8Smull(acc, multiplier, shift, output_offset, activation);
#else
  return RequantizeToInt8Reference(acc, multiplier, shift, output_offset, activation);
#endif
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_CONV_WINDOW_H_
