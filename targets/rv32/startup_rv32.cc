// RV32 startup for QEMU's `virt` machine (-bios none: its reset ROM jumps to the ELF's entry in
// machine mode): stack, global and thread pointer, trap vector, .data copy, .bss zero, C++ static
// constructors, exit(main()). Every trap (access fault, illegal instruction, misaligned access,
// stray interrupt) prints mcause / mepc / mtval through semihosting and exits with code 42, like
// the Cortex-M fault handlers.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "targets/board/board.h"

// The CSR instructions (Zicsr) for the asm below: -march=rv32imc keeps the C library's rv32im
// multilib, and GCC 12 does not name Zicsr in it.
__asm__(".option arch, +zicsr");

extern "C" {
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack, _sstack, end;
using InitFunction = void (*)(void);
extern InitFunction __init_array_start[], __init_array_end[];
int main(void);

[[noreturn]] void board_reset_c(void);
[[noreturn]] void board_trap_c(uint32_t mcause, uint32_t mepc, uint32_t mtval, uint32_t sp);

__attribute__((naked, section(".text.start"))) void _start(void) {
  __asm volatile(
      ".option push\n"
      ".option norelax\n"
      "la gp, __global_pointer$\n"
      ".option pop\n"
      "la sp, _estack\n"
      "la tp, __tls_base\n"
      "la t0, board_trap_entry\n"
      "csrw mtvec, t0\n"
      "j board_reset_c\n");
}

// Direct-mode trap vector (4-byte aligned). A trap from a stack overflow has no usable stack:
// the handler runs on the top of RAM (it never returns).
__attribute__((naked, aligned(4))) void board_trap_entry(void) {
  __asm volatile(
      "mv a3, sp\n"
      "la sp, _estack\n"
      "csrr a0, mcause\n"
      "csrr a1, mepc\n"
      "csrr a2, mtval\n"
      "j board_trap_c\n");
}

void board_reset_c(void) {
  const uint32_t* src = &_sidata;
  for (uint32_t* dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (uint32_t* dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  for (InitFunction* f = __init_array_start; f < __init_array_end; ++f) (*f)();
  exit(main());
}

void board_trap_c(uint32_t mcause, uint32_t mepc, uint32_t mtval, uint32_t sp) {
  const uint32_t code = mcause & 0x7FFFFFFFu;
  const char* what = (mcause >> 31) ? "interrupt"
                     : code == 1    ? "instruction access fault"
                     : code == 2    ? "illegal instruction"
                     : code == 4    ? "load address misaligned"
                     : code == 5    ? "load access fault"
                     : code == 6    ? "store address misaligned"
                     : code == 7    ? "store access fault"
                                    : "exception";
  printf("\n*** %s: mcause=0x%08lx mepc=0x%08lx mtval=0x%08lx sp=0x%08lx\n", what,
         static_cast<unsigned long>(mcause), static_cast<unsigned long>(mepc),
         static_cast<unsigned long>(mtval), static_cast<unsigned long>(sp));
  exit(kBoardFaultExitCode);
}

// picolibc's break function; the heap itself is the board layer's (board.cc).
void* sbrk(ptrdiff_t incr) { return board_break(incr); }
}  // extern "C"
