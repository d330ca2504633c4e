// The multiply-accumulate inner loops of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED, the only
// code that differs between the reference and the DSP path (kernel_path.h). Each function's
// portable body is the reference; the DSP path runs a SIMD prefix and leaves the tail to that same
// body. Results are identical: every product is exact (|x + x_offset| <= 255 and
// |w + w_offset| <= 255 fit the 16-bit SIMD lanes, two products fit int32), and a sum of int32
// products does not depend on the order (a window would need more than 33000 taps of 255 * 255
// to leave the int32 range; SMLAD/SMLAxx wrap like two's-complement addition anyway).
#ifndef TFLM_TRAIN_KERNELS_DOT_PRODUCT_H_
#define TFLM_TRAIN_KERNELS_DOT_PRODUCT_H_

#include <cstdint>

#include "kernels/kernel_path.h"

#if TFLM_TRAIN_KERNELS_DSP
#include "kernels/arm_simd.h"
#endif

namespace tflm_train {

// acc + a * b wrapping like two's-complement addition, as SMLAD/SMLAxx do. A sum leaves the int32
// range when training saturated a bias near the limit (TFLM's int32 sums overflow there too); the
// explicit wrap gives the same bits as before without signed-overflow UB. |a|, |b| <= 255.
inline int32_t MacWrap(int32_t acc, int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(acc) + static_cast<uint32_t>(a * b));
}

// acc0 += sum_i (w0[i] + w_offset) * (x[i] + x_offset), acc1 the same with w1: two filter rows
// against one input vector, so the DSP path widens each input word once for both rows.
inline void DotPair(const int8_t* x, const int8_t* w0, const int8_t* w1, int32_t n,
                    int32_t x_offset, int32_t w_offset, int32_t* acc0, int32_t* acc1) {
  int32_t a0 = *acc0;
  int32_t a1 = *acc1;
  int32_t i = 0;
#if TFLM_TRAIN_KERNELS_DSP
  const uint32_t xo = simd::Splat16(x_offset);
  const uint32_t wo = simd::Splat16(w_offset);
  // Lanes pair up as (byte 0, byte 2) and (byte 1, byte 3) in both operands, so SMLAD multiplies
  // matching elements.
  for (; i + 4 <= n; i += 4) {
    const uint32_t xv = simd::Load4(x + i);
    const int32_t x_even = simd::EvenBytesPlus(xo, xv);
    const int32_t x_odd = simd::OddBytesPlus(xo, xv);
    // Symmetric weights (w_offset 0, a constant after inlining for conv) need no offset add and
    // so one register less in this register-starved loop.
    const uint32_t v0 = simd::Load4(w0 + i);
    const uint32_t v1 = simd::Load4(w1 + i);
    if (w_offset == 0) {
      a0 = simd::DualMac(x_even, simd::EvenBytes(v0), a0);
      a0 = simd::DualMac(x_odd, simd::OddBytes(v0), a0);
      a1 = simd::DualMac(x_even, simd::EvenBytes(v1), a1);
      a1 = simd::DualMac(x_odd, simd::OddBytes(v1), a1);
    } else {
      a0 = simd::DualMac(x_even, simd::EvenBytesPlus(wo, v0), a0);
      a0 = simd::DualMac(x_odd, simd::OddBytesPlus(wo, v0), a0);
      a1 = simd::DualMac(x_even, simd::EvenBytesPlus(wo, v1), a1);
      a1 = simd::DualMac(x_odd, simd::OddBytesPlus(wo, v1), a1);
    }
  }
#endif
  for (; i < n; ++i) {
    const int32_t xv = static_cast<int32_t>(x[i]) + x_offset;
    a0 = MacWrap(a0, static_cast<int32_t>(w0[i]) + w_offset, xv);
    a1 = MacWrap(a1, static_cast<int32_t>(w1[i]) + w_offset, xv);
  }
  *acc0 = a0;
  *acc1 = a1;
}

