#include "kernels/training/float_math.h"

#include <cstring>

namespace tflm_train {
namespace {

inline uint32_t BitsOf(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof(b));
  return b;
}

inline float FloatOf(uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof(x));
  return x;
}

// 2^e for a normal exponent (-126 <= e <= 127), built exactly from the bit pattern.
inline float Pow2(int32_t e) { return FloatOf(static_cast<uint32_t>(e + 127) << 23); }

// ln 2 split so that k * kLn2Hi is exact for |k| < 256 (kLn2Hi has 16 significant bits): the
// argument reduction x - k*ln2 then loses nothing to cancellation.
constexpr float kLn2Hi = 0x1.62e4p-1f;
constexpr float kLn2Lo = 0x1.7f7d1cp-20f;
constexpr float kLog2E = 0x1.715476p+0f;
constexpr float kSqrt2 = 0x1.6a09e6p+0f;

}  // namespace

float Floor(float x) {
  // |x| >= 2^23 (and inf/NaN) has no fractional bits; below that the int32 cast is safe.
  const uint32_t exp_bits = (BitsOf(x) >> 23) & 0xffu;
  if (exp_bits >= 127u + 23u) return x;
  const float t = static_cast<float>(static_cast<int32_t>(x));  // truncates toward zero
  return (t > x) ? t - 1.0f : t;
}

float Exp(float x) {
  if (x != x) return x;
  if (x > 89.0f) return FloatOf(0x7f800000u);
  if (x < -104.0f) return 0.0f;
  // x = k*ln2 + r with |r| <= ln2/2 (k = nearest integer to x/ln2, ties irrelevant).
  const float kf = Floor(x * kLog2E + 0.5f);
  const int32_t k = static_cast<int32_t>(kf);
  const float r = (x - kf * kLn2Hi) - kf * kLn2Lo;
  // Taylor to degree 7: truncation error r^8/8! < 6e-9 relative for |r| <= 0.347, well below
  // half an ulp; the r + r^2*(...) split keeps the rounding of the small tail away from the 1.
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  const float er = 1.0f + (r + (r * r) * p);
  // Scale by 2^k. Outside the normal exponent range, first scale exactly into range, then do a
  // single rounding multiply so overflow gives inf and subnormals are rounded once.
  if (k > 127) return (er * Pow2(127)) * Pow2(k - 127);
  if (k < -125) return (er * Pow2(k + 100)) * Pow2(-100);
  return er * Pow2(k);
}

float Log(float x) {
  if (x != x) return x;
  if (x == 0.0f) return FloatOf(0xff800000u);
  if (x < 0.0f) return FloatOf(0x7fc00000u);
  uint32_t bits = BitsOf(x);
  if (bits == 0x7f800000u) return x;
  int32_t e = 0;
  if (bits < 0x00800000u) {  // subnormal: scale by 2^23 (exact) to get a normal mantissa
    bits = BitsOf(x * Pow2(23));
    e = -23;
  }
  e += static_cast<int32_t>(bits >> 23) - 127;
  float m = FloatOf((bits & 0x007fffffu) | 0x3f800000u);  // [1, 2)
  if (m > kSqrt2) {  // keep m in [sqrt(1/2), sqrt(2)] so |f| <= 0.415 and |s| <= 0.172
    m = m * 0.5f;
    e += 1;
  }
  const float f = m - 1.0f;  // exact (Sterbenz)
  // log(1+f) = 2 atanh(s), s = f/(2+f). Using 2s = f - s*f keeps the exact f as leading term:
  // log(1+f) = f - s*(f - R), R = 2z/3 + 2z^2/5 + 2z^3/7 + 2z^4/9, z = s^2 (next term < 1e-9).
  const float s = f / (2.0f + f);
  const float z = s * s;
  float q = 2.0f / 9.0f;
  q = q * z + 2.0f / 7.0f;
  q = q * z + 2.0f / 5.0f;
  q = q * z + 2.0f / 3.0f;
  const float big_r = z * q;
  const float log1pf = f - s * (f - big_r);
  const float ef = static_cast<float>(e);
  return ef * kLn2Hi + (log1pf + ef * kLn2Lo);
}

}  // namespace tflm_train
