// Per-op state prepared once at Open (TFLM's OpData), stored in the arena's persistent region at
// the offset the converter planned. Its size is part of the file format (kOpStateBytes).
#ifndef TFLM_TRAIN_RUNTIME_OP_STATE_H_
#define TFLM_TRAIN_RUNTIME_OP_STATE_H_

#include <cstddef>
#include <cstdint>

#include "kernels/add.h"
#include "kernels/hard_swish.h"
#include "kernels/leaky_relu.h"
#include "kernels/logistic.h"
#include "kernels/mean.h"
#include "kernels/mul.h"
#include "kernels/prelu.h"
#include "kernels/quantize.h"
#include "kernels/relu.h"
#include "kernels/softmax.h"
#include "kernels/strided_slice.h"
#include "kernels/transpose.h"
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

struct AddState {
  AddParams params;
  int32_t broadcast;  // 1: input shapes differ (TFLM's requires_broadcast)
};

// PAD and PADV2 on the NHWC-extended shapes.
struct PadState {
  int32_t before[4];
  int32_t after[4];
  int32_t value;  // int8 fill value
};

struct ConcatenationState {
  int32_t axis;  // non-negative
  int32_t outer;
  int32_t inner;
};

struct QuantizeState {
  int32_t from_float;  // 1: float32 -> int8, 0: int8 -> int8 requantisation
  float output_scale;
  RequantizeParams requantize;  // zero points are used by both paths
};

struct DequantizeState {
  float scale;
  int32_t zero_point;
};

struct MulState {
  MulParams params;
  int32_t broadcast;  // 1: input shapes differ
};

struct TransposeState {
  int32_t rank;
  int32_t perm[kTransposeMaxDims];
  int32_t input_shape[kTransposeMaxDims];
};

struct StridedSliceState {
  int32_t rank;
  SliceAxis axes[kStridedSliceMaxDims];
};

// SPLIT and SPLIT_V: the input as [outer, axis, inner].
struct SplitState {
  int32_t outer;
  int32_t axis;
  int32_t inner;
};

struct ResizeState {
  int32_t align_corners;
  int32_t half_pixel_centers;
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
    AddState add;  // ADD and SUB (kernels/sub.h)
    PadState pad;
    ConcatenationState concatenation;
    QuantizeState quantize;
    DequantizeState dequantize;
    MulState mul;
    HardSwishParams hard_swish;
    SigmoidInputParams sigmoid;  // LOGISTIC, TANH
    ReluParams relu;
    ActivationRange relu6;
    LeakyReluParams leaky_relu;
    PreluParams prelu;
    TransposeState transpose;
    StridedSliceState strided_slice;
    SplitState split;
    ResizeState resize;
  };
};

static_assert(sizeof(OpState) <= kOpStateBytes, "OpState must fit the planned per-op bytes");
// The kinds planned smaller use only their own member (PrepareOps clears only their bytes).
static_assert(offsetof(OpState, conv) + sizeof(ConvParams) <= kOpStateBytesConv2D, "conv state");
static_assert(offsetof(OpState, depthwise) + sizeof(DepthwiseParams) <=
                  kOpStateBytesDepthwiseConv2D, "depthwise state");
static_assert(offsetof(OpState, fully_connected) + sizeof(FullyConnectedState) <=
                  kOpStateBytesFullyConnected, "fully connected state");
static_assert(offsetof(OpState, pool) + sizeof(PoolParams) <= kOpStateBytesAveragePool2D &&
                  offsetof(OpState, pool) + sizeof(PoolParams) <= kOpStateBytesMaxPool2D,
              "pool state");
static_assert(offsetof(OpState, mean) + sizeof(MeanQuant) <= kOpStateBytesMean, "mean state");
static_assert(offsetof(OpState, softmax) + sizeof(SoftmaxQuant) <= kOpStateBytesSoftmax,
              "softmax state");
static_assert(alignof(OpState) <= 8, "op states are planned at multiples of 8 bytes");

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_OP_STATE_H_
