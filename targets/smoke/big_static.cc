// Link-overflow checks (see firmware_link_fail_test in BUILD): a static buffer of BIG_KB
// kilobytes in RAM (too big -> "region `RAM' overflowed") and, with FLASH_KB, a const table of
// FLASH_KB kilobytes in flash (too big -> "region `FLASH' overflowed").
#include <cstdint>

#include "targets/board/board.h"

#ifndef BIG_KB
#define BIG_KB 1
#endif

volatile uint8_t g_big[BIG_KB * 1024];
#ifdef FLASH_KB
extern const uint8_t g_table[FLASH_KB * 1024];
const uint8_t g_table[FLASH_KB * 1024] = {1};
#endif

int main() {
  board_init();
  g_big[sizeof(g_big) - 1] = 1;
#ifdef FLASH_KB
  g_big[0] = *static_cast<const volatile uint8_t*>(&g_table[0]);
#endif
  board_print_memory();
  return g_big[sizeof(g_big) - 1] - 1;
}
