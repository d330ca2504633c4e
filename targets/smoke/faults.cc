// Firmware that must die in the fault handler (exit 42). FAULT selects the violation:
//   1  write one word past the end of the board's RAM (MPU RAM window)
//   2  unbounded recursion into the stack guard (MPU stack guard)
//   3  write to flash (MPU: flash is read-only)
//   4  read past the end of the 1 MB flash window
#include <cstdint>

#include "targets/board/board.h"

#ifndef FAULT
#error "define FAULT"
#endif

namespace {
__attribute__((noinline)) int Recurse(int n) {
  volatile char buf[64];
  buf[0] = static_cast<char>(n);
  return n ? Recurse(n + 1) + buf[0] : 0;
}
const uint32_t kConst = 0x12345678u;
}  // namespace

extern "C" char __ram_origin[];  // linker script

int main() {
  if (!board_init()) {
    board_printf("board_init failed\n");
    return 1;
  }
  const BoardMemory m = board_memory();
  board_printf("[fault] board=%s RAM %lu bytes, test %d\n", board_name(),
               static_cast<unsigned long>(m.ram_size), FAULT);
  board_flush();
#if FAULT == 1
  volatile uint32_t* p =
      reinterpret_cast<volatile uint32_t*>(reinterpret_cast<uintptr_t>(__ram_origin) + m.ram_size);
  *p = 1;
#elif FAULT == 2
  board_printf("recursion: %d\n", Recurse(1));
#elif FAULT == 3
  *const_cast<volatile uint32_t*>(&kConst) = 0;
#elif FAULT == 4
  volatile uint32_t* p =
      reinterpret_cast<volatile uint32_t*>(reinterpret_cast<uintptr_t>(&kConst) -
                                           (reinterpret_cast<uintptr_t>(&kConst) & 0xFFFFF) +
                                           m.flash_size + 0x100);
  board_printf("read %lu\n", static_cast<unsigned long>(*p));
#endif
  board_printf("NOT TRAPPED\n");
  return 0;
}
