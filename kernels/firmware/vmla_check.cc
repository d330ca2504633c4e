// Proof on the board that VMLA.F32 (kernels/training/vfp_asm.h Vmla, MulAdd's form where
// TFLM_TRAIN_VFP_VMLA: the Cortex-M7) gives the bits of the C++ `acc + a * b` compiled under
// -ffp-contract=off (VMUL then VADD), tested directly on both boards so the M4 (whose kernels
// keep VMUL + VADD, cheaper there) proves it too; also MulAdd itself, in the form this board's
// kernels use, against the C++ expression: every triple of special
// operands (signed zeros, subnormals, FLT_MIN/MAX, infinities, quiet and signaling NaNs, values
// whose product overflows or underflows, exact cancellations, rounding ties) and random bit
// patterns / near-cancelling random values. Also reports the FPSCR the startup code leaves (FZ
// and DN must be clear: no flush-to-zero, NaN payloads propagated). Finding: VMLA is exactly
// VMUL + VADD(acc, product) in every case, NaNs included; GCC compiles `acc + a * b` to
// VADD(product, acc) (commutative operands reordered), which differs from VMLA only in the
// payload of the NaN result when both the accumulator and the product are NaN.
#include <cstdint>
#include <cstring>

#include "kernels/training/sgd_update.h"
#include "kernels/training/vfp_asm.h"
#include "targets/board/board.h"

