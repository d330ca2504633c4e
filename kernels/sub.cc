#include "kernels/sub.h"

namespace tflm_train {

void SubInt8(const AddParams& params, int32_t size, const int8_t* input1, const int8_t* input2,
             int8_t* output) {
  for (int32_t i = 0; i < size; ++i) output[i] = AddSubOne<-1>(params, input1[i], input2[i]);
}

void SubBroadcastInt8(const AddParams& params, const Broadcast& broadcast, const int8_t* input1,
                      const int8_t* input2, int8_t* output) {
  ForEachBroadcast(broadcast, [&](int32_t i1, int32_t i2) {
    *output++ = AddSubOne<-1>(params, input1[i1], input2[i2]);
  });
}

}  // namespace tflm_train
