#include "kernels/training/conv_grad.h"

#include "kernels/training/output_taps.h"

namespace tflm_train {

void ConvInputGrad(const ConvParams& params, const Dims& output_dims, const float* grad_output,
                   const Dims& filter_dims, const int8_t* filter, const float* filter_scales,
                   const Dims& input_dims, float* grad_input) {
  ConvInputGradRows(params, output_dims, grad_output, filter_dims,
                    WholeFilter(filter, filter_dims.h * filter_dims.w * input_dims.c),
                    filter_scales, input_dims, grad_input);
}

void ConvInputGradRows(const ConvParams& params, const Dims& output_dims,
                       const float* grad_output, const Dims& filter_dims,
                       const FilterRows& filter, const float* filter_scales,
                       const Dims& input_dims, float* grad_input) {
  const int32_t out_c = output_dims.c, in_c = input_dims.c;
  GatherInputGrad(params, input_dims, output_dims, filter_dims.h, filter_dims.w, grad_input,
                  [&](float* gin, int32_t o, int32_t tap) {
    const float* gout = grad_output + o * out_c;
    // Adding into gin[ci] tap by tap keeps the (ky, kx, co) order per element.
    for (int32_t co = 0; co < out_c; ++co) {
      const float g = gout[co] * filter_scales[co];
      const int8_t* w = filter.row(co) + tap * in_c;
      for (int32_t ci = 0; ci < in_c; ++ci) gin[ci] += g * static_cast<float>(w[ci]);
    }
  });
}

void PointwiseInputGradChannels(int32_t positions, int32_t out_c, const float* grad_output,
                                const FilterRows& filter, const float* filter_scales,
                                int32_t ci_begin, int32_t ci_end, float* grad_input) {
  const int32_t width = ci_end - ci_begin;
  for (int32_t p = 0; p < positions; ++p) {
    const float* gout = grad_output + p * out_c;
    float* gin = grad_input + p * width;
    for (int32_t j = 0; j < width; ++j) gin[j] = 0.0f;
    for (int32_t co = 0; co < out_c; ++co) {
      const float g = gout[co] * filter_scales[co];
      const int8_t* w = filter.row(co) + ci_begin;
      for (int32_t j = 0; j < width; ++j) gin[j] += g * static_cast<float>(w[j]);
    }
  }
}

void ConvFilterGrad(const ConvParams& params, const Dims& input_dims, const int8_t* input,
                    float input_scale, const Dims& output_dims, const float* grad_output,
                    const Dims& filter_dims, int32_t c_begin, int32_t c_end, float* grad_filter) {
  const int32_t in_c = input_dims.c, out_c = output_dims.c;
  const int32_t k_h = filter_dims.h, k_w = filter_dims.w;
  for (int32_t co = c_begin; co < c_end; ++co) {
    float* gw_co = grad_filter + (co - c_begin) * k_h * k_w * in_c;
    for (int32_t ky = 0; ky < k_h; ++ky) {
      for (int32_t kx = 0; kx < k_w; ++kx) {
        float* gw = gw_co + (ky * k_w + kx) * in_c;
        for (int32_t ci = 0; ci < in_c; ++ci) gw[ci] = 0.0f;
        ForEachTapPair(params, ky, kx, input_dims, output_dims, [&](int32_t o, int32_t i) {
          const float g = grad_output[o * out_c + co];
          const int8_t* x = input + i * in_c;
          for (int32_t ci = 0; ci < in_c; ++ci) {
            gw[ci] += g * static_cast<float>(static_cast<int32_t>(x[ci]) + params.input_offset);
          }
        });
        for (int32_t ci = 0; ci < in_c; ++ci) gw[ci] = gw[ci] * input_scale;
      }
    }
  }
}

}  // namespace tflm_train
