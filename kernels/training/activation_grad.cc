#include "kernels/training/activation_grad.h"

namespace tflm_train {

void ActivationGrad(int32_t size, const int8_t* output, int32_t lo, int32_t hi,
                    const float* grad_output, float* grad_input) {
  for (int32_t i = 0; i < size; ++i) {
    const int32_t q = output[i];
    grad_input[i] = (q > lo && q < hi) ? grad_output[i] : 0.0f;
  }
}

void ActivationMaskSave(int32_t size, const int8_t* output, int32_t lo, int32_t hi,
                        uint8_t* mask) {
  for (int32_t byte = 0; byte * 8 < size; ++byte) {
    uint8_t bits = 0;
    for (int32_t k = 0; k < 8 && byte * 8 + k < size; ++k) {
      const int32_t q = output[byte * 8 + k];
      if (q > lo && q < hi) bits = static_cast<uint8_t>(bits | (1u << k));
    }
    mask[byte] = bits;
  }
}

void ActivationGradFromMask(int32_t size, const uint8_t* mask, const float* grad_output,
                            float* grad_input) {
  for (int32_t i = 0; i < size; ++i) {
    grad_input[i] = MaskBit(mask, i) ? grad_output[i] : 0.0f;
  }
}

void ActivationGradFromMaskGroup(int32_t positions, int32_t channels, int32_t c0, int32_t g,
                                 const uint8_t* mask, float* grad) {
  if (mask == nullptr) return;
  for (int32_t p = 0; p < positions; ++p) {
    for (int32_t j = 0; j < g; ++j) {
      if (!MaskBit(mask, p * channels + c0 + j)) grad[p * g + j] = 0.0f;
    }
  }
}

}  // namespace tflm_train
