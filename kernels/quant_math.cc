#include "kernels/quant_math.h"

#include <cmath>

namespace tflm_train {

float RoundHalfAwayF(float x) { return std::round(x); }
double RoundHalfAway(double x) { return std::round(x); }

QuantMultiplier QuantizeMultiplier(double real_multiplier) {
  QuantMultiplier r{0, 0};
  if (real_multiplier == 0.0) return r;
  int exponent = 0;
  const double q = std::frexp(real_multiplier, &exponent);
  int64_t q_fixed = static_cast<int64_t>(RoundHalfAway(q * static_cast<double>(int64_t{1} << 31)));
  // Rounding can carry q up to exactly 1.0; renormalise so the multiplier fits in int32.
  if (q_fixed == (int64_t{1} << 31)) {
    q_fixed /= 2;
    ++exponent;
  }
  if (exponent < -31) {
    exponent = 0;
    q_fixed = 0;
  }
  if (exponent > 30) {
    exponent = 30;
    q_fixed = (int64_t{1} << 31) - 1;
  }
  r.multiplier = static_cast<int32_t>(q_fixed);
  r.shift = exponent;
  return r;
}

ActivationRange ActivationRangeInt8(FusedActivation act, float output_scale,
                                    int32_t output_zero_point) {
  const int32_t qmin = -128;
  const int32_t qmax = 127;
  auto quantize = [output_scale, output_zero_point](float f) {
    // A denormal output scale makes f / scale infinite: every value past the int8 range clamps
    // alike, so the quotient is bounded before the conversion (which would be undefined).
    float q = RoundHalfAwayF(f / output_scale);
    if (!(q < 16777216.0f)) q = 16777216.0f;
    if (q < -16777216.0f) q = -16777216.0f;
    return output_zero_point + static_cast<int32_t>(q);
  };
  ActivationRange r{qmin, qmax};
  switch (act) {
    case FusedActivation::kNone:
      break;
    case FusedActivation::kRelu: {
      const int32_t lo = quantize(0.0f);
      r.min = lo > qmin ? lo : qmin;
      break;
    }
    case FusedActivation::kRelu6: {
      const int32_t lo = quantize(0.0f);
      const int32_t hi = quantize(6.0f);
      r.min = lo > qmin ? lo : qmin;
      r.max = hi < qmax ? hi : qmax;
      break;
    }
    case FusedActivation::kReluN1To1: {
      const int32_t lo = quantize(-1.0f);
      const int32_t hi = quantize(1.0f);
      r.min = lo > qmin ? lo : qmin;
      r.max = hi < qmax ? hi : qmax;
      break;
    }
  }
  return r;
}

// Sizes, strides and dilations come from the model file: computed in 64 bits so hostile values
// cannot overflow (callers compare the result with the model's output shape and refuse a
// mismatch); results past int32 saturate.
namespace {
int32_t SaturateToInt32(int64_t v) {
  return v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : static_cast<int32_t>(v));
}
}  // namespace

int32_t ComputeOutSize(Padding padding, int32_t in_size, int32_t filter_size, int32_t stride,
                       int32_t dilation) {
  const int64_t effective_filter = (int64_t{filter_size} - 1) * dilation + 1;
  if (stride <= 0) return 0;
  if (padding == Padding::kSame) return SaturateToInt32((int64_t{in_size} + stride - 1) / stride);
  return SaturateToInt32((int64_t{in_size} + stride - effective_filter) / stride);
}

int32_t ComputePadding(int32_t stride, int32_t dilation, int32_t in_size, int32_t filter_size,
                       int32_t out_size) {
  const int64_t effective_filter = (int64_t{filter_size} - 1) * dilation + 1;
  int64_t total = (int64_t{out_size} - 1) * stride + effective_filter - in_size;
  if (total < 0) total = 0;
  return SaturateToInt32(total / 2);
}

void ResolvePadding(Padding padding, int32_t in_h, int32_t in_w, int32_t filter_h,
                    int32_t filter_w, Tile stride, Tile dilation, int32_t* out_h, int32_t* out_w,
                    Tile* pad) {
  *out_h = ComputeOutSize(padding, in_h, filter_h, stride.h, dilation.h);
  *out_w = ComputeOutSize(padding, in_w, filter_w, stride.w, dilation.w);
  pad->h = ComputePadding(stride.h, dilation.h, in_h, filter_h, *out_h);
  pad->w = ComputePadding(stride.w, dilation.w, in_w, filter_w, *out_w);
}

void PerChannelMultipliers(float input_scale, const float* filter_scales,
                           int32_t num_filter_scales, float output_scale, int32_t num_channels,
                           int32_t* multiplier, int32_t* shift) {
  for (int32_t c = 0; c < num_channels; ++c) {
    const float fs = num_filter_scales > 1 ? filter_scales[c] : filter_scales[0];
    const double effective = static_cast<double>(input_scale) * static_cast<double>(fs) /
                             static_cast<double>(output_scale);
    const QuantMultiplier q = QuantizeMultiplier(effective);
    multiplier[c] = q.multiplier;
    shift[c] = q.shift;
  }
}

QuantMultiplier PerTensorConvMultiplier(float input_scale, float filter_scale,
                                        float output_scale) {
  const double real = static_cast<double>(input_scale) * static_cast<double>(filter_scale) /
                      static_cast<double>(output_scale);
  return QuantizeMultiplier(real);
}

}  // namespace tflm_train
