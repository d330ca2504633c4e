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

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_FUSED_BACKWARD_H_
