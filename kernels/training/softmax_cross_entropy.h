// Softmax cross-entropy loss and its gradient with respect to the softmax's input logits, for
// one sample (the runtime loops over a batch and sums/averages as it chooses). The gradient is
// p - onehot(label) and is not divided by any batch size.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_SOFTMAX_CROSS_ENTROPY_H_
#define TFLM_TRAIN_KERNELS_TRAINING_SOFTMAX_CROSS_ENTROPY_H_

#include <cstdint>

namespace tflm_train {

// (a) Float logits x: numerically stable softmax with Exp (float_math.h):
// d[i] = x[i] - max(x); e[i] = Exp(d[i]); sum = e[0] + e[1] + ... (index order);
// p[i] = e[i] / sum; grad_logits[i] = p[i] - (i == label); *loss = Log(sum) - d[label]
// (log-sum-exp form: no eps needed, exact even when p[label] underflows).
// grad_logits doubles as the scratch for e[i] (no extra memory).
void SoftmaxCrossEntropyFromLogits(int32_t num_classes, const float* logits, int32_t label,
                                   float* grad_logits, float* loss);

// (b) int8 logits q read by a softmax with factor beta (TFLite's SOFTMAX beta; 1 for a model
// without SOFTMAX): d[i] = (beta * logit_scale) * float(q[i] - max(q)) (the integer difference
// is exact, so one rounding), then as above, and grad_logits[i] = beta * (p[i] - (i == label)),
// the gradient with respect to q's real values. The zero point cancels out of the softmax.
// beta = 1 multiplies exactly, so it costs no bits.
//
// A model ending in SOFTMAX trains through this too, not from its int8 probabilities: those
// top out at 255/256, so a confidently right sample kept pushing its logit up by >= 1/256 while
// wrong classes at the bottom got 0, and long training drove the logits into the int8 bound
// and collapsed (digits, ~40 constant-rate epochs).
void SoftmaxCrossEntropyFromInt8Logits(int32_t num_classes, const int8_t* logits,
                                       float logit_scale, float beta, int32_t label,
                                       float* grad_logits, float* loss);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_SOFTMAX_CROSS_ENTROPY_H_
