#include "kernels/training/softmax_cross_entropy.h"

#include "kernels/training/float_math.h"

namespace tflm_train {
namespace {

// grad holds d[i] = x[i] - max on entry; leaves p - onehot and returns the loss.
float SoftmaxCrossEntropyFromShifted(int32_t num_classes, int32_t label, float* grad) {
  const float d_label = grad[label];
  float sum = 0.0f;
  for (int32_t i = 0; i < num_classes; ++i) {
    grad[i] = Exp(grad[i]);
    sum += grad[i];
  }
  // sum >= 1 because the maximal logit contributes Exp(0) = 1: no division by zero.
  for (int32_t i = 0; i < num_classes; ++i) {
    const float p = grad[i] / sum;
    grad[i] = (i == label) ? p - 1.0f : p;
  }
  return Log(sum) - d_label;
}

}  // namespace

void SoftmaxCrossEntropyFromLogits(int32_t num_classes, const float* logits, int32_t label,
                                   float* grad_logits, float* loss) {
  float max_logit = logits[0];
  for (int32_t i = 1; i < num_classes; ++i) {
    if (logits[i] > max_logit) max_logit = logits[i];
  }
  for (int32_t i = 0; i < num_classes; ++i) grad_logits[i] = logits[i] - max_logit;
  *loss = SoftmaxCrossEntropyFromShifted(num_classes, label, grad_logits);
}

void SoftmaxCrossEntropyFromInt8Logits(int32_t num_classes, const int8_t* logits,
                                       float logit_scale, float beta, int32_t label,
                                       float* grad_logits, float* loss) {
  int32_t max_q = logits[0];
  for (int32_t i = 1; i < num_classes; ++i) {
    if (logits[i] > max_q) max_q = logits[i];
  }
  const float scale = beta * logit_scale;
  for (int32_t i = 0; i < num_classes; ++i) {
    grad_logits[i] = scale * static_cast<float>(static_cast<int32_t>(logits[i]) - max_q);
  }
  *loss = SoftmaxCrossEntropyFromShifted(num_classes, label, grad_logits);
  for (int32_t i = 0; i < num_classes; ++i) grad_logits[i] *= beta;
}

}  // namespace tflm_train
