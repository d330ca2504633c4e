#include "kernels/training/conv_grad.h"

#include "kernels/training/grad_product.h"
#include "kernels/training/output_taps.h"
#include "kernels/training/vfp_asm.h"

namespace tflm_train {
namespace {

// A 1x1 filter at stride 1 without padding maps input position p to output position p alone:
// both gradients are then plain products over positions (grad_product.h), whose per-element
// sums are the gather / tap-pair loops' sums in the same order.
bool IsPointwise(const ConvParams& params, int32_t k_h, int32_t k_w, const Dims& input_dims,
                 const Dims& output_dims) {
  return k_h == 1 && k_w == 1 && params.stride.h == 1 && params.stride.w == 1 &&
         params.padding.h == 0 && params.padding.w == 0 && input_dims.n == output_dims.n &&
         input_dims.h == output_dims.h && input_dims.w == output_dims.w;
}

}  // namespace

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
  if (IsPointwise(params, filter_dims.h, filter_dims.w, input_dims, output_dims)) {
    GradTimesInt8Rows(input_dims.n * input_dims.h * input_dims.w, out_c, grad_output, out_c,
                      filter_scales, filter, 0, in_c, grad_input, in_c);
    return;
  }
  GatherInputGrad(params, input_dims, output_dims, filter_dims.h, filter_dims.w, grad_input,
                  [&](float* gin, int32_t o, int32_t tap) {
    const float* gout = grad_output + o * out_c;
    // Adding into gin[ci] tap by tap keeps the (ky, kx, co) order per element.
    for (int32_t co = 0; co < out_c; ++co) {
      const float g = gout[co] * filter_scales[co];
      const int8_t* w = filter.row(co) + tap * in_c;
      for (int32_t ci = 0; ci < in_c; ++ci) {
        gin[ci] = MulAdd(gin[ci], g, static_cast<float>(w[ci]));
      }
    }
  });
}

void PointwiseInputGradChannels(int32_t positions, int32_t out_c, const float* grad_output,
                                const FilterRows& filter, const float* filter_scales,
                                int32_t ci_begin, int32_t ci_end, float* grad_input) {
  const int32_t width = ci_end - ci_begin;
  GradTimesInt8Rows(positions, out_c, grad_output, out_c, filter_scales, filter, ci_begin, width,
                    grad_input, width);
}

void ConvFilterGrad(const ConvParams& params, const Dims& input_dims, const int8_t* input,
                    float input_scale, const Dims& output_dims, const float* grad_output,
                    const Dims& filter_dims, int32_t c_begin, int32_t c_end, float* grad_filter) {
  const int32_t in_c = input_dims.c, out_c = output_dims.c;
  const int32_t k_h = filter_dims.h, k_w = filter_dims.w;
  if (IsPointwise(params, k_h, k_w, input_dims, output_dims)) {
    GradTransposeTimesInt8(output_dims.n * output_dims.h * output_dims.w, grad_output, out_c,
                           c_begin, c_end, input, in_c, params.input_offset, in_c, input_scale,
                           grad_filter);
    return;
  }
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
            const int32_t xv = static_cast<int32_t>(x[ci]) + params.input_offset;
            gw[ci] = MulAdd(gw[ci], g, static_cast<float>(xv));
          }
        });
        for (int32_t ci = 0; ci < in_c; ++ci) gw[ci] = gw[ci] * input_scale;
      }
    }
  }
}

void ConvInputGradAccumulate(const ConvParams& params, const Dims& output_dims,
                             const float* grad_output, const Dims& filter_dims,
                             const FilterRows& filter, const float* filter_scales,
                             const Dims& input_dims, bool first, float* grad_input) {
  const int32_t out_c = output_dims.c, in_c = input_dims.c;
  const int32_t positions = input_dims.n * input_dims.h * input_dims.w;
  if (IsPointwise(params, filter_dims.h, filter_dims.w, input_dims, output_dims)) {
    if (first) {
      GradTimesInt8Rows(positions, out_c, grad_output, out_c, filter_scales, filter, 0, in_c,
                        grad_input, in_c);
    } else {
      GradTimesInt8RowsAccumulate(positions, out_c, grad_output, out_c, filter_scales, filter, 0,
                                  in_c, grad_input, in_c);
    }
    return;
  }
  // Output channel outermost, so that the terms of later calls (later channels) follow on.
  const int32_t out_h = output_dims.h, out_w = output_dims.w;
  for (int32_t n = 0; n < input_dims.n; ++n) {
    for (int32_t ih = 0; ih < input_dims.h; ++ih) {
      for (int32_t iw = 0; iw < input_dims.w; ++iw) {
        float* gin = grad_input + ((n * input_dims.h + ih) * input_dims.w + iw) * in_c;
        if (first) {
          for (int32_t ci = 0; ci < in_c; ++ci) gin[ci] = 0.0f;
        }
        for (int32_t co = 0; co < out_c; ++co) {
          const float scale = filter_scales[co];
          const int8_t* row = filter.row(co);
          ForEachOutputTap(params, ih, iw, filter_dims.h, filter_dims.w, out_h, out_w,
                           [&](int32_t oh, int32_t ow, int32_t tap) {
            const float g = grad_output[((n * out_h + oh) * out_w + ow) * out_c + co] * scale;
            const int8_t* w = row + tap * in_c;
            for (int32_t ci = 0; ci < in_c; ++ci) {
              gin[ci] = MulAdd(gin[ci], g, static_cast<float>(w[ci]));
            }
          });
        }
      }
    }
  }
}

}  // namespace tflm_train
