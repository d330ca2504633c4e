#include "kernels/training/activation_grad.h"

#include <cstring>

#if defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>
#endif

namespace tflm_train {

void ActivationGrad(int32_t size, const int8_t* output, int32_t lo, int32_t hi,
                    const float* grad_output, float* grad_input) {
  for (int32_t i = 0; i < size; ++i) {
    const int32_t q = output[i];
    grad_input[i] = (q > lo && q < hi) ? grad_output[i] : 0.0f;
  }
}

namespace {

#if defined(__ARM_FEATURE_SIMD32)
// Mask bytes [0, bytes) from 8 outputs each, four at a time in a word: with the bytes biased to
// unsigned (q + 128), lo < q < hi is first <= u <= last, two unsigned byte compares (USUB8 sets
// a GE flag per byte, SEL picks by it). The selected bytes carry the element's bit at its place
// in the mask byte (bit k of byte k of the first word, bit 4 + k of the second), so the mask
// byte is the sum of the eight bytes, which one multiply gathers in the top byte (the bits are
// disjoint: no carries).
__attribute__((noinline)) void MaskSaveWords(int32_t bytes, const int8_t* output, int32_t first, int32_t last,
                   uint8_t* mask) {
  const uint32_t bias = 0x80808080u, low = 0x01010101u * static_cast<uint32_t>(first);
  const uint32_t high = 0x01010101u * static_cast<uint32_t>(last);
  const int8_t* end = output + 8 * bytes;
  for (; output != end; output += 8) {
    uint32_t w0, w1;
    std::memcpy(&w0, output, 4);
    std::memcpy(&w1, output + 4, 4);
    const uint32_t u0 = w0 ^ bias, u1 = w1 ^ bias;
    __usub8(u0, low);
    uint32_t m0 = __sel(0x08040201u, 0u);
    __usub8(high, u0);
    m0 = __sel(m0, 0u);
    __usub8(u1, low);
    uint32_t m1 = __sel(0x80402010u, 0u);
    __usub8(high, u1);
    m1 = __sel(m1, 0u);
    *mask++ = static_cast<uint8_t>(((m0 | m1) * 0x01010101u) >> 24);
  }
}
#endif

}  // namespace

void ActivationMaskSave(int32_t size, const int8_t* output, int32_t lo, int32_t hi,
                        uint8_t* mask) {
  int32_t byte = 0;
#if defined(__ARM_FEATURE_SIMD32)
  // Whole mask bytes: lo < q < hi as q + 128 in [first, last] (lo >= -128, hi <= 128 for int8
  // bounds; an empty range leaves it to the loop below).
  const int32_t first = lo + 129, last = hi + 127;
  if (first <= last && first >= 0 && last <= 255) {
    byte = size / 8;
    MaskSaveWords(byte, output, first, last, mask);
  }
#endif
  for (; byte * 8 < size; ++byte) {
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

namespace {

// 24 mask bits from bit `bit` on (bit 0 of the result = bit `bit`), reading whole bytes and none
// past the mask's `bytes`: 24 bits plus the shift within the first byte fit one 32-bit word.
inline uint32_t MaskBits24(const uint8_t* mask, int32_t bytes, int32_t bit) {
  const int32_t at = bit >> 3;
  uint32_t word;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (at + 4 <= bytes) {
    std::memcpy(&word, mask + at, sizeof(word));  // one unaligned LDR on Cortex-M4/M7
    return word >> (bit & 7);
  }
#endif
  word = 0;
  for (int32_t k = 0; k < 4 && at + k < bytes; ++k) word |= uint32_t{mask[at + k]} << (8 * k);
  return word >> (bit & 7);
}

// The zeros of one position's up to 24 masked channels: `blocked` has bit j set where row[j]
// becomes +0.0f (by its bits from a core register: one STR with the bit index as a scaled
// register offset, where a VSTR waited for the address's ADDs). Lowest bit first.
inline void ZeroBlocked(uint32_t blocked, float* row) {
  constexpr uint32_t kZeroBits = 0;  // the bits of +0.0f
#if defined(__thumb2__)
  // Two bits a loop, the next mask's SUB between the CLZ and the STR that uses its result (GCC
  // put an ADD there: the address-generation stall): ~8 estimated M4 cycles a bit against ~11.
  if (blocked != 0) {
    uint32_t bit, rest;
    __asm__ volatile(
        "1:\n\t"
        "rbit %[bit], %[b]\n\t"
        "clz %[bit], %[bit]\n\t"
        "sub %[rest], %[b], #1\n\t"
        "str %[z], [%[row], %[bit], lsl #2]\n\t"
        "ands %[b], %[b], %[rest]\n\t"
        "beq 2f\n\t"
        "rbit %[bit], %[b]\n\t"
        "clz %[bit], %[bit]\n\t"
        "sub %[rest], %[b], #1\n\t"
        "str %[z], [%[row], %[bit], lsl #2]\n\t"
        "ands %[b], %[b], %[rest]\n\t"
        "bne 1b\n"
        "2:"
        : [b] "+r"(blocked), [bit] "=&r"(bit), [rest] "=&r"(rest)
        : [row] "r"(row), [z] "r"(kZeroBits)
        : "cc", "memory");
  }
#else
  while (blocked != 0) {
    std::memcpy(row + __builtin_ctz(blocked), &kZeroBits, sizeof(kZeroBits));
    blocked &= blocked - 1u;
  }
#endif
}

}  // namespace

void ActivationGradFromMaskGroup(int32_t positions, int32_t channels, int32_t c0, int32_t g,
                                 const uint8_t* mask, float* grad) {
  if (mask == nullptr) return;
  const int32_t bytes = (positions * channels + 7) / 8;
  // Chunks of 24 channels outside, positions inside (each store is its own: the order changes
  // no bit): the position loop carries only a bit index and a row pointer, where the nested
  // loops kept ~50 estimated M4 cycles of spilled counters per position (groups are <= 24).
  for (int32_t j = 0; j < g; j += 24) {
    const int32_t n = g - j < 24 ? g - j : 24;
    const uint32_t keep = (1u << n) - 1u;
    float* row = grad + j;
    int32_t bit = c0 + j;
    for (int32_t p = 0; p < positions; ++p, row += g, bit += channels) {
      ZeroBlocked(~MaskBits24(mask, bytes, bit) & keep, row);
    }
  }
}

}  // namespace tflm_train
