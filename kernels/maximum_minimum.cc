#include "kernels/maximum_minimum.h"

namespace tflm_train {

void MaximumInt8(const Broadcast& broadcast, const int8_t* input1, const int8_t* input2,
                 int8_t* output) {
  ForEachBroadcast(broadcast, [&](int32_t i1, int32_t i2) {
    *output++ = input1[i1] > input2[i2] ? input1[i1] : input2[i2];
  });
}

void MinimumInt8(const Broadcast& broadcast, const int8_t* input1, const int8_t* input2,
                 int8_t* output) {
  ForEachBroadcast(broadcast, [&](int32_t i1, int32_t i2) {
    *output++ = input1[i1] < input2[i2] ? input1[i1] : input2[i2];
  });
}

}  // namespace tflm_train
