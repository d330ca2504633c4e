#include "kernels/dequantize.h"

namespace tflm_train {

void DequantizeInt8(int32_t size, const int8_t* input, float input_scale,
                    int32_t input_zero_point, float* output) {
  for (int32_t i = 0; i < size; ++i) {
    output[i] = input_scale * static_cast<float>(input[i] - input_zero_point);
  }
}

}  // namespace tflm_train
