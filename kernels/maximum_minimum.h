// int8 elementwise MAXIMUM and MINIMUM. Like TFLM, the stored int8 values are compared as they
// are: the operands and the output are assumed to share one quantisation (the TFLite converter
// gives them one), nothing is rescaled.
#ifndef TFLM_TRAIN_KERNELS_MAXIMUM_MINIMUM_H_
#define TFLM_TRAIN_KERNELS_MAXIMUM_MINIMUM_H_

#include <cstdint>

#include "kernels/broadcast.h"

namespace tflm_train {

// Equal shapes are a broadcast whose strides are all those of the output.
void MaximumInt8(const Broadcast& broadcast, const int8_t* input1, const int8_t* input2,
                 int8_t* output);
void MinimumInt8(const Broadcast& broadcast, const int8_t* input1, const int8_t* input2,
                 int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_MAXIMUM_MINIMUM_H_
