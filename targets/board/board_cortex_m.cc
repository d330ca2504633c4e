// Cortex-M part of the board layer: PMSAv7 / PMSAv8 MPU windows, the SysTick tick counter and
// the CMSDK UART of QEMU's MPS2/MPS3 boards (board.h; the common part is board.cc).
#include <cstddef>
#include <cstdint>

#include "targets/board/board.h"

#define BOARD_REG(a) (*reinterpret_cast<volatile uint32_t*>(a))

extern "C" {
// Linker-script symbols: only their addresses are meaningful.
extern uint32_t _sstack;
extern char __flash_origin[], __flash_length[], __ram_origin[], __ram_length[];
void SysTick_Handler(void);
}

namespace {

inline uint32_t Addr(const void* p) { return reinterpret_cast<uint32_t>(p); }

// ---------------------------------------------------------------- MPU (ARMv7-M PMSAv7)
#if __ARM_ARCH < 8
constexpr uint32_t kMpuType = 0xE000ED90, kMpuCtrl = 0xE000ED94, kMpuRnr = 0xE000ED98,
                   kMpuRbar = 0xE000ED9C, kMpuRasr = 0xE000EDA0, kShcsr = 0xE000ED24;
constexpr uint32_t kXn = 1u << 28;
constexpr uint32_t kApNone = 0u << 24, kApRw = 3u << 24, kApRo = 6u << 24;
constexpr uint32_t kAttrFlash = (0u << 19) | (1u << 17);              // TEX0 C=1 B=0: WT
constexpr uint32_t kAttrRam = (1u << 19) | (1u << 17) | (1u << 16);   // TEX1 C=1 B=1: WBWA

struct Region {
  uint32_t base;
  uint32_t rasr;
};

uint32_t Log2(uint32_t v) {
  uint32_t n = 0;
  while (v > 1) {
    v >>= 1;
    ++n;
  }
  return n;
}

uint32_t SizeField(uint32_t bytes) { return (Log2(bytes) - 1) << 1; }

// Splits [base, base+size) into naturally aligned power-of-two regions (largest first).
// Returns the number written, or -1 if more than `max` would be needed or the range is not
// expressible (< 32 B granules).
int Decompose(uint32_t base, uint32_t size, uint32_t attrs, Region* out, int max) {
  int n = 0;
  while (size != 0) {
    uint32_t p = 1u << 31;
    while (p > size || (base & (p - 1)) != 0) p >>= 1;
    if (p < 32 || n == max) return -1;
    out[n++] = Region{base, attrs | SizeField(p) | 1u};
    base += p;
    size -= p;
  }
  return n;
}

bool SetupMpu(const BoardInitOptions& o) {
  const uint32_t dregion = (BOARD_REG(kMpuType) >> 8) & 0xFF;
  if (dregion == 0) return false;
  constexpr int kMax = 16;
  Region r[kMax];
  int n = 0;
  if (o.mpu_flash_window) {
    // Code space 0x00000000-0x1FFFFFFF: no access except the flash window (read-only + exec).
    r[n++] = Region{0x00000000u, kXn | kApNone | SizeField(512u << 20) | 1u};
    const int k = Decompose(Addr(__flash_origin), Addr(__flash_length), kApRo | kAttrFlash,
                            r + n, kMax - 1 - n);
    if (k < 0) return false;
    n += k;
  }
  if (o.mpu_ram_window) {
    // SRAM space 0x20000000-0x3FFFFFFF: no access except exactly the board's RAM (RW, XN).
    r[n++] = Region{0x20000000u, kXn | kApNone | SizeField(512u << 20) | 1u};
    const int k = Decompose(Addr(__ram_origin), Addr(__ram_length), kXn | kApRw | kAttrRam,
                            r + n, kMax - 1 - n);
    if (k < 0) return false;
    n += k;
  }
  const bool guard = o.mpu_stack_guard && (Addr(&_sstack) % kBoardStackGuardBytes) == 0;
  // Higher region numbers win; the guard takes the last one.
  if (static_cast<uint32_t>(n + (guard ? 1 : 0)) > dregion) return false;

  BOARD_REG(kMpuCtrl) = 0;
  __asm volatile("dsb\n isb" ::: "memory");
  for (uint32_t i = 0; i < dregion; ++i) {
    BOARD_REG(kMpuRnr) = i;
    BOARD_REG(kMpuRasr) = 0;
    BOARD_REG(kMpuRbar) = 0;
  }
  for (int i = 0; i < n; ++i) {
    BOARD_REG(kMpuRnr) = static_cast<uint32_t>(i);
    BOARD_REG(kMpuRbar) = r[i].base;
    BOARD_REG(kMpuRasr) = r[i].rasr;
  }
  if (guard) {
    BOARD_REG(kMpuRnr) = dregion - 1;
    BOARD_REG(kMpuRbar) = Addr(&_sstack);
    BOARD_REG(kMpuRasr) = kXn | kApNone | SizeField(kBoardStackGuardBytes) | 1u;
  }
  // Separate MemManage / BusFault / UsageFault handlers instead of escalation to HardFault.
  BOARD_REG(kShcsr) |= (1u << 16) | (1u << 17) | (1u << 18);
  BOARD_REG(kMpuCtrl) = (1u << 2) | 1u;  // PRIVDEFENA | ENABLE (HFNMIENA=0)
  __asm volatile("dsb\n isb" ::: "memory");
  return true;
}

#else  // Armv8-M: PMSAv8
// PMSAv8 regions have no "no access" permission and must not overlap, so instead of v7's
// no-access backgrounds with windows on top, the default map is off (PRIVDEFENA = 0) and only
// the windows are mapped: whatever no region covers faults. The stack guard is the gap between
// two RAM regions. The System space (SCB, SysTick, MPU) is always reachable.
constexpr uint32_t kMpuType = 0xE000ED90, kMpuCtrl = 0xE000ED94, kMpuRnr = 0xE000ED98,
                   kMpuRbar = 0xE000ED9C, kMpuRlar = 0xE000EDA0, kMpuMair0 = 0xE000EDC0,
                   kShcsr = 0xE000ED24;
// RBAR: AP[2:1] (0b00 RW privileged, 0b10 RO privileged), XN[0]; RLAR: AttrIndx[3:1], EN[0].
constexpr uint32_t kXn = 1u, kApRw = 0u << 1, kApRo = 2u << 1;
// MAIR0: attribute 0 normal write-back RAM, 1 normal write-through (flash), 2 Device-nGnRE.
constexpr uint32_t kAttrRam = 0u, kAttrFlash = 1u, kAttrDevice = 2u;
constexpr uint32_t kMair0 = 0xFFu | (0xAAu << 8) | (0x04u << 16);

struct Region {
  uint32_t rbar;
  uint32_t rlar;
};

// [base, base+size) with 32-byte granules, or false.
bool MakeRegion(uint32_t base, uint32_t size, uint32_t ap_xn, uint32_t attr, Region* out) {
  if (size == 0 || (base | size) % 32 != 0) return false;
  *out = Region{base | ap_xn, ((base + size - 1) & ~31u) | (attr << 1) | 1u};
  return true;
}

bool SetupMpu(const BoardInitOptions& o) {
  const uint32_t dregion = (BOARD_REG(kMpuType) >> 8) & 0xFF;
  if (dregion == 0) return false;
  constexpr int kMax = 6;
  Region r[kMax];
  int n = 0;
  bool ok = true;
  // Code space: the flash window read-only + executable, or all of it writable (checkpoints).
  if (o.mpu_flash_window) {
    ok &= MakeRegion(Addr(__flash_origin), Addr(__flash_length), kApRo, kAttrFlash, &r[n++]);
  } else {
    ok &= MakeRegion(0x00000000u, 512u << 20, kApRw, kAttrFlash, &r[n++]);
  }
  // SRAM space: the board's RAM (or all of it), minus the guard at the bottom of the stack.
  const uint32_t lo = o.mpu_ram_window ? Addr(__ram_origin) : 0x20000000u;
  const uint32_t hi = o.mpu_ram_window ? Addr(__ram_origin) + Addr(__ram_length) : 0x40000000u;
  const uint32_t guard = Addr(&_sstack);
  if (o.mpu_stack_guard && guard % kBoardStackGuardBytes == 0 && guard > lo && guard < hi) {
    ok &= MakeRegion(lo, guard - lo, kApRw | kXn, kAttrRam, &r[n++]);
    ok &= MakeRegion(guard + kBoardStackGuardBytes, hi - guard - kBoardStackGuardBytes,
                     kApRw | kXn, kAttrRam, &r[n++]);
  } else {
    ok &= MakeRegion(lo, hi - lo, kApRw | kXn, kAttrRam, &r[n++]);
  }
  // Peripherals (UART, timers), which the default map gave before.
  ok &= MakeRegion(0x40000000u, 512u << 20, kApRw | kXn, kAttrDevice, &r[n++]);
  if (!ok || static_cast<uint32_t>(n) > dregion) return false;

  BOARD_REG(kMpuCtrl) = 0;
  __asm volatile("dsb\n isb" ::: "memory");
  BOARD_REG(kMpuMair0) = kMair0;
  for (uint32_t i = 0; i < dregion; ++i) {
    BOARD_REG(kMpuRnr) = i;
    BOARD_REG(kMpuRlar) = 0;
  }
  for (int i = 0; i < n; ++i) {
    BOARD_REG(kMpuRnr) = static_cast<uint32_t>(i);
    BOARD_REG(kMpuRbar) = r[i].rbar;
    BOARD_REG(kMpuRlar) = r[i].rlar;
  }
  BOARD_REG(kShcsr) |= (1u << 16) | (1u << 17) | (1u << 18);
  BOARD_REG(kMpuCtrl) = 1u;  // ENABLE; PRIVDEFENA = 0: unmapped addresses fault
  __asm volatile("dsb\n isb" ::: "memory");
  return true;
}
#endif  // __ARM_ARCH

// ---------------------------------------------------------------- SysTick
constexpr uint32_t kSystCsr = 0xE000E010, kSystRvr = 0xE000E014, kSystCvr = 0xE000E018,
                   kIcsr = 0xE000ED04;
constexpr uint32_t kSysTickPeriod = 1u << 24;  // reload 0xFFFFFF -> 2^24 ticks per wrap
volatile uint32_t g_tick_wraps = 0;
bool g_tick_running = false;

void StartTicks() {
  BOARD_REG(kSystCsr) = 0;
  BOARD_REG(kSystRvr) = kSysTickPeriod - 1;
  BOARD_REG(kSystCvr) = 0;  // any write clears the counter and COUNTFLAG
  g_tick_wraps = 0;
  BOARD_REG(kSystCsr) = (1u << 2) | (1u << 1) | 1u;  // CLKSOURCE=cpu, TICKINT, ENABLE
  g_tick_running = true;
}

// ---------------------------------------------------------------- UART (CMSDK APB UART1)
// 0x40005000 on the mps2 boards; the an505 (SSE-200) has it at 0x40201000, Secure alias
// 0x50201000, which the Secure-state firmware uses.
// Register offsets; the base is looked up at each access (no static constructor, no RAM).
constexpr uint32_t kUartData = 0x0, kUartState = 0x4, kUartCtrl = 0x8, kUartBaudDiv = 0x10;
inline volatile uint32_t& UartReg(uint32_t offset) {
  return BOARD_REG((board_id() == BoardId::kQemuAn505 ? 0x50201000u : 0x40005000u) + offset);
}
constexpr uint32_t kUartTxFull = 1u << 0, kUartRxFull = 1u << 1;
bool g_uart_on = false;

}  // namespace

