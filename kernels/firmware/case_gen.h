// Seeded random OpCases for the bit-exactness test: shapes and parameters that reach every branch
// of the kernels (strides, dilations, SAME/VALID, groups, depth multipliers, per-tensor and
// per-channel scales, fused activations, channel counts that are not multiples of 4 so the SIMD
// loops leave tails, extreme int8 values and zero points that fill the 16-bit SIMD lanes).
#ifndef TFLM_TRAIN_KERNELS_FIRMWARE_CASE_GEN_H_
#define TFLM_TRAIN_KERNELS_FIRMWARE_CASE_GEN_H_

#include <cstdint>

#include "kernels/firmware/op_case.h"

namespace kernel_test {

// xorshift32: tiny, deterministic on every target.
class Rng {
 public:
  explicit Rng(uint32_t seed) : state_(seed != 0 ? seed : 0x9E3779B9u) {}
  uint32_t Next();
  int32_t Uniform(int32_t lo, int32_t hi);  // inclusive
  float UniformF(float lo, float hi);
  bool Chance(int32_t percent) { return Uniform(0, 99) < percent; }

 private:
  uint32_t state_;
};

// Storage the generated case points into (sizes bound every generated shape).
struct CaseBuffers {
  static constexpr int32_t kInputBytes = 6144;
  static constexpr int32_t kFilterBytes = 8192;
  int8_t input[kInputBytes];
  int8_t filter[kFilterBytes];
  int32_t bias[kMaxChannels];
  float filter_scales[kMaxChannels];
};

// Fills `c` (pointing into `buf`) with a random case of kind `op`.
void RandomCase(Op op, Rng& rng, CaseBuffers& buf, OpCase* c);

const char* OpName(Op op);

}  // namespace kernel_test

#endif  // TFLM_TRAIN_KERNELS_FIRMWARE_CASE_GEN_H_
