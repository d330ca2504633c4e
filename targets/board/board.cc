// Board API, the part every CPU shares: board identity, stack painting, memory accounting from
// linker symbols, semihosting output. The CPU's part (MPU or PMP, tick counter, UART) is
// board_cortex_m.cc or targets/rv32/board_rv32.cc.
#include "targets/board/board.h"

#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>

extern "C" {
// Linker-script symbols: only their addresses are meaningful.
extern uint32_t _sdata, _edata, _sbss, _ebss, _estack, _sstack, end;
extern char _stack_size[], __board_id[], __board_tick_hz[];
extern char __flash_origin[], __flash_length[], __flash_end_used[];
extern char __ram_origin[], __ram_length[];
}

// Heap for the C library's internals only (the firmware itself does not allocate): [end,
// _sstack). newlib calls it _sbrk, picolibc sbrk: each startup file forwards its name here.
static char* g_brk = reinterpret_cast<char*>(&end);

extern "C" void* board_break(ptrdiff_t incr) {
  if (g_brk + incr > reinterpret_cast<char*>(&_sstack) ||
      g_brk + incr < reinterpret_cast<char*>(&end)) {
    errno = ENOMEM;
    return reinterpret_cast<void*>(-1);
  }
  char* p = g_brk;
  g_brk += incr;
  return p;
}

namespace {

inline uint32_t Addr(const void* p) { return reinterpret_cast<uint32_t>(p); }

inline uint32_t StackPointer() {
  uint32_t sp;
#if defined(__riscv)
  __asm volatile("mv %0, sp" : "=r"(sp));
#else
  __asm volatile("mov %0, sp" : "=r"(sp));
#endif
  return sp;
}

// ---------------------------------------------------------------- stack painting
constexpr uint32_t kPaint = 0xC0FFEE11u;
constexpr uint32_t kPaintMargin = 64;  // leave the caller's frame area alone

uint32_t* StackPaintBottom() {
  return reinterpret_cast<uint32_t*>(Addr(&_sstack) + kBoardStackGuardBytes);
}

}  // namespace
void board_start(const char* tag) {
  board_init();
  board_printf("[%s] board %s\n", tag, board_name());
}

BoardId board_id() {
  const uint32_t id = Addr(__board_id);
  return id >= 1 && id <= 9 ? static_cast<BoardId>(id) : BoardId::kUnknown;
}

const char* board_name() {
  switch (board_id()) {
    case BoardId::kQemuAn386:
      return "qemu-an386";
    case BoardId::kQemuAn500:
      return "qemu-an500";
    case BoardId::kNano33Ble:
      return "nano33ble";
    case BoardId::kStm32f746:
      return "stm32f746";
    case BoardId::kQemuAn505:
      return "qemu-an505";
    case BoardId::kNrf5340:
      return "nrf5340";
    case BoardId::kQemuAn385:
      return "qemu-an385";
    case BoardId::kQemuRv32:
      return "qemu-rv32";
    case BoardId::kQemuAn547:
      return "qemu-an547";
    default:
      return "unknown";
  }
}

bool board_is_qemu() {
  switch (board_id()) {
    case BoardId::kQemuAn386:
    case BoardId::kQemuAn500:
    case BoardId::kQemuAn505:
    case BoardId::kQemuAn385:
    case BoardId::kQemuRv32:
    case BoardId::kQemuAn547:
      return true;
    default:
      return false;
  }
}

int board_printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int n = vprintf(fmt, ap);
  va_end(ap);
  return n;
}

const char* board_u64_str(uint64_t value, char (&buf)[21]) {
  char* p = buf + sizeof(buf) - 1;
  *p = '\0';
  do {
    *--p = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  return p;
}

void board_write(const char* data, size_t len) { fwrite(data, 1, len, stdout); }

void board_flush() {
  fflush(stdout);
  fflush(stderr);
}

void board_exit(int code) {
  board_flush();
  exit(code);
}

BoardMemory board_memory() {
  BoardMemory m{};
  m.flash_size = Addr(__flash_length);
  m.flash_used = Addr(__flash_end_used) - Addr(__flash_origin);
  m.ram_size = Addr(__ram_length);
  m.data_bytes = Addr(&_edata) - Addr(&_sdata);
  m.bss_bytes = Addr(&_ebss) - Addr(&_sbss);
  m.stack_reserve = Addr(_stack_size);
  m.heap_bytes = static_cast<uint32_t>(g_brk - reinterpret_cast<char*>(&end));
  // Static RAM counted up to the end of .bss (includes alignment padding).
  m.ram_used = (Addr(&_ebss) - Addr(__ram_origin)) + m.heap_bytes + m.stack_reserve;
  m.ram_free = m.ram_size - m.ram_used;
  return m;
}

void board_print_memory() {
  const BoardMemory m = board_memory();
  board_printf(
      "[board] %s: flash %lu/%lu B, RAM %lu/%lu B used (data %lu, bss %lu, stack reserve %lu, "
      "heap %lu), %lu B free\n",
      board_name(), static_cast<unsigned long>(m.flash_used),
      static_cast<unsigned long>(m.flash_size), static_cast<unsigned long>(m.ram_used),
      static_cast<unsigned long>(m.ram_size), static_cast<unsigned long>(m.data_bytes),
      static_cast<unsigned long>(m.bss_bytes), static_cast<unsigned long>(m.stack_reserve),
      static_cast<unsigned long>(m.heap_bytes), static_cast<unsigned long>(m.ram_free));
}

int board_finish(const char* tag, int rc) {
  board_printf("[%s] stack high-water %lu of %lu bytes\n", tag,
               static_cast<unsigned long>(board_stack_high_water()),
               static_cast<unsigned long>(board_stack_size()));
  board_print_memory();
  board_printf("[%s] %s\n", tag, rc == 0 ? "done" : "FAILED");
  return rc;
}

void board_stack_paint() {
  const uint32_t sp = StackPointer();
  volatile uint32_t* p = StackPaintBottom();
  volatile uint32_t* const stop = reinterpret_cast<volatile uint32_t*>(sp - kPaintMargin);
  while (p < stop) *p++ = kPaint;
}

uint32_t board_stack_high_water() {
  const volatile uint32_t* p = StackPaintBottom();
  const volatile uint32_t* const top = reinterpret_cast<const volatile uint32_t*>(&_estack);
  while (p < top && *p == kPaint) ++p;
  if (p == StackPaintBottom()) return Addr(_stack_size);  // paint overrun: reserve exhausted
  return Addr(&_estack) - Addr(const_cast<const uint32_t*>(p));
}

uint32_t board_stack_size() { return Addr(_stack_size) - kBoardStackGuardBytes; }

uint32_t board_tick_hz() { return Addr(__board_tick_hz); }

uint64_t board_ticks_to_insns(uint64_t ticks) {
  if (!board_is_qemu()) return ticks;
  const uint32_t hz = board_tick_hz();
  return hz == 25000000u ? ticks * kQemuInstructionsPerTick : ticks * 1000000000u / hz;
}

uint64_t board_ticks_to_us(uint64_t ticks) {
  const uint32_t hz = board_tick_hz();
  return hz ? ticks * 1000000u / hz : 0;
}
