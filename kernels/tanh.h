// int8 TANH as TFLM's reference kernel: LOGISTIC's input rescaling (SigmoidInputParams) and
// gemmlowp's fixed-point tanh; the output is written on scale 1/128 with zero point 0 whatever
// the output tensor declares, as TFLM does.
#ifndef TFLM_TRAIN_KERNELS_TANH_H_
#define TFLM_TRAIN_KERNELS_TANH_H_

#include <cstdint>

#include "kernels/logistic.h"

namespace tflm_train {

void TanhInt8(const SigmoidInputParams& params, int32_t size, const int8_t* input,
              int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TANH_H_
