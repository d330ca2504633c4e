// Board layer for the tflm-train firmware (Cortex-M3 / M4F / M7 / M33, bare metal, semihosting
// I/O).
//
// One library serves every memory map of a CPU (the QEMU stand-in's and the real board's); the
// board is identified at link time through symbols that the linker script defines (see
// targets/qemu/*.ld, targets/boards/*/*.ld), so the same object files link for any of them.
// Armv7-M cores get a PMSAv7 MPU setup, Armv8-M cores (M33) a PMSAv8 one.
//
// No heap, no exceptions, no RTTI. All functions are safe to call before board_init() except
// where noted, but the MPU/SysTick features only work after it.
#ifndef TFLM_TRAIN_TARGETS_BOARD_BOARD_H_
#define TFLM_TRAIN_TARGETS_BOARD_BOARD_H_

#include <cstddef>
#include <cstdint>

enum class BoardId : uint32_t {
  kUnknown = 0,
  kQemuAn386 = 1,   // QEMU mps2-an386, Cortex-M4F, 1 MB flash / 256 KB RAM (Nano 33 BLE stand-in)
  kQemuAn500 = 2,   // QEMU mps2-an500, Cortex-M7,  1 MB flash / 320 KB RAM (STM32F746 stand-in)
  kNano33Ble = 3,   // real nRF52840 memory map
  kStm32f746 = 4,   // real STM32F746 memory map
  kQemuAn505 = 5,   // QEMU mps2-an505, Cortex-M33, 1 MB flash / 512 KB RAM (nRF5340 stand-in)
  kNrf5340 = 6,     // real nRF5340 application core memory map
  kQemuAn385 = 7,   // QEMU mps2-an385, Cortex-M3 without FPU, 2 MB flash / 264 KB RAM (RP2040's)
  kQemuRv32 = 8,    // QEMU virt, RV32IMC without FPU, 4 MB flash / 400 KB RAM (ESP32-C3 class)
  kQemuAn547 = 9,   // QEMU mps3-an547, Cortex-M55 with MVE, 1 MB flash / 1344 KB RAM
};

// Size of the no-access MPU region at the bottom of the stack reserve (stack overflow -> fault).
constexpr uint32_t kBoardStackGuardBytes = 256;
// Exit code used by every fault handler (HardFault, MemManage, BusFault, UsageFault, stray IRQ).
constexpr int kBoardFaultExitCode = 42;

struct BoardInitOptions {
  bool mpu_ram_window = true;   // RAM outside [RAM origin, +RAM size) -> MemManage (exit 42)
  bool mpu_flash_window = true; // flash read-only + executable, outside its 1 MB -> MemManage
  bool mpu_stack_guard = true;  // 256 B no-access region at the bottom of the stack reserve
  bool start_tick_counter = true;
  bool paint_stack = true;      // board_stack_paint() so board_stack_high_water() works
};

// Enables the MPU windows, starts the SysTick counter and paints the stack.
// Returns false if the MPU is missing or cannot describe the memory map (then no MPU is used).
bool board_init(const BoardInitOptions& options = BoardInitOptions());
// The start of a firmware run with the default options: board_init(), then the first of the
// lines board_finish() ends, "[tag] board <board_name()>".
void board_start(const char* tag);

BoardId board_id();
const char* board_name();   // "qemu-an386", "qemu-an500", "nano33ble", "stm32f746", ...
bool board_is_qemu();

// ---- Output (ARM semihosting; on real hardware this needs a debugger with semihosting on) ----
int board_printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void board_write(const char* data, size_t len);  // raw bytes to stdout
void board_flush();
// newlib-nano printf has no %llu / %lld: format 64-bit values with this (returns buf).
const char* board_u64_str(uint64_t value, char (&buf)[21]);
// Flushes stdout and ends the program; under QEMU `code` becomes qemu's exit status.
[[noreturn]] void board_exit(int code);

