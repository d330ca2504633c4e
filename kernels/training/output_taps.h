// A convolution's receptive field walked both ways, shared by the conv and depthwise gradients:
// which output positions read input (ih, iw) and through which filter tap (the gather-form
// input gradients), and which (output, input) position pairs a filter tap connects (the filter
// gradients). One copy, so the visiting order (and with it the per-element summation order the
// gradients document) is defined in one place.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_OUTPUT_TAPS_H_
#define TFLM_TRAIN_KERNELS_TRAINING_OUTPUT_TAPS_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

// Calls visit(oh, ow, tap) for every filter tap (ky, kx), ky then kx increasing, tap =
// ky * k_w + kx, whose output position (oh, ow) < (out_h, out_w) reads input (ih, iw), i.e.
// oh * stride - padding + ky * dilation == ih. Params: ConvParams or DepthwiseParams (stride,
// padding, dilation).
template <typename Params, typename Visit>
inline void ForEachOutputTap(const Params& params, int32_t ih, int32_t iw, int32_t k_h,
                             int32_t k_w, int32_t out_h, int32_t out_w, Visit&& visit) {
  for (int32_t ky = 0; ky < k_h; ++ky) {
    const int32_t ty = ih + params.padding.h - ky * params.dilation.h;
    if (ty < 0) break;  // ty only decreases with ky
    if (ty % params.stride.h != 0) continue;
    const int32_t oh = ty / params.stride.h;
    if (oh >= out_h) continue;
    for (int32_t kx = 0; kx < k_w; ++kx) {
      const int32_t tx = iw + params.padding.w - kx * params.dilation.w;
      if (tx < 0) break;
      if (tx % params.stride.w != 0) continue;
      const int32_t ow = tx / params.stride.w;
      if (ow >= out_w) continue;
      visit(oh, ow, ky * k_w + kx);
    }
  }
}

// The gather form of an input gradient: for every input position (n, ih, iw), increasing, zeroes
// its in_c gradient floats gin and calls visit(gin, out_pos, tap) for each output tap reading it
// (ForEachOutputTap order), out_pos = (n * out_h + oh) * out_w + ow. Gather rather than scatter:
// each element sums its own terms in an explicit order, with no zeroing pass over grad_input.
template <typename Params, typename Visit>
inline void GatherInputGrad(const Params& params, const Dims& input_dims, const Dims& output_dims,
                            int32_t k_h, int32_t k_w, float* grad_input, Visit&& visit) {
  const int32_t in_h = input_dims.h, in_w = input_dims.w, in_c = input_dims.c;
  const int32_t out_h = output_dims.h, out_w = output_dims.w;
  for (int32_t n = 0; n < input_dims.n; ++n) {
    for (int32_t ih = 0; ih < in_h; ++ih) {
      for (int32_t iw = 0; iw < in_w; ++iw) {
        float* gin = grad_input + ((n * in_h + ih) * in_w + iw) * in_c;
        for (int32_t ci = 0; ci < in_c; ++ci) gin[ci] = 0.0f;
        ForEachOutputTap(params, ih, iw, k_h, k_w, out_h, out_w,
                         [&](int32_t oh, int32_t ow, int32_t tap) {
          visit(gin, (n * out_h + oh) * out_w + ow, tap);
        });
      }
    }
  }
}

// Calls visit(out_pos, in_pos) for every output position (n, oh, ow), in increasing order, that
// reads an in-bounds input through filter tap (ky, kx): out_pos = (n * out_h + oh) * out_w + ow,
// in_pos = (n * in_h + ih) * in_w + iw with ih = oh * stride - padding + ky * dilation (likewise
// iw); padded taps are skipped (their real value is 0).
template <typename Params, typename Visit>
inline void ForEachTapPair(const Params& params, int32_t ky, int32_t kx, const Dims& input_dims,
                           const Dims& output_dims, Visit&& visit) {
  const int32_t in_h = input_dims.h, in_w = input_dims.w;
  const int32_t out_h = output_dims.h, out_w = output_dims.w;
  for (int32_t n = 0; n < output_dims.n; ++n) {
    for (int32_t oh = 0; oh < out_h; ++oh) {
      const int32_t ih = oh * params.stride.h - params.padding.h + ky * params.dilation.h;
      if (ih < 0 || ih >= in_h) continue;
      for (int32_t ow = 0; ow < out_w; ++ow) {
        const int32_t iw = ow * params.stride.w - params.padding.w + kx * params.dilation.w;
        if (iw < 0 || iw >= in_w) continue;
        visit((n * out_h + oh) * out_w + ow, (n * in_h + ih) * in_w + iw);
      }
    }
  }
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_OUTPUT_TAPS_H_
