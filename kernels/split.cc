#include "kernels/split.h"

#include <cstring>

namespace tflm_train {

void SplitInt8(const int8_t* input, int32_t outer, int32_t axis, int32_t inner, int32_t first,
               int32_t count, int8_t* output) {
  const int32_t row = axis * inner, chunk = count * inner;
  for (int32_t k = 0; k < outer; ++k) {
    memcpy(output + k * chunk, input + k * row + first * inner, static_cast<size_t>(chunk));
  }
}

}  // namespace tflm_train
