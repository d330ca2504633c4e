// The few Cortex-M DSP-extension operations the forward kernels use, on 32-bit words holding
// four int8 values (byte 0 = lowest address). Only included when TFLM_TRAIN_KERNELS_DSP is 1.
#ifndef TFLM_TRAIN_KERNELS_ARM_SIMD_H_
#define TFLM_TRAIN_KERNELS_ARM_SIMD_H_

#include <arm_acle.h>

#include <cstdint>
#include <cstring>

// 1 on the Cortex-M7, where instruction order matters beyond the M4's load pipelining: it issues
// two instructions a cycle in order (two load pipes, one MAC pipe; LDM/STM issue alone), so the
// hot loops' M7 forms interleave single loads with their multiply-accumulates where the M4 forms
// keep LDMs (on the M4 an LDR between two MACs costs 2 cycles, an LDM of 4 five). Same results.
// FPv5 with double precision on an Armv7E-M core marks the M7 builds (as in
// training/vfp_asm.h); an M7 built otherwise passes -DTFLM_TRAIN_DSP_DUAL_ISSUE=1.
#ifndef TFLM_TRAIN_DSP_DUAL_ISSUE
#if defined(__ARM_FP) && (__ARM_FP & 8) && __ARM_ARCH == 7
#define TFLM_TRAIN_DSP_DUAL_ISSUE 1
#else
#define TFLM_TRAIN_DSP_DUAL_ISSUE 0
#endif
#endif

namespace tflm_train {
namespace simd {

// Four consecutive int8 values as one word. memcpy because activations/weights are only byte
// aligned; Cortex-M4/M7 LDR handles unaligned addresses (GCC emits a single LDR).
inline uint32_t Load4(const int8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// value in both 16-bit halves, the operand of the *AB16 adds below.
inline uint32_t Splat16(int32_t value) {
  return (static_cast<uint32_t>(value) & 0xFFFFu) | (static_cast<uint32_t>(value) << 16);
}

// Bytes 0 and 2, sign-extended to 16 bits, each plus `offset16` (halfwise): one SXTAB16.
inline int32_t EvenBytesPlus(uint32_t offset16, uint32_t word) {
  return static_cast<int32_t>(__sxtab16(offset16, word));
}

// Bytes 1 and 3 the same way. GCC 12 does not fold a rotate into SXTAB16's operand, so the
// rotated form is written out (one instruction instead of ROR + SXTAB16).
inline int32_t OddBytesPlus(uint32_t offset16, uint32_t word) {
  uint32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(offset16), "r"(word));
  return static_cast<int32_t>(r);
}

inline int32_t EvenBytes(uint32_t word) { return static_cast<int32_t>(__sxtb16(word)); }

inline int32_t OddBytes(uint32_t word) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(word));
  return static_cast<int32_t>(r);
}

// Both 16-bit lanes doubled (SADD16; a plain shift would carry the low lane's sign bit into
// the high lane). The lanes must not overflow (|lane| < 2^14).
inline uint32_t DoubleLanes(uint32_t v) { return __sadd16(v, v); }

// acc + a.lo * b.lo + a.hi * b.hi (SMLAD). Wraps modulo 2^32 like the scalar int32 sum.
inline int32_t DualMac(int32_t a, int32_t b, int32_t acc) { return __smlad(a, b, acc); }
// acc + a.lo * b.lo (SMLABB) and acc + a.hi * b.hi (SMLATT).
inline int32_t MacLow(int32_t a, int32_t b, int32_t acc) { return __smlabb(a, b, acc); }
inline int32_t MacHigh(int32_t a, int32_t b, int32_t acc) { return __smlatt(a, b, acc); }

// Four int8 results packed into one word (byte 0 = lowest address), for one unaligned STR
// instead of four STRBs. Each value must already be in [-128, 127].
inline uint32_t PackBytes(int32_t b0, int32_t b1, int32_t b2, int32_t b3) {
  uint32_t r = static_cast<uint32_t>(b0);
  __asm__("bfi %0, %1, #8, #8" : "+r"(r) : "r"(b1));
  __asm__("bfi %0, %1, #16, #8" : "+r"(r) : "r"(b2));
  __asm__("bfi %0, %1, #24, #8" : "+r"(r) : "r"(b3));
  return r;
}

// value's low byte in all four bytes, the operand of ClampBytes.
inline uint32_t Splat8(int32_t value) {
  return (static_cast<uint32_t>(value) & 0xFFu) * 0x01010101u;
}

// Each signed byte of `word` clamped to [lo, hi] (bytes of Splat8 values): SSUB8 sets a GE flag
// per byte, SEL picks by it; four instructions for four outputs.
// In one asm block because GCC does not track the GE flags between separate intrinsics.
inline uint32_t ClampBytes(uint32_t word, uint32_t lo, uint32_t hi) {
  uint32_t r, t;
  __asm__(
      "ssub8 %1, %2, %3\n\t"
      "sel %0, %2, %3\n\t"
      "ssub8 %1, %0, %4\n\t"
      "sel %0, %4, %0"
      : "=&r"(r), "=&r"(t)
      : "r"(word), "r"(lo), "r"(hi));
  return r;
}

inline void Store4(int8_t* p, uint32_t v) { std::memcpy(p, &v, sizeof(v)); }

}  // namespace simd
}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_ARM_SIMD_H_
