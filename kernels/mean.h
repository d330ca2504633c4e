// int8 MEAN over the spatial axes (H, W) of an NHWC tensor; the output is N x C (keep_dims only
// changes the output shape, not the data layout). TFLM (as shipped in the wheel) always takes the
// requantising path, even when input and output quantisation are identical: 1/count is folded
// into the input/output multiplier, so the result is not a plain rounded average.
#ifndef TFLM_TRAIN_KERNELS_MEAN_H_
#define TFLM_TRAIN_KERNELS_MEAN_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

struct MeanQuant {
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t num_elements;  // H * W, the count averaged per output
  int32_t multiplier;    // (input_scale / output_scale) / num_elements, folded as TFLM does
  int32_t shift;
};

// num_elements = input H * W (> 0).
MeanQuant MeanPrepare(float input_scale, int32_t input_zero_point, float output_scale,
                      int32_t output_zero_point, int32_t num_elements);

// quant.num_elements must equal input_dims.h * input_dims.w.
void MeanSpatialInt8(const MeanQuant& quant, const Dims& input_dims, const int8_t* input,
                     int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_MEAN_H_
