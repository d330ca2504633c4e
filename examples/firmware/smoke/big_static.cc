// Link-overflow check: a static buffer of BIG_KB kilobytes (see firmware_link_fail_test in
// BUILD). Too big for the board's RAM -> the link must fail.
#include <cstdint>

#include "examples/firmware/board/board.h"

#ifndef BIG_KB
#define BIG_KB 1
#endif

volatile uint8_t g_big[BIG_KB * 1024];

int main() {
  board_init();
  g_big[sizeof(g_big) - 1] = 1;
  board_print_memory();
  return g_big[sizeof(g_big) - 1] - 1;
}
