// int8 elementwise SUB with requantisation and fused activation. TFLM prepares SUB exactly like
// ADD (AddPrepare, AddParams) and only subtracts the rescaled second operand (AddSubOne).
#ifndef TFLM_TRAIN_KERNELS_SUB_H_
#define TFLM_TRAIN_KERNELS_SUB_H_

#include <cstdint>

#include "kernels/add.h"
#include "kernels/broadcast.h"

namespace tflm_train {

void SubInt8(const AddParams& params, int32_t size, const int8_t* input1, const int8_t* input2,
             int8_t* output);

void SubBroadcastInt8(const AddParams& params, const Broadcast& broadcast, const int8_t* input1,
                      const int8_t* input2, int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_SUB_H_
