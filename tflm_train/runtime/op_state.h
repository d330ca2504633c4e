// Per-op state prepared once at Open (TFLM's OpData), stored in the arena's persistent region at
// the offset the converter planned. Its size is part of the file format (kOpStateBytes).
#ifndef TFLM_TRAIN_RUNTIME_OP_STATE_H_
#define TFLM_TRAIN_RUNTIME_OP_STATE_H_

#include <cstdint>

#include "kernels/mean.h"
#include "kernels/softmax.h"
#include "kernels/types.h"
#include "tflm_train/runtime/program.h"

namespace tflm_train {

struct OpRegistration;

struct FullyConnectedState {
  FullyConnectedParams params;
  QuantMultiplier per_tensor;
  int32_t per_channel;  // 1: multipliers in the op's channel data
  int32_t batches;
  int32_t accum_depth;
  int32_t output_units;
};

struct OpState {
  const OpRegistration* registration;
  union {
    ConvParams conv;
    DepthwiseParams depthwise;
    FullyConnectedState fully_connected;
    PoolParams pool;
    MeanQuant mean;
    SoftmaxQuant softmax;
  };
};

static_assert(sizeof(OpState) <= kOpStateBytes, "OpState must fit the planned per-op bytes");

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_OP_STATE_H_
