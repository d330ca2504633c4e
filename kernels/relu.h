// int8 standalone RELU and RELU6 as TFLM computes them. RELU requantises from the input to the
// output scale and clamps at the output's zero; RELU6 only clamps the input values to the
// input's quantised [0, 6] (TFLM does not rescale there: the output is read with the input's
// parameters, which the TFLite converter gives it).
#ifndef TFLM_TRAIN_KERNELS_RELU_H_
#define TFLM_TRAIN_KERNELS_RELU_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

struct ReluParams {
  int32_t input_zero_point;
  int32_t output_zero_point;
  QuantMultiplier output;  // input scale / output scale
  ActivationRange activation;
};

void ReluPrepare(float input_scale, int32_t input_zero_point, float output_scale,
                 int32_t output_zero_point, ReluParams* params);

void ReluInt8(const ReluParams& params, int32_t size, const int8_t* input, int8_t* output);

// The input's quantised 0 and 6; false when 6 / scale reaches 2^30 (scales below ~5.6e-9), where
// TFLM's float-to-int conversion nears or passes int32's range (undefined behaviour).
bool Relu6Prepare(float input_scale, int32_t input_zero_point, ActivationRange* range);

void Relu6Int8(const ActivationRange& range, int32_t size, const int8_t* input, int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_RELU_H_
