// Softmax cross-entropy loss and its gradient with respect to the softmax's input logits, for
// one sample (the runtime loops over a batch and sums/averages as it chooses). The gradient is
// p - onehot(label) and is not divided by any batch size.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_SOFTMAX_CROSS_ENTROPY_H_
#define TFLM_TRAIN_KERNELS_TRAINING_SOFTMAX_CROSS_ENTROPY_H_

#include <cstdint>

namespace tflm_train {

// (a) The model ends in SOFTMAX and its int8 output (probabilities) was saved:
// p[i] = prob_scale * float(q[i] - prob_zero_point), grad_logits[i] = p[i] - (i == label),
// *loss = -Log(max(p[label], eps)). eps (e.g. 1e-7 or half a quantisation step) keeps the loss
// finite when the int8 probability of the label underflowed to 0.
void SoftmaxCrossEntropyFromProbs(int32_t num_classes, const int8_t* probs, float prob_scale,
                                  int32_t prob_zero_point, int32_t label, float eps,
                                  float* grad_logits, float* loss);

// (b) The model ends in float logits x: numerically stable softmax with Exp (float_math.h):
// d[i] = x[i] - max(x); e[i] = Exp(d[i]); sum = e[0] + e[1] + ... (index order);
// p[i] = e[i] / sum; grad_logits[i] = p[i] - (i == label); *loss = Log(sum) - d[label]
// (log-sum-exp form: no eps needed, exact even when p[label] underflows).
// grad_logits doubles as the scratch for e[i] (no extra memory).
void SoftmaxCrossEntropyFromLogits(int32_t num_classes, const float* logits, int32_t label,
                                   float* grad_logits, float* loss);

// (b') Same for int8 logits: d[i] = logit_scale * float(q[i] - max(q)) (the integer difference is
// exact, so only one rounding), then as above. The zero point cancels out of the softmax.
void SoftmaxCrossEntropyFromInt8Logits(int32_t num_classes, const int8_t* logits,
                                       float logit_scale, int32_t label, float* grad_logits,
                                       float* loss);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_SOFTMAX_CROSS_ENTROPY_H_