// ---- Serial port (UART1) ----
// QEMU maps only: the CMSDK APB UART1 (0x40005000 on mps2-an386/an500/an385, 0x50201000 on
// mps2-an505). QEMU gives
// its n-th `-serial` backend to UART n; run_qemu.sh passes `-serial none` (UART0), so one more
// appended `-serial <backend>` (e.g. `-serial stdio`) lands on UART1 without touching it.
// Polled, no interrupts, no buffering beyond the UART's one byte each way.
// The real-board maps have no UART driver yet: init returns false and the port stays silent.
bool board_uart_init(uint32_t baud);
int board_uart_read();  // next received byte (0..255), or -1 if none is waiting
void board_uart_write(const uint8_t* data, size_t len);  // blocks until every byte is queued

// ---- Memory accounting (from linker symbols) ----
struct BoardMemory {
  uint32_t flash_size;      // board flash (1 MB)
  uint32_t flash_used;      // .text + .rodata + .init_array + .data load image
  uint32_t ram_size;        // board RAM (256 KB / 320 KB)
  uint32_t data_bytes;      // .data
  uint32_t bss_bytes;       // .bss
  uint32_t stack_reserve;   // _stack_size (includes the 256 B guard)
  uint32_t heap_bytes;      // bytes handed out by _sbrk (newlib internals only; 0 expected)
  uint32_t ram_used;        // data + bss + stack_reserve + heap
  uint32_t ram_free;        // ram_size - ram_used
};
BoardMemory board_memory();
// The heap of the C library's internals, [end, _sstack): its break function (newlib's _sbrk,
// picolibc's sbrk) forwards here. ENOMEM past the stack reserve.
extern "C" void* board_break(ptrdiff_t incr);
inline uint32_t board_ram_used() { return board_memory().ram_used; }
void board_print_memory();  // one line per field, prefixed "[board]"

// ---- Stack measurement ----
// Fills the unused part of the stack reserve (below the current SP) with a pattern.
void board_stack_paint();
// Bytes of the stack reserve ever touched since the last paint (deepest SP reached, measured
// from the top of RAM; resolution 4 bytes). Returns the full reserve if the paint was overrun.
uint32_t board_stack_high_water();
uint32_t board_stack_size();  // usable stack: _stack_size minus the guard
// The end of a firmware run, in the lines tests and bench/mcu.py parse: "[tag] stack high-water
// H of S bytes", board_print_memory(), then "[tag] done" (rc 0) or "[tag] FAILED". Returns rc,
// for `return board_finish("train", rc);` from main().
int board_finish(const char* tag, int rc);

// ---- Time / instruction counter (SysTick, processor clock, 24-bit + software wrap count) ----
// On QEMU run with `-icount shift=0` (as run_qemu.sh and qemu_test do) every instruction takes
// 1 ns of virtual time and SysTick runs at 25 MHz, so 1 tick = 40 instructions exactly and the
// count is identical from run to run and on both machines (resolution: 40 instructions).
// Without -icount the count follows host time and is NOT deterministic.
// On real hardware 1 tick = 1 CPU cycle at board_tick_hz().
uint64_t board_ticks();
uint32_t board_tick_hz();             // 25 MHz (QEMU), 64 MHz (nRF52840), 16 MHz (STM32F746 HSI)
// QEMU with -icount shift=0 runs 1 instruction per ns: a tick of the board_tick_hz() SysTick is
// 1e9 / board_tick_hz() instructions (40 at the an386/an500/an385's 25 MHz, 50 at the an505's
// 20 MHz). Real boards: ticks = CPU cycles.
constexpr uint32_t kQemuInstructionsPerTick = 40;  // the 25 MHz stand-ins
uint64_t board_ticks_to_insns(uint64_t ticks);
uint64_t board_ticks_to_us(uint64_t ticks);

#endif  // TFLM_TRAIN_TARGETS_BOARD_BOARD_H_
