// The fused backward routines: classifier head (MEAN_HEAD_BACKWARD, head_backward.cc) and
// inverted bottleneck (BOTTLENECK_BACKWARD, block_backward.cc). Each produces and consumes its
// gradients by channel groups, applying the layers' updates through the optimizer as it goes.
// `args` are the instruction's arguments, already checked (instructions/<name>.h).
#ifndef TFLM_TRAIN_RUNTIME_FUSED_BACKWARD_H_
#define TFLM_TRAIN_RUNTIME_FUSED_BACKWARD_H_

#include <cstdint>

#include "tflm_train/runtime/optimizer.h"

namespace tflm_train {

void MeanHeadBackward(const Optimizer& opt, const int32_t* args);
void BottleneckBackward(const Optimizer& opt, const int32_t* args);
// The head's forward half (MEAN_HEAD_FORWARD, head_forward.cc): conv + MEAN by channel groups,
// saving the conv output's mask bits when `training`.
void MeanHeadForward(Session* session, const int32_t* args, bool training);
// Whether model tensor `tensor` is the conv output a MEAN_HEAD_FORWARD of the program runs by
// channel groups (it then has no arena storage).
bool IsGroupedHeadOutput(const Session& session, int32_t tensor);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_FUSED_BACKWARD_H_
