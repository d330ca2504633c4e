#include "kernels/conv.h"

namespace tflm_train {

bool ConvPrepare(float input_scale, int32_t input_zero_point, const float* filter_scales,
                 int32_t num_filter_scales, float output_scale, int32_t output_zero_point,
                 const Dims& input_dims, const Dims& filter_dims, Tile stride, Tile dilation,
                 Padding padding, FusedActivation activation, ConvParams* params,
                 int32_t* multiplier, int32_t* shift, int32_t* out_h, int32_t* out_w) {
  if (num_filter_scales != 1 && num_filter_scales != filter_dims.n) return false;
  if (filter_dims.c <= 0 || input_dims.c % filter_dims.c != 0) return false;
  params->input_offset = -input_zero_point;
  params->output_offset = output_zero_point;
  params->stride = stride;
  params->dilation = dilation;
  ResolvePadding(padding, input_dims.h, input_dims.w, filter_dims.h, filter_dims.w, stride,
                 dilation, out_h, out_w, &params->padding);
  params->activation = ActivationRangeInt8(activation, output_scale, output_zero_point);
  PerChannelMultipliers(input_scale, filter_scales, num_filter_scales, output_scale,
                        filter_dims.n, multiplier, shift);
  return true;
}

void ConvInt8(const ConvParams& params, const PerChannelQuant& quant, const Dims& input_dims,
              const int8_t* input, const Dims& filter_dims, const int8_t* filter,
              const int32_t* bias, const Dims& output_dims, int8_t* output) {
  const int32_t in_h = input_dims.h, in_w = input_dims.w, in_c = input_dims.c;
  const int32_t f_h = filter_dims.h, f_w = filter_dims.w, f_c = filter_dims.c;
  const int32_t out_c = output_dims.c;
  const int32_t groups = in_c / f_c;
  const int32_t filters_per_group = out_c / groups;
  for (int32_t b = 0; b < output_dims.n; ++b) {
    for (int32_t oy = 0; oy < output_dims.h; ++oy) {
      const int32_t in_y0 = oy * params.stride.h - params.padding.h;
      for (int32_t ox = 0; ox < output_dims.w; ++ox) {
        const int32_t in_x0 = ox * params.stride.w - params.padding.w;
        for (int32_t oc = 0; oc < out_c; ++oc) {
          const int32_t group = oc / filters_per_group;
          int32_t acc = 0;
          for (int32_t fy = 0; fy < f_h; ++fy) {
            const int32_t iy = in_y0 + params.dilation.h * fy;
            if (iy < 0 || iy >= in_h) continue;
            for (int32_t fx = 0; fx < f_w; ++fx) {
              const int32_t ix = in_x0 + params.dilation.w * fx;
              if (ix < 0 || ix >= in_w) continue;
              const int8_t* in_px = input + ((b * in_h + iy) * in_w + ix) * in_c + group * f_c;
              const int8_t* f_px = filter + ((oc * f_h + fy) * f_w + fx) * f_c;
              for (int32_t ic = 0; ic < f_c; ++ic) {
                acc += static_cast<int32_t>(f_px[ic]) *
                       (static_cast<int32_t>(in_px[ic]) + params.input_offset);
              }
            }
          }
          if (bias != nullptr) acc += bias[oc];
          acc = MultiplyByQuantizedMultiplier(acc, quant.multiplier[oc], quant.shift[oc]);
          acc += params.output_offset;
          acc = ClampToRange(acc, params.activation.min, params.activation.max);
          output[((b * output_dims.h + oy) * output_dims.w + ox) * out_c + oc] =
              static_cast<int8_t>(acc);
        }
      }
    }
  }
}

}  // namespace tflm_train
