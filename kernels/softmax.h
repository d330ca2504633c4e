// int8 -> int8 softmax over the innermost dimension, using TFLM's fixed-point exp (no LUT).
// The output must be quantised with scale 1/256 and zero point -128 (TFLM requires it).
#ifndef TFLM_TRAIN_KERNELS_SOFTMAX_H_
#define TFLM_TRAIN_KERNELS_SOFTMAX_H_

#include <cstdint>

namespace tflm_train {

struct SoftmaxQuant {
  int32_t input_multiplier;  // beta * input_scale in Q5.26 terms, see SoftmaxPrepare
  int32_t input_left_shift;
  int32_t diff_min;  // differences to the row max below this give exactly zero probability
};

// Returns false if the multiplier cannot be represented (TFLM asserts in that case).
bool SoftmaxPrepare(float beta, float input_scale, SoftmaxQuant* quant);

// TFLM's Prepare check on an int8 output: zero point exactly -128 and scale within 0.1% of 1/256.
inline bool SoftmaxOutputParamsValid(float output_scale, int32_t output_zero_point) {
  const float target = 1.0f / 256;
  const float tol = 0.001f * target;
  const float d = output_scale - target;
  return output_zero_point == -128 && d <= tol && -d <= tol;
}

void SoftmaxInt8(const SoftmaxQuant& quant, int32_t outer_size, int32_t depth,
                 const int8_t* input, int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_SOFTMAX_H_