namespace {

using tflm_train::MulAdd;
using tflm_train::Vmla;
using tflm_train::XorShift32;

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
bool IsNan(uint32_t u) { return (u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0; }

// The reference: what the portable kernels compile to. noinline + volatile-free plain C++ so
// GCC emits vmul.f32 + vadd.f32 (checked in the disassembly: no vmla/vfma under
// -ffp-contract=off).
__attribute__((noinline)) float Plain(float acc, float a, float b) { return acc + a * b; }
__attribute__((noinline)) float VmlaOnce(float acc, float a, float b) { return Vmla(acc, a, b); }
__attribute__((noinline)) float Kernel(float acc, float a, float b) { return MulAdd(acc, a, b); }
// VMUL then VADD with the accumulator as the add's first operand: FPAdd(acc, product), the
// order the ARM ARM gives VMLA (and the depthwise VLDM rows use where VMLA is off: the M4).
__attribute__((noinline)) float AccFirst(float acc, float a, float b) {
  float t;
  __asm__("vmul.f32 %0, %1, %2\n\tvadd.f32 %0, %3, %0" : "=&t"(t) : "t"(a), "t"(b), "t"(acc));
  return t;
}

struct Counts {
  uint32_t cases = 0, vmla_diff = 0, vmla_diff_nan = 0, acc_first_diff = 0, kernel_diff = 0;
  uint32_t digest = 2166136261u;
};

void Check(float acc, float a, float b, Counts* n) {
  const uint32_t want = Bits(Plain(acc, a, b));
  const uint32_t got = Bits(VmlaOnce(acc, a, b));
  const uint32_t acc_first = Bits(AccFirst(acc, a, b));
  const uint32_t kernel = Bits(Kernel(acc, a, b));
  ++n->cases;
  n->acc_first_diff += got != acc_first;
  // the kernels' form is one of the two proven ones: NaN-payload choices included, bit-equal
  n->kernel_diff += kernel != (TFLM_TRAIN_VFP_VMLA ? got : want);
  if (got != want) {
    // Allowed only where both addends are NaN: then IEEE lets the add return either payload,
    // and the operand order decides.
    if (IsNan(Bits(acc)) && IsNan(Bits(a * b))) {
      ++n->vmla_diff_nan;
    } else if (++n->vmla_diff <= 5) {
      board_printf("[vmla] DIFF acc %08lx a %08lx b %08lx: vmul+vadd %08lx vmla %08lx\n",
                   static_cast<unsigned long>(Bits(acc)), static_cast<unsigned long>(Bits(a)),
                   static_cast<unsigned long>(Bits(b)), static_cast<unsigned long>(want),
                   static_cast<unsigned long>(got));
    }
  }
  n->digest = (n->digest ^ got) * 16777619u;
}

}  // namespace

int main() {
  board_init();
  uint32_t fpscr;
  __asm__ volatile("vmrs %0, fpscr" : "=r"(fpscr));
  board_printf("[vmla] FPSCR %08lx: FZ %lu DN %lu RMode %lu\n", static_cast<unsigned long>(fpscr),
               static_cast<unsigned long>((fpscr >> 24) & 1),
               static_cast<unsigned long>((fpscr >> 25) & 1),
               static_cast<unsigned long>((fpscr >> 22) & 3));
  const uint32_t special[] = {
      0x00000000u, 0x80000000u,                // +-0
      0x00000001u, 0x80000001u,                // smallest subnormals
      0x007fffffu, 0x807fffffu,                // largest subnormals
      0x00400000u,                             // a mid subnormal
      0x00800000u, 0x80800000u,                // +-FLT_MIN
      0x7f7fffffu, 0xff7fffffu,                // +-FLT_MAX
      0x7f800000u, 0xff800000u,                // +-inf
      0x7fc00000u, 0xffc12345u,                // quiet NaNs (payload)
      0x7f800001u, 0xff812345u,                // signaling NaNs
      0x3f800000u, 0xbf800000u,                // +-1
      0x3f800001u, 0x3fffffffu,                // 1 + ulp, just below 2 (rounding of products)
      0x33800000u,                             // 2^-24: acc + it is a rounding tie at 1
      0x5f800000u, 0x1f800000u,                // 2^64, 2^-64: products overflow / underflow
      0x20000000u, 0xa0000000u,                // 2^-63: product of two is subnormal-ish
      0x4b000001u, 0xcb7fffffu,                // large integers (int8 gradient range, ties)
  };
  constexpr int kSpecial = sizeof(special) / sizeof(special[0]);
  Counts n;
  for (int i = 0; i < kSpecial; ++i) {
    for (int j = 0; j < kSpecial; ++j) {
      for (int k = 0; k < kSpecial; ++k) {
        Check(FromBits(special[i]), FromBits(special[j]), FromBits(special[k]), &n);
      }
    }
  }
  const uint32_t special_cases = n.cases;
  uint32_t rng = 0x1234567u;
  for (int i = 0; i < 200000; ++i) {
    const float a = FromBits(XorShift32(&rng)), b = FromBits(XorShift32(&rng));
    // any bit pattern; a special operand; the negated product (exact cancellation, rounding
    // of a near-cancellation) in place of the accumulator
    float acc = FromBits(XorShift32(&rng));
    switch (i % 4) {
      case 1: acc = FromBits(special[XorShift32(&rng) % kSpecial]); break;
      case 2: acc = -(a * b); break;
      case 3: acc = FromBits(Bits(-(a * b)) ^ (XorShift32(&rng) & 7)); break;
      default: break;
    }
    Check(acc, a, b, &n);
    // gradient-like magnitudes: exponents near each other, mantissas random
    const float ga = FromBits((XorShift32(&rng) & 0x807fffffu) | 0x3c000000u);
    const float gb = FromBits((XorShift32(&rng) & 0x807fffffu) | 0x42000000u);
    const float gacc = FromBits((XorShift32(&rng) & 0x80ffffffu) | 0x3e000000u);
    Check(gacc, ga, gb, &n);
  }
  board_printf("[vmla] %lu special triples + %lu random: vmla != C++ acc + a * b in %lu, "
               "besides %lu NaN-payload choices (acc and product both NaN); vmla != vmul + "
               "vadd(acc, product) in %lu; kernel MulAdd (%s) != its form in %lu; digest %08lx\n",
               static_cast<unsigned long>(special_cases),
               static_cast<unsigned long>(n.cases - special_cases),
               static_cast<unsigned long>(n.vmla_diff),
               static_cast<unsigned long>(n.vmla_diff_nan),
               static_cast<unsigned long>(n.acc_first_diff),
               TFLM_TRAIN_VFP_VMLA ? "vmla" : "vmul + vadd",
               static_cast<unsigned long>(n.kernel_diff),
               static_cast<unsigned long>(n.digest));
  const bool ok = n.vmla_diff == 0 && n.acc_first_diff == 0 && n.kernel_diff == 0 &&
                  ((fpscr >> 24) & 3) == 0;
  board_printf("[vmla] %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
