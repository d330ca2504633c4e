// The inverse of a convolution's receptive field, shared by the gather-form input gradients
// (ConvInputGradRows, DepthwiseConvInputGrad): which output positions read input (ih, iw), and
// through which filter tap. One copy, so the tap order (and with it the per-element summation
// order the gradients document) is defined in one place.
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

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_OUTPUT_TAPS_H_
