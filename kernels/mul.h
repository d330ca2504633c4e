// int8 elementwise MUL: the product of the offset operands requantised once, with fused
// activation; equal shapes or NumPy-style broadcast (kernels/broadcast.h).
#ifndef TFLM_TRAIN_KERNELS_MUL_H_
#define TFLM_TRAIN_KERNELS_MUL_H_

#include <cstdint>

#include "kernels/broadcast.h"
#include "kernels/quant_math.h"
#include "kernels/types.h"

namespace tflm_train {

struct MulParams {
  int32_t input1_offset;  // -zero point
  int32_t input2_offset;
  int32_t output_offset;  // +zero point
  QuantMultiplier output;  // input1 scale * input2 scale / output scale; any shift
  ActivationRange activation;
};

void MulPrepare(float input1_scale, int32_t input1_zero_point, float input2_scale,
                int32_t input2_zero_point, float output_scale, int32_t output_zero_point,
                FusedActivation activation, MulParams* params);

void MulInt8(const MulParams& params, int32_t size, const int8_t* input1, const int8_t* input2,
             int8_t* output);

void MulBroadcastInt8(const MulParams& params, const Broadcast& broadcast, const int8_t* input1,
                      const int8_t* input2, int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_MUL_H_
