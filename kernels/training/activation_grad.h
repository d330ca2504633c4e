// Backward pass of a fused activation (RELU, RELU6, RELU_N1_TO_1 as clamps of the int8 output),
// computed from the saved int8 OUTPUT q: the gradient passes iff lo < q < hi (exclusive). The
// caller picks the bounds from the clamp, e.g. RELU: lo = act_min (the quantised 0), hi = 128;
// RELU6: lo = act_min, hi = act_max. An output sitting exactly on a clamp bound gets gradient 0
// (the subgradient TF uses for relu/relu6 at the kink). Activation NONE needs no call.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_ACTIVATION_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_ACTIVATION_GRAD_H_

#include <cstdint>

namespace tflm_train {

// grad_input[i] = (lo < output[i] < hi) ? grad_output[i] : 0.0f. grad_input may alias
// grad_output (in-place masking).
void ActivationGrad(int32_t size, const int8_t* output, int32_t lo, int32_t hi,
                    const float* grad_output, float* grad_input);

// The same pass/block decision saved as one bit per element at forward time, so the backward
// pass keeps ceil(size / 8) bytes instead of the int8 output when nothing else reads it.
// Bit i is bit (i % 8) of mask[i / 8]; bits past `size` in the last byte are 0.
void ActivationMaskSave(int32_t size, const int8_t* output, int32_t lo, int32_t hi,
                        uint8_t* mask);

// Bit i of a mask ActivationMaskSave wrote.
inline bool MaskBit(const uint8_t* mask, int32_t i) { return ((mask[i >> 3] >> (i & 7)) & 1u) != 0; }

// grad_input[i] = bit i of mask ? grad_output[i] : 0.0f (in place allowed).
void ActivationGradFromMask(int32_t size, const uint8_t* mask, const float* grad_output,
                            float* grad_input);

// The same for a group of g channels c0.. of a [positions, channels] tensor whose gradient is
// held as [positions, g] (backward passes that work one channel group at a time): zeroes
// grad[p * g + j] unless bit p * channels + c0 + j is set. A null mask leaves grad unchanged.
void ActivationGradFromMaskGroup(int32_t positions, int32_t channels, int32_t c0, int32_t g,
                                 const uint8_t* mask, float* grad);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_ACTIVATION_GRAD_H_