// Two input vectors (two output positions of a 1x1-like convolution) against two filter rows:
// acc[0] / acc[1] += x0 . (w0 / w1), acc[2] / acc[3] += x1 . (w0 / w1), offsets as in DotPair
// with symmetric weights. The reference is one DotPair per input vector; the DSP path also
// shares each widened filter word between the two positions.
inline void DotPair2x2(const int8_t* x0, const int8_t* x1, const int8_t* w0, const int8_t* w1,
                       int32_t n, int32_t x_offset, int32_t* acc) {
  int32_t i = 0;
#if TFLM_TRAIN_KERNELS_DSP
  const uint32_t xo = simd::Splat16(x_offset);
  int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
  for (; i + 4 <= n; i += 4) {
    const uint32_t u0 = simd::Load4(x0 + i);
    const uint32_t u1 = simd::Load4(x1 + i);
    const int32_t x0_even = simd::EvenBytesPlus(xo, u0), x0_odd = simd::OddBytesPlus(xo, u0);
    const int32_t x1_even = simd::EvenBytesPlus(xo, u1), x1_odd = simd::OddBytesPlus(xo, u1);
    uint32_t v = simd::Load4(w0 + i);
    int32_t w_half = simd::EvenBytes(v);
    a00 = simd::DualMac(x0_even, w_half, a00);
    a10 = simd::DualMac(x1_even, w_half, a10);
    w_half = simd::OddBytes(v);
    a00 = simd::DualMac(x0_odd, w_half, a00);
    a10 = simd::DualMac(x1_odd, w_half, a10);
    v = simd::Load4(w1 + i);
    w_half = simd::EvenBytes(v);
    a01 = simd::DualMac(x0_even, w_half, a01);
    a11 = simd::DualMac(x1_even, w_half, a11);
    w_half = simd::OddBytes(v);
    a01 = simd::DualMac(x0_odd, w_half, a01);
    a11 = simd::DualMac(x1_odd, w_half, a11);
  }
  acc[0] = a00;
  acc[1] = a01;
  acc[2] = a10;
  acc[3] = a11;
#endif
  DotPair(x0 + i, w0 + i, w1 + i, n - i, x_offset, 0, &acc[0], &acc[1]);
  DotPair(x1 + i, w0 + i, w1 + i, n - i, x_offset, 0, &acc[2], &acc[3]);
}

// Depthwise: one filter tap applied to adjacent channels, each channel with its own sum.
// acc += w[0] * (x[0] + x_offset): one channel.
inline void MacTap(const int8_t* x, const int8_t* w, int32_t x_offset, int32_t& acc) {
  acc = MacWrap(acc, static_cast<int32_t>(w[0]), static_cast<int32_t>(x[0]) + x_offset);
}

// Four channels' sums (named fields, not an array, so they stay in registers).
struct Lanes4 {
  int32_t c0, c1, c2, c3;
};

// acc.cK += w[K] * (x[K] + x_offset) for K < 4.
inline void MacTap(const int8_t* x, const int8_t* w, int32_t x_offset, Lanes4& acc) {
#if TFLM_TRAIN_KERNELS_DSP
  const uint32_t xv = simd::Load4(x);
  const uint32_t wv = simd::Load4(w);
  const int32_t x_even = simd::EvenBytesPlus(simd::Splat16(x_offset), xv);  // channels 0, 2
  const int32_t x_odd = simd::OddBytesPlus(simd::Splat16(x_offset), xv);    // channels 1, 3
  const int32_t w_even = simd::EvenBytes(wv);
  const int32_t w_odd = simd::OddBytes(wv);
  acc.c0 = simd::MacLow(x_even, w_even, acc.c0);
  acc.c1 = simd::MacLow(x_odd, w_odd, acc.c1);
  acc.c2 = simd::MacHigh(x_even, w_even, acc.c2);
  acc.c3 = simd::MacHigh(x_odd, w_odd, acc.c3);
#else
  MacTap(x, w, x_offset, acc.c0);
  MacTap(x + 1, w + 1, x_offset, acc.c1);
  MacTap(x + 2, w + 2, x_offset, acc.c2);
  MacTap(x + 3, w + 3, x_offset, acc.c3);
#endif
}

// Two output positions through the same tap: a.cK += w[K] * (x[K] + x_offset) and
// b.cK += w[K] * (x[dx + K] + x_offset). The reference is one MacTap per position; the DSP path
// loads and widens the filter word once for both.
inline void MacTap2(const int8_t* x, int32_t dx, const int8_t* w, int32_t x_offset, Lanes4& a,
                    Lanes4& b) {
#if TFLM_TRAIN_KERNELS_DSP
  const uint32_t wv = simd::Load4(w);
  const int32_t w_even = simd::EvenBytes(wv);
  const int32_t w_odd = simd::OddBytes(wv);
  const uint32_t xo = simd::Splat16(x_offset);
  uint32_t xv = simd::Load4(x);
  int32_t x_even = simd::EvenBytesPlus(xo, xv);
  int32_t x_odd = simd::OddBytesPlus(xo, xv);
  a.c0 = simd::MacLow(x_even, w_even, a.c0);
  a.c1 = simd::MacLow(x_odd, w_odd, a.c1);
  a.c2 = simd::MacHigh(x_even, w_even, a.c2);
  a.c3 = simd::MacHigh(x_odd, w_odd, a.c3);
  xv = simd::Load4(x + dx);
  x_even = simd::EvenBytesPlus(xo, xv);
  x_odd = simd::OddBytesPlus(xo, xv);
  b.c0 = simd::MacLow(x_even, w_even, b.c0);
  b.c1 = simd::MacLow(x_odd, w_odd, b.c1);
  b.c2 = simd::MacHigh(x_even, w_even, b.c2);
  b.c3 = simd::MacHigh(x_odd, w_odd, b.c3);
#else
  MacTap(x, w, x_offset, a);
  MacTap(x + dx, w, x_offset, b);
#endif
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DOT_PRODUCT_H_
