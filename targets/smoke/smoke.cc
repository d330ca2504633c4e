// Smoke firmware: board bring-up, RAM/stack report, float + int8 arithmetic, tick counter.
// Exit code 0 iff every check passed (the qemu_test also greps the output).
#include <cstdint>
#include <cstring>

#include "targets/board/board.h"
#include "targets/smoke/smoke_blob.h"

namespace {

int g_failures = 0;

void Check(bool ok, const char* what) {
  board_printf("%s: %s\n", ok ? "ok" : "FAIL", what);
  if (!ok) ++g_failures;
}

struct Ctor {
  int value;
  Ctor() : value(1234) {}
};
Ctor g_ctor;                 // static constructor must have run
int g_data = 7;              // .data must be copied
int g_bss;                   // .bss must be zero
int8_t g_act[64];            // int8 "activations" in .bss
float g_weights[64];         // float buffer in .bss

// exactly 2*n + 1 instructions (subs/bne or addi/bnez per iteration, then the return)
__attribute__((noinline)) void Spin(uint32_t n) {
#if defined(__riscv)
  __asm volatile("1: addi %0, %0, -1\n bnez %0, 1b\n" : "+r"(n));
#else
  __asm volatile("1: subs %0, %0, #1\n bne 1b\n" : "+r"(n) : : "cc");
#endif
}

__attribute__((noinline)) int Recurse(int n) {
  volatile char buf[32];
  buf[0] = static_cast<char>(n);
  return n ? Recurse(n - 1) + buf[0] : 0;
}

}  // namespace

extern "C" char __ram_origin[];  // linker script

int main() {
  const bool mpu = board_init();
  board_printf("[smoke] board=%s mpu=%d tick_hz=%lu\n", board_name(), mpu ? 1 : 0,
               static_cast<unsigned long>(board_tick_hz()));
  Check(mpu, "board_init enabled the MPU");
  Check(g_ctor.value == 1234 && g_data == 7 && g_bss == 0, "static ctor, .data, .bss");

  // float: sum of i * 0.25 for i < 64 = 0.25 * 2016 = 504 (exact in binary32)
  for (int i = 0; i < 64; ++i) g_weights[i] = static_cast<float>(i) * 0.25f;
  volatile float scale = 1.5f;
  float fsum = 0.0f;
  for (int i = 0; i < 64; ++i) fsum += g_weights[i] * scale;
  board_printf("[smoke] float sum = %.3f\n", static_cast<double>(fsum));
  Check(fsum == 756.0f, "float arithmetic (the FPU, or libgcc's software float on the M3)");

  // int8: quantized dot product with int32 accumulation and a requantisation shift
  for (int i = 0; i < 64; ++i) g_act[i] = static_cast<int8_t>(i * 4 - 128);  // -128..124
  int32_t acc = 0;
  for (int i = 0; i < 64; ++i) acc += static_cast<int32_t>(g_act[i]) * static_cast<int8_t>(3 - i);
  int32_t q = (acc + (1 << 6)) >> 7;
  if (q > 127) q = 127;
  if (q < -128) q = -128;
  board_printf("[smoke] int8 dot = %ld -> q = %ld\n", static_cast<long>(acc), static_cast<long>(q));
  // sum_{i<64} (4i-128)(3-i) = -4*sum i^2 + 140*sum i - 384*64 = -4*85344 + 140*2016 - 24576
  Check(acc == -83712 && q == -128, "int8 dot product");

  // embedded blob (firmware_embed): 16-byte aligned, contents known
  Check((reinterpret_cast<uintptr_t>(smoke_blob) & 15u) == 0, "embedded blob is 16-byte aligned");
  Check(smoke_blob_len == 14 && smoke_blob[0] == 't' && smoke_blob[13] == '\n',
        "embedded blob contents");

  // tick counter: 2*100000+1 instructions = 5000 ticks of 40 instructions at 25 MHz, 4000 of 50
  // at 20 MHz (+ call overhead)
  const uint64_t t0 = board_ticks();
  Spin(100000);
  const uint64_t t1 = board_ticks();
  const unsigned long dt = static_cast<unsigned long>(t1 - t0);
  board_printf("[smoke] Spin(100000): %lu ticks = ~%lu instructions (%lu us at %lu Hz)\n", dt,
               static_cast<unsigned long>(board_ticks_to_insns(t1 - t0)),
               static_cast<unsigned long>(board_ticks_to_us(t1 - t0)),
               static_cast<unsigned long>(board_tick_hz()));
  char buf[21];
  Check(std::strcmp(board_u64_str(18446744073709551615ull, buf), "18446744073709551615") == 0 &&
            std::strcmp(board_u64_str(0, buf), "0") == 0,
        "board_u64_str (64-bit printing)");
  if (board_is_qemu()) {
    const uint64_t insns = board_ticks_to_insns(dt), per_tick = board_ticks_to_insns(1);
    // resolution one tick; on rv32 (1 tick = 1 instruction) the reads' own ~12 instructions count
    const uint64_t slack = 2 * (per_tick > 40 ? per_tick : 40);
    Check(insns + per_tick >= 200001 && insns <= 200001 + slack,
          "tick count deterministic (needs qemu -icount shift=0)");
  }

  // the last word of RAM is inside the MPU window: must not fault
  const BoardMemory m = board_memory();
  volatile uint32_t* last =
      reinterpret_cast<volatile uint32_t*>(reinterpret_cast<uintptr_t>(__ram_origin) + m.ram_size - 4);
  const uint32_t saved = *last;
  *last = saved;
  Check(true, "access to the last RAM word");

  board_stack_paint();
  const int r = Recurse(40);
  const uint32_t hw = board_stack_high_water();
  board_printf("[smoke] stack high-water %lu of %lu bytes (Recurse=%d)\n",
               static_cast<unsigned long>(hw), static_cast<unsigned long>(board_stack_size()), r);
  Check(hw > 40 * 32 && hw < board_stack_size(), "stack high-water plausible");

  board_print_memory();
  Check(m.ram_used + m.ram_free == m.ram_size && m.ram_used < m.ram_size, "RAM accounting");
  board_printf("[smoke] %s\n", g_failures == 0 ? "PASS" : "FAILED");
  return g_failures == 0 ? 0 : 1;
}
