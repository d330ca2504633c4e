// int8 MEAN over the spatial axes (H, W) of an NHWC tensor; the output is N x C (keep_dims only
// changes the output shape, not the data layout).
#ifndef TFLM_TRAIN_KERNELS_MEAN_H_
#define TFLM_TRAIN_KERNELS_MEAN_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

struct MeanQuant {
  // True when input and output scale and zero point are identical: TFLM then averages the raw
  // int8 values with a truncating integer division and no requantisation.
  bool same_quant;
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t multiplier;  // input_scale / output_scale
  int32_t shift;
};

MeanQuant MeanPrepare(float input_scale, int32_t input_zero_point, float output_scale,
                      int32_t output_zero_point);

void MeanSpatialInt8(const MeanQuant& quant, const Dims& input_dims, const int8_t* input,
                     int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_MEAN_H_