extern "C" void SysTick_Handler(void) { g_tick_wraps = g_tick_wraps + 1; }

bool board_init(const BoardInitOptions& options) {
  if (options.paint_stack) board_stack_paint();
  if (options.start_tick_counter) StartTicks();
  if (options.mpu_ram_window || options.mpu_flash_window || options.mpu_stack_guard) {
    return SetupMpu(options);
  }
  return true;
}

uint64_t board_ticks() {
  if (!g_tick_running) return 0;
  uint32_t primask;
  __asm volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
  uint32_t wraps = g_tick_wraps;
  uint32_t val = BOARD_REG(kSystCvr);
  if (BOARD_REG(kIcsr) & (1u << 26)) {  // PENDSTSET: a wrap not yet counted by the ISR
    val = BOARD_REG(kSystCvr);          // re-read: now certainly after the wrap
    ++wraps;
  }
  __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
  return static_cast<uint64_t>(wraps) * kSysTickPeriod + (kSysTickPeriod - 1 - val);
}

bool board_uart_init(uint32_t baud) {
  // Only QEMU's MPS2 boards have this UART; at 0x40005000 the real chips have other peripherals.
  if (!board_is_qemu() || baud == 0) return false;
  uint32_t div = board_tick_hz() / baud;
  if (div < 16) div = 16;  // the CMSDK UART's minimum divider
  UartReg(kUartBaudDiv) = div;
  UartReg(kUartCtrl) = 3u;  // TX enable | RX enable, no interrupts
  g_uart_on = true;
  return true;
}

int board_uart_read() {
  if (!g_uart_on || (UartReg(kUartState) & kUartRxFull) == 0) return -1;
  return static_cast<int>(UartReg(kUartData) & 0xFFu);
}

void board_uart_write(const uint8_t* data, size_t len) {
  if (!g_uart_on) return;
  for (size_t i = 0; i < len; ++i) {
    while (UartReg(kUartState) & kUartTxFull) {
    }
    UartReg(kUartData) = data[i];
  }
}
