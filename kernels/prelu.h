// int8 PRELU: x for x >= 0, alpha * x otherwise, alpha a tensor broadcast against the input
// (kernels/broadcast.h); one multiplier for each branch, as TFLM.
#ifndef TFLM_TRAIN_KERNELS_PRELU_H_
#define TFLM_TRAIN_KERNELS_PRELU_H_

#include <cstdint>

#include "kernels/broadcast.h"
#include "kernels/types.h"

namespace tflm_train {

struct PreluParams {
  int32_t input_offset;  // -zero point
  int32_t alpha_offset;
  int32_t output_offset;  // +zero point
  QuantMultiplier identity;  // input scale / output scale
  QuantMultiplier alpha;     // input scale * alpha scale / output scale
};

void PreluPrepare(float input_scale, int32_t input_zero_point, float alpha_scale,
                  int32_t alpha_zero_point, float output_scale, int32_t output_zero_point,
                  PreluParams* params);

// broadcast: operand 1 the input, operand 2 alpha.
void PreluInt8(const PreluParams& params, const Broadcast& broadcast, const int8_t* input,
               const int8_t* alpha, int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_PRELU_H_
