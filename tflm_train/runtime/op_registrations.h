// Generated from converter/ops.py: do not edit. Regenerate with
//   python -m tflm_train.converter.gen_headers
// The runtime's op registrations (one op_*.cc file each), in converter/ops.py's order.
// Included once, by ops_common.cc.
#ifndef TFLM_TRAIN_RUNTIME_OP_REGISTRATIONS_H_
#define TFLM_TRAIN_RUNTIME_OP_REGISTRATIONS_H_

#include "tflm_train/runtime/ops.h"

namespace tflm_train {

extern const OpRegistration kConv2DRegistration;  // builtin 3
extern const OpRegistration kDepthwiseConv2DRegistration;  // builtin 4
extern const OpRegistration kFullyConnectedRegistration;  // builtin 9
extern const OpRegistration kReshapeRegistration;  // builtin 22
extern const OpRegistration kAveragePool2DRegistration;  // builtin 1
extern const OpRegistration kMeanRegistration;  // builtin 40
extern const OpRegistration kSoftmaxRegistration;  // builtin 25
extern const OpRegistration kAddRegistration;  // builtin 0
extern const OpRegistration kMaxPool2DRegistration;  // builtin 17
extern const OpRegistration kPadRegistration;  // builtin 34
extern const OpRegistration kPadV2Registration;  // builtin 60
extern const OpRegistration kConcatenationRegistration;  // builtin 2
extern const OpRegistration kQuantizeRegistration;  // builtin 114
extern const OpRegistration kDequantizeRegistration;  // builtin 6
extern const OpRegistration kMulRegistration;  // builtin 18
extern const OpRegistration kSubRegistration;  // builtin 41
extern const OpRegistration kMaximumRegistration;  // builtin 55
extern const OpRegistration kMinimumRegistration;  // builtin 57
extern const OpRegistration kHardSwishRegistration;  // builtin 117
extern const OpRegistration kLogisticRegistration;  // builtin 14
extern const OpRegistration kTanhRegistration;  // builtin 28
extern const OpRegistration kReluRegistration;  // builtin 19
extern const OpRegistration kRelu6Registration;  // builtin 21
extern const OpRegistration kLeakyReluRegistration;  // builtin 98
extern const OpRegistration kPreluRegistration;  // builtin 54
extern const OpRegistration kTransposeRegistration;  // builtin 39
extern const OpRegistration kStridedSliceRegistration;  // builtin 45
extern const OpRegistration kSqueezeRegistration;  // builtin 43
extern const OpRegistration kExpandDimsRegistration;  // builtin 70
extern const OpRegistration kSplitRegistration;  // builtin 49
extern const OpRegistration kSplitVRegistration;  // builtin 102
extern const OpRegistration kResizeNearestNeighborRegistration;  // builtin 97

constexpr const OpRegistration* kRegistrations[] = {
    &kConv2DRegistration,
    &kDepthwiseConv2DRegistration,
    &kFullyConnectedRegistration,
    &kReshapeRegistration,
    &kAveragePool2DRegistration,
    &kMeanRegistration,
    &kSoftmaxRegistration,
    &kAddRegistration,
    &kMaxPool2DRegistration,
    &kPadRegistration,
    &kPadV2Registration,
    &kConcatenationRegistration,
    &kQuantizeRegistration,
    &kDequantizeRegistration,
    &kMulRegistration,
    &kSubRegistration,
    &kMaximumRegistration,
    &kMinimumRegistration,
    &kHardSwishRegistration,
    &kLogisticRegistration,
    &kTanhRegistration,
    &kReluRegistration,
    &kRelu6Registration,
    &kLeakyReluRegistration,
    &kPreluRegistration,
    &kTransposeRegistration,
    &kStridedSliceRegistration,
    &kSqueezeRegistration,
    &kExpandDimsRegistration,
    &kSplitRegistration,
    &kSplitVRegistration,
    &kResizeNearestNeighborRegistration,
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_OP_REGISTRATIONS_H_
