// Prints the bits of float32 (and a few float64) + - * / and conversions over special operands
// (signed zeros, subnormals, FLT_MIN/MAX, infinities, NaNs, rounding ties) and seeded random bit
// patterns, one line per operation: "<op> <a> <b> <result>" in hex. On the FPU-less boards these
// are libgcc's software routines (__aeabi_fadd, __addsf3, ...); tests/test_soft_float.py compares
// every line with numpy's float32 / float64 on the host, the float contract (design contract 2)
// for boards without an FPU.
#include <cstdint>
#include <cstring>

#include "targets/board/board.h"

#ifndef SOFT_FLOAT_SEED
#define SOFT_FLOAT_SEED 17
#endif
#ifndef SOFT_FLOAT_RANDOM
#define SOFT_FLOAT_RANDOM 1500
#endif

namespace {

// Operands chosen for where software float is most often wrong: zeros of both signs, the
// subnormal range and its edges, the overflow edge, infinities, NaNs, and pairs whose exact sum or
// product lies halfway between two floats (round half to even).
const uint32_t kSpecials[] = {
    0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000,
    0x80800000, 0x00800001, 0x3f800000, 0xbf800000, 0x3fc00000, 0x40400000, 0x3f7fffff,
    0x3f800001, 0x33800000, 0xb3800000, 0x34000000, 0x4b000000, 0x4b7fffff, 0x4b800001,
    0x7f7fffff, 0xff7fffff, 0x7f000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00001,
    0x3eaaaaab, 0x0c000000, 0x33000001, 0x3f000000,
};
constexpr int kNumSpecials = sizeof(kSpecials) / sizeof(kSpecials[0]);

uint32_t g_state = SOFT_FLOAT_SEED;
uint32_t Next() {  // xorshift32
  g_state ^= g_state << 13;
  g_state ^= g_state >> 17;
  g_state ^= g_state << 5;
  return g_state;
}

float F(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint32_t U(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
uint64_t U64(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}
double D(uint32_t hi, uint32_t lo) {
  const uint64_t u = (static_cast<uint64_t>(hi) << 32) | lo;
  double d;
  std::memcpy(&d, &u, 8);
  return d;
}

// volatile operands: the compiler must not fold the operations at build time (that would be the
// host's arithmetic, not the board's).
void Float32(uint32_t a_bits, uint32_t b_bits) {
  volatile float a = F(a_bits), b = F(b_bits);
  const unsigned long ua = a_bits, ub = b_bits;
  board_printf("fadd %08lx %08lx %08lx\n", ua, ub, static_cast<unsigned long>(U(a + b)));
  board_printf("fsub %08lx %08lx %08lx\n", ua, ub, static_cast<unsigned long>(U(a - b)));
  board_printf("fmul %08lx %08lx %08lx\n", ua, ub, static_cast<unsigned long>(U(a * b)));
  board_printf("fdiv %08lx %08lx %08lx\n", ua, ub, static_cast<unsigned long>(U(a / b)));
}

void Conversions(uint32_t bits) {
  volatile int32_t i = static_cast<int32_t>(bits);
  board_printf("i2f %08lx 0 %08lx\n", static_cast<unsigned long>(bits),
               static_cast<unsigned long>(U(static_cast<float>(i))));
  volatile float f = F(bits);
  const float a = f;
  if (a == a && a > -2147483648.0f && a < 2147483648.0f) {  // defined conversions only
    board_printf("f2i %08lx 0 %08lx\n", static_cast<unsigned long>(bits),
                 static_cast<unsigned long>(static_cast<uint32_t>(static_cast<int32_t>(a))));
  }
  volatile double d = a;
  board_printf("f2d %08lx 0 %08lx%08lx\n", static_cast<unsigned long>(bits),
               static_cast<unsigned long>(U64(d) >> 32), static_cast<unsigned long>(U64(d)));
}

void Float64(double a, double b) {
  volatile double va = a, vb = b;
  const double r[3] = {va + vb, va * vb, va / vb};
  const char* names[3] = {"dadd", "dmul", "ddiv"};
  for (int k = 0; k < 3; ++k) {
    board_printf("%s %08lx%08lx %08lx%08lx %08lx%08lx\n", names[k],
                 static_cast<unsigned long>(U64(a) >> 32), static_cast<unsigned long>(U64(a)),
                 static_cast<unsigned long>(U64(b) >> 32), static_cast<unsigned long>(U64(b)),
                 static_cast<unsigned long>(U64(r[k]) >> 32), static_cast<unsigned long>(U64(r[k])));
  }
}

}  // namespace

int main() {
  board_start("softfloat");
  board_printf("[softfloat] seed %lu, %d specials, %d random\n",
               static_cast<unsigned long>(SOFT_FLOAT_SEED), kNumSpecials, SOFT_FLOAT_RANDOM);
  long lines = 0;
  for (int i = 0; i < kNumSpecials; ++i) {
    for (int j = 0; j < kNumSpecials; ++j) {
      Float32(kSpecials[i], kSpecials[j]);
      lines += 4;
    }
    Conversions(kSpecials[i]);
  }
  for (int n = 0; n < SOFT_FLOAT_RANDOM; ++n) {
    // a random exponent spread: half the draws keep the exponents of a and b close (the
    // cancellation and rounding paths), half are any bit pattern
    const uint32_t a = Next();
    uint32_t b = Next();
    if (n & 1) b = (a & 0xff800000u) ^ (b & 0x807fffffu) ^ ((b & 3u) << 23);
    Float32(a, b);
    Conversions(a);
    Float64(D(Next(), Next()), D(Next(), Next()));
    lines += 4;
  }
  board_printf("[softfloat] %ld float32 operations printed\n", lines);
  return board_finish("softfloat", 0);
}
