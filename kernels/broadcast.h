// NumPy-style broadcasting of two operands to one output, as TFLM's broadcasting element-wise
// kernels (ADD, SUB, MUL, MAXIMUM, MINIMUM, PRELU) index them: shapes are right-aligned, and a
// dimension of 1 is repeated along the other operand's extent.
#ifndef TFLM_TRAIN_KERNELS_BROADCAST_H_
#define TFLM_TRAIN_KERNELS_BROADCAST_H_

#include <cstdint>

namespace tflm_train {

// TFLM's highest broadcast rank (MUL and SUB; MAXIMUM/MINIMUM and ADD stop earlier).
constexpr int32_t kMaxBroadcastRank = 6;

// The output shape and each operand's element stride along it (0 where it is broadcast).
struct Broadcast {
  int32_t rank;
  int32_t out[kMaxBroadcastRank];
  int32_t stride1[kMaxBroadcastRank];
  int32_t stride2[kMaxBroadcastRank];
};

// Fills `b` from two shapes of rank <= kMaxBroadcastRank; false when a dimension pair differs
// and neither is 1, or a rank is too high. Extents must be positive (checked by the caller).
inline bool PrepareBroadcast(const int32_t* shape1, int32_t rank1, const int32_t* shape2,
                             int32_t rank2, Broadcast* b) {
  if (rank1 < 0 || rank2 < 0 || rank1 > kMaxBroadcastRank || rank2 > kMaxBroadcastRank) {
    return false;
  }
  b->rank = rank1 > rank2 ? rank1 : rank2;
  int32_t s1 = 1, s2 = 1;
  for (int32_t d = b->rank - 1; d >= 0; --d) {
    const int32_t k1 = d - (b->rank - rank1), k2 = d - (b->rank - rank2);
    const int32_t e1 = k1 >= 0 ? shape1[k1] : 1;
    const int32_t e2 = k2 >= 0 ? shape2[k2] : 1;
    if (e1 != e2 && e1 != 1 && e2 != 1) return false;
    b->out[d] = e1 == 1 ? e2 : e1;
    b->stride1[d] = e1 == 1 ? 0 : s1;
    b->stride2[d] = e2 == 1 ? 0 : s2;
    s1 *= e1;
    s2 *= e2;
  }
  return true;
}

// Calls f(i1, i2) for every output element in row-major order, with the operands' flat
// indices. An odometer over the output dimensions keeps it rank-independent.
template <typename F>
inline void ForEachBroadcast(const Broadcast& b, F&& f) {
  int32_t index[kMaxBroadcastRank] = {};
  int32_t total = 1;
  for (int32_t d = 0; d < b.rank; ++d) total *= b.out[d];
  int32_t i1 = 0, i2 = 0;
  for (int32_t o = 0; o < total; ++o) {
    f(i1, i2);
    for (int32_t d = b.rank - 1; d >= 0; --d) {
      i1 += b.stride1[d];
      i2 += b.stride2[d];
      if (++index[d] < b.out[d]) break;
      i1 -= b.stride1[d] * b.out[d];
      i2 -= b.stride2[d] * b.out[d];
      index[d] = 0;
    }
  }
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_BROADCAST_H_
