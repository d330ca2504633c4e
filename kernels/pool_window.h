// The walk over pooling windows shared by the forward pools (average_pool.cc, max_pool.cc) and
// their gradients (training/average_pool_grad.cc, training/max_pool_grad.cc), so that all four
// agree on which input rows and columns each output position covers (PoolWindow).
#ifndef TFLM_TRAIN_KERNELS_POOL_WINDOW_H_
#define TFLM_TRAIN_KERNELS_POOL_WINDOW_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

// Calls visit(n, position, ys, xs) for every output position in (n, oh, ow) increasing order;
// position = (n * out_h + oh) * out_w + ow (the output element is position * depth + c), ys/xs
// the in-bounds input rows/columns of its window (possibly empty). Stops at, and returns false
// for, the first visit that returns false.
template <typename Visit>
inline bool ForEachPoolWindow(const PoolParams& params, const Dims& input_dims,
                              const Dims& output_dims, Visit&& visit) {
  for (int32_t n = 0; n < output_dims.n; ++n) {
    for (int32_t oh = 0; oh < output_dims.h; ++oh) {
      const Span ys =
          PoolWindow(oh, params.stride.h, params.padding.h, params.filter.h, input_dims.h);
      for (int32_t ow = 0; ow < output_dims.w; ++ow) {
        const Span xs =
            PoolWindow(ow, params.stride.w, params.padding.w, params.filter.w, input_dims.w);
        if (!visit(n, (n * output_dims.h + oh) * output_dims.w + ow, ys, xs)) return false;
      }
    }
  }
  return true;
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_POOL_WINDOW_H_
