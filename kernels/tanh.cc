#include "kernels/tanh.h"

namespace tflm_train {

void TanhInt8(const SigmoidInputParams& params, int32_t size, const int8_t* input,
              int8_t* output) {
  SaturatingSigmoidInt8(params, size, input, output, fixed_point::Tanh, 24, 0);  // Q0.31 -> 1/128
}

}  // namespace tflm_train
