// RV32 part of the board layer (board.h; the common part is targets/board/board.cc): PMP
// windows, the cycle counter as tick counter, no UART.
//
// PMP instead of an MPU: locked entries bind machine mode too. Entry 0 is the stack guard
// (the lowest-numbered match wins), then flash read + execute only, then no access from the end
// of RAM to the end of QEMU's 128 MB. RAM and the checkpoint area between flash and RAM match no
// entry: machine mode keeps full access there.
#include <cstddef>
#include <cstdint>

#include "targets/board/board.h"

// The CSR instructions (Zicsr) for the asm below: -march=rv32imc keeps the C library's rv32im
// multilib, and GCC 12 does not name Zicsr in it.
__asm__(".option arch, +zicsr");

extern "C" {
extern uint32_t _sstack;
extern char __flash_origin[], __flash_length[], __ram_origin[], __ram_length[];
}

namespace {

inline uint32_t Addr(const void* p) { return reinterpret_cast<uint32_t>(p); }

constexpr uint32_t kPmpLock = 1u << 7, kPmpTor = 1u << 3, kPmpNapot = 3u << 3;
constexpr uint32_t kPmpR = 1u << 0, kPmpX = 1u << 2;
constexpr uint32_t kQemuRamEnd = 0x88000000u;  // virt's DRAM: 0x80000000 + 128 MB (-m default)

bool SetupPmp(const BoardInitOptions& o) {
  uint32_t addr[8] = {}, cfg[8] = {};
  const uint32_t guard = Addr(&_sstack);
  if (o.mpu_stack_guard && guard % kBoardStackGuardBytes == 0) {
    addr[0] = (guard | (kBoardStackGuardBytes / 2 - 1)) >> 2;
    cfg[0] = kPmpLock | kPmpNapot;
  }
  if (o.mpu_flash_window) {
    addr[1] = Addr(__flash_origin) >> 2;  // the next entry's TOR base
    addr[2] = (Addr(__flash_origin) + Addr(__flash_length)) >> 2;
    cfg[2] = kPmpLock | kPmpTor | kPmpR | kPmpX;
  }
  if (o.mpu_ram_window) {
    addr[3] = (Addr(__ram_origin) + Addr(__ram_length)) >> 2;
    addr[4] = kQemuRamEnd >> 2;
    cfg[4] = kPmpLock | kPmpTor;
  }
#define BOARD_PMPADDR(i) __asm volatile("csrw pmpaddr" #i ", %0" ::"r"(addr[i]))
  BOARD_PMPADDR(0);
  BOARD_PMPADDR(1);
  BOARD_PMPADDR(2);
  BOARD_PMPADDR(3);
  BOARD_PMPADDR(4);
#undef BOARD_PMPADDR
  const uint32_t cfg0 = cfg[0] | (cfg[1] << 8) | (cfg[2] << 16) | (cfg[3] << 24);
  const uint32_t cfg1 = cfg[4];
  __asm volatile("csrw pmpcfg1, %0\n csrw pmpcfg0, %1" ::"r"(cfg1), "r"(cfg0) : "memory");
  uint32_t back;
  __asm volatile("csrr %0, pmpcfg0" : "=r"(back));
  return back == cfg0;
}

}  // namespace

bool board_init(const BoardInitOptions& options) {
  if (options.paint_stack) board_stack_paint();
  if (options.mpu_ram_window || options.mpu_flash_window || options.mpu_stack_guard) {
    return SetupPmp(options);
  }
  return true;
}

// mcycle: under QEMU with -icount shift=0 it counts instructions (1 ns each, __board_tick_hz is
// 1 GHz), exactly; on a real core, cycles.
uint64_t board_ticks() {
  uint32_t hi, lo, hi2;
  do {
    __asm volatile("csrr %0, mcycleh" : "=r"(hi));
    __asm volatile("csrr %0, mcycle" : "=r"(lo));
    __asm volatile("csrr %0, mcycleh" : "=r"(hi2));
  } while (hi != hi2);
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

// virt's UART is a 16550, not the CMSDK UART the Arduino shim's Serial drives: no port here.
bool board_uart_init(uint32_t) { return false; }
int board_uart_read() { return -1; }
void board_uart_write(const uint8_t*, size_t) {}
