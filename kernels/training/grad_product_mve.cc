#include "kernels/training/grad_product_mve.h"

#if TFLM_TRAIN_KERNELS_MVE_FLOAT

#include <arm_mve.h>

namespace tflm_train {
namespace {

// Float bits shifted left by one (sign dropped): 0 for +-0, below kLow for magnitudes under
// 2^-103, kHigh and above for infinities and NaNs.
constexpr uint32_t kLow = 24u << 24;   // exponent field 24: 2^-103
constexpr uint32_t kHigh = 255u << 24;

// Running bounds of a scan: the largest doubled bits and the smallest (doubled bits - 1)
// (zeros wrap to the top and never lower it).
struct Scan {
  uint32x4_t max = vdupq_n_u32(0);
  uint32x4_t min_less_one = vdupq_n_u32(0xFFFFFFFFu);
  void Add(uint32x4_t bits) {
    const uint32x4_t a = vshlq_n_u32(bits, 1);
    max = vmaxq_u32(max, a);
    min_less_one = vminq_u32(min_less_one, vsubq_n_u32(a, 1));
  }
  bool Ok() const {
    return vmaxvq_u32(0, max) < kHigh && vminvq_u32(0xFFFFFFFFu, min_less_one) >= kLow - 1;
  }
};

inline uint32x4_t Bits(const float* p) {
  return vldrwq_u32(reinterpret_cast<const uint32_t*>(p));
}

}  // namespace

bool InputRow4Mve(int32_t depth, const float* gs, const float* wf, int32_t w_stride,
                  int32_t columns, const float* from, int32_t from_stride, float* to,
                  int32_t to_stride) {
  Scan scan;
  for (int32_t k = 0; k < depth; ++k) scan.Add(Bits(gs + 4 * k));
  if (from != nullptr) {
    for (int32_t p = 0; p < 4; ++p) {
      for (int32_t j = 0; j < columns; j += 4) {
        const mve_pred16_t m = vctp32q(static_cast<uint32_t>(columns - j));
        scan.Add(vldrwq_z_u32(reinterpret_cast<const uint32_t*>(from + p * from_stride + j), m));
      }
    }
  }
  if (!scan.Ok()) return false;
  for (int32_t j = 0; j < columns; j += 4) {
    // Columns past the last (a tail of 1 to 3) are computed from whatever wf holds there and
    // never stored.
    const mve_pred16_t m = vctp32q(static_cast<uint32_t>(columns - j));
    float32x4_t a0, a1, a2, a3;
    if (from != nullptr) {
      a0 = vldrwq_z_f32(from + j, m);
      a1 = vldrwq_z_f32(from + from_stride + j, m);
      a2 = vldrwq_z_f32(from + 2 * from_stride + j, m);
      a3 = vldrwq_z_f32(from + 3 * from_stride + j, m);
    } else {
      a0 = a1 = a2 = a3 = vdupq_n_f32(0.0f);
    }
    const float* g = gs;
    const float* w = wf + j;
    for (int32_t k = depth; k > 0; --k, g += 4, w += w_stride) {
      const float32x4_t wv = vldrwq_f32(w);
      a0 = vaddq_f32(a0, vmulq_n_f32(wv, g[0]));
      a1 = vaddq_f32(a1, vmulq_n_f32(wv, g[1]));
      a2 = vaddq_f32(a2, vmulq_n_f32(wv, g[2]));
      a3 = vaddq_f32(a3, vmulq_n_f32(wv, g[3]));
    }
    vstrwq_p_f32(to + j, a0, m);
    vstrwq_p_f32(to + to_stride + j, a1, m);
    vstrwq_p_f32(to + 2 * to_stride + j, a2, m);
    vstrwq_p_f32(to + 3 * to_stride + j, a3, m);
  }
  return true;
}

bool GradTransposeTimesInt8Mve(int32_t positions, const float* grad, int32_t grad_stride,
                               int32_t c_begin, int32_t c_end, const int8_t* x,
                               int32_t x_stride, int32_t offset, int32_t columns, float scale,
                               float* out) {
  const int32_t channels = c_end - c_begin;
  if (channels < 4 || columns < 1 || positions < 1) return false;
  Scan scan;
  for (int32_t p = 0; p < positions; ++p) {
    const float* g = grad + p * grad_stride + c_begin;
    for (int32_t c = 0; c < channels; c += 4) {
      const mve_pred16_t m = vctp32q(static_cast<uint32_t>(channels - c));
      scan.Add(vldrwq_z_u32(reinterpret_cast<const uint32_t*>(g + c), m));
    }
  }
  if (!scan.Ok()) return false;
  alignas(8) float sums[4][4];  // [column][channel]
  for (int32_t c = 0; c < channels; c += 4) {
    const int32_t cn = channels - c < 4 ? channels - c : 4;
    const mve_pred16_t m = vctp32q(static_cast<uint32_t>(cn));
    for (int32_t j = 0; j < columns; j += 4) {
      const int32_t jn = columns - j < 4 ? columns - j : 4;
      const mve_pred16_t mj = vctp32q(static_cast<uint32_t>(jn));
      float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
      const float* g = grad + c_begin + c;
      const int8_t* xp = x + j;
      for (int32_t p = positions; p > 0; --p, g += grad_stride, xp += x_stride) {
        // Channels past cn load as zeros (their lanes are not stored); columns past jn too.
        const float32x4_t gv = vldrwq_z_f32(g, m);
        const float32x4_t xf =
            vcvtq_f32_s32(vaddq_n_s32(vldrbq_z_s32(xp, mj), offset));  // exact: |x + o| < 2^9
        a0 = vaddq_f32(a0, vmulq_n_f32(gv, vgetq_lane_f32(xf, 0)));
        a1 = vaddq_f32(a1, vmulq_n_f32(gv, vgetq_lane_f32(xf, 1)));
        a2 = vaddq_f32(a2, vmulq_n_f32(gv, vgetq_lane_f32(xf, 2)));
        a3 = vaddq_f32(a3, vmulq_n_f32(gv, vgetq_lane_f32(xf, 3)));
      }
      vstrwq_f32(sums[0], a0);
      vstrwq_f32(sums[1], a1);
      vstrwq_f32(sums[2], a2);
      vstrwq_f32(sums[3], a3);
      // The scale on the scalar FPU: its product may be denormal.
      for (int32_t k = 0; k < cn; ++k) {
        float* o = out + (c + k) * columns + j;
        for (int32_t i = 0; i < jn; ++i) o[i] = sums[i][k] * scale;
      }
    }
  }
  return true;
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_MVE_FLOAT
