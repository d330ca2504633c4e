// SGD update of int8 weights / int32 biases in place, for a contiguous range of channels.
//
// Per element: step = (lr * f[c]) * g (or (lr * f[c]) * m with momentum, m = mu * m + g first);
// q_new = saturate(q - round(step)). f[c] is supplied by the converter: 1/s[c] (clamped) for
// quantisation-aware scaling (QAS), making the integer step equal an fp32 SGD step on the real
// weight, or s[c] for "no QAS". The result saturates at the type's limits and never wraps.
// A NaN step leaves the element unchanged; +-inf saturates.
//
// Rounding (both exact: the fractional part of a float is computed without rounding error):
//  kNearest:    nearest integer, ties away from zero.
//  kStochastic: floor(step + u) evaluated exactly, u = (xorshift32() >> 8) * 2^-24 in [0, 1);
//               one draw per element in grad-buffer order, from a caller-owned state, so the
//               sequence is identical on every platform. E[round(step)] = step (to 2^-24).
//
// Layout: the parameter tensor is viewed as [outer, channels, inner] with the channel axis in
// the middle (conv [Co, kh*kw*Ci]: outer 1, inner kh*kw*Ci; FC: outer 1, inner Ci; depthwise
// [kh*kw, C]: outer kh*kw, inner 1; bias: outer 1, inner 1). grad (and momentum) cover only the
// range: [outer, c_end - c_begin, inner], exactly what the *FilterGrad / BiasGrad kernels write.
// channel_factor is indexed by the absolute channel c.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_SGD_UPDATE_H_
#define TFLM_TRAIN_KERNELS_TRAINING_SGD_UPDATE_H_

#include <cstdint>

namespace tflm_train {

enum class RoundingMode : int32_t {
  kNearest = 0,
  kStochastic = 1,
};

struct SgdParams {
  float learning_rate;
  float momentum;  // mu; only used when a momentum buffer is passed
  RoundingMode rounding;
};

// View of a parameter tensor as [outer, channels, inner], updated on [c_begin, c_end).
struct ChannelSlice {
  int32_t outer;
  int32_t channels;
  int32_t inner;
  int32_t c_begin;
  int32_t c_end;
};

// Marsaglia xorshift32 (13, 17, 5). The state must be non-zero (zero is a fixed point).
inline uint32_t XorShift32(uint32_t* state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

// Integer value of the rounded step, with |step| first clamped to `limit` (a power of two up to
// 2^62 chosen so the saturated result is unaffected). NaN -> 0. rng_state is advanced once in
// stochastic mode (also for NaN, so the sequence does not depend on the data).
int64_t RoundStep(float step, RoundingMode rounding, float limit, uint32_t* rng_state);

// momentum may be null (plain SGD); otherwise [outer, c_end - c_begin, inner] float state,
// updated in place. rng_state may be null for kNearest.
void SgdUpdateInt8(const SgdParams& params, const ChannelSlice& slice, const float* grad,
                   const float* channel_factor, float* momentum, uint32_t* rng_state,
                   int8_t* weights);

void SgdUpdateInt32(const SgdParams& params, const ChannelSlice& slice, const float* grad,
                    const float* channel_factor, float* momentum, uint32_t* rng_state,
                    int32_t* bias);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_SGD_UPDATE_H_
