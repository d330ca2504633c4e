// Cortex-M startup: vector table, Reset_Handler, fault handlers, bounded _sbrk.
//
// Reset_Handler: VTOR <- vector table, FPU on (CPACR CP10/CP11) where there is one, .data copy, .bss zero,
// semihosting stdio (initialise_monitor_handles), C++ static constructors
// (__libc_init_array), exit(main()).
// Every fault / unexpected exception prints CFSR, HFSR, MMFAR, BFAR (and the stacked PC/LR
// when the exception frame is readable) through semihosting and exits with code 42.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "targets/board/board.h"

#define BOARD_REG(a) (*reinterpret_cast<volatile uint32_t*>(a))

extern "C" {
// Linker-script symbols (addresses only).
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack, _sstack, end;
extern uint32_t __vectors_start;
extern char __flash_origin[], __flash_length[];

void __libc_init_array(void);
void initialise_monitor_handles(void);
int main(void);
void SysTick_Handler(void);  // board.cc

// __libc_init_array calls these; with -nostartfiles nobody else provides them.
void _init(void) {}
void _fini(void) {}

[[noreturn]] void Reset_Handler(void);
void Fault_Handler(void);
void board_fault_c(const uint32_t* frame, uint32_t exc_return, uint32_t ipsr);
int board_semihost_emulate(uint32_t* frame);

[[noreturn]] void Reset_Handler(void) {
  BOARD_REG(0xE000ED08) = reinterpret_cast<uint32_t>(&__vectors_start);  // SCB->VTOR
#if defined(__ARM_FP)
  BOARD_REG(0xE000ED88) |= (0xFu << 20);  // CPACR: full access to CP10/CP11 (FPU)
#endif
  __asm volatile("dsb\n isb" ::: "memory");
  const uint32_t* src = &_sidata;
  for (uint32_t* dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (uint32_t* dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  initialise_monitor_handles();  // semihosting stdin/stdout/stderr
  // Static line buffer for stdout: otherwise newlib mallocs ~1 KB for it on first printf.
  static char stdout_buf[128];
  setvbuf(stdout, stdout_buf, _IOLBF, sizeof(stdout_buf));
  __libc_init_array();           // C++ static constructors
  exit(main());
}

// Naked entry shared by all fault vectors. r0 = exception frame (MSP or PSP), r1 = EXC_RETURN,
// r2 = IPSR.
// 1. A HardFault whose stacked PC points at BKPT 0xAB is a semihosting call made with no
//    debugger attached (real board without a probe, or QEMU without semihosting enabled; the
//    status bits differ: real cores set HFSR.DEBUGEVT, QEMU 7.2 sets HFSR.FORCED, so the
//    opcode is what is checked). board_semihost_emulate() completes the call as a no-op and
//    we return to the program.
// 2. Otherwise, if the frame sits at least kFaultStackMargin above the stack guard, the handler
//    keeps running below it (so the frame is not overwritten); else (stack overflow, bad SP)
//    SP is moved back to the top of RAM so the handler can still print.
__attribute__((naked)) void Fault_Handler(void) {
  __asm volatile(
      "tst lr, #4\n"
      "ite eq\n"
      "mrseq r0, msp\n"
      "mrsne r0, psp\n"
      "mrs r3, ipsr\n"  // only HardFault (BKPT without debugger escalates to it)
      "cmp r3, #3\n"
      "bne 3f\n"
      "ldr r3, =_sstack\n"  // only with a readable frame: [_sstack + guard, _estack - 32]
      "add r3, r3, #256\n"
      "cmp r0, r3\n"
      "blo 3f\n"
      "ldr r3, =_estack\n"
      "sub r3, r3, #32\n"
      "cmp r0, r3\n"
      "bhi 3f\n"
      "push {r0, lr}\n"
      "bl board_semihost_emulate\n"
      "mov r3, r0\n"
      "pop {r0, lr}\n"
      "cmp r3, #0\n"
      "it ne\n"
      "bxne lr\n"  // handled: exception return to the instruction after the BKPT
      "3:\n"
      "mov r1, lr\n"
      "mrs r2, ipsr\n"
      "ldr r3, =_estack\n"
      "cmp r0, r3\n"
      "bhs 1f\n"
      "ldr r3, =_sstack\n"
      "add r3, r3, #1792\n"  // guard (256) + kFaultStackMargin (1536)
      "cmp r0, r3\n"
      "bhs 2f\n"
      "1:\n"
      "ldr r3, =_estack\n"
      "mov sp, r3\n"
      "2:\n"
      "b board_fault_c\n");
}

// Semihosting without a debugger: every call becomes a harmless no-op so the firmware runs
// standalone (its output is discarded). SYS_EXIT / SYS_EXIT_EXTENDED record the exit code in
// g_board_exit_code and park the CPU (WFI loop): there is nobody to report to.
volatile int g_board_exit_code = -1;
int board_semihost_emulate(uint32_t* frame) {
  const uint32_t pc = frame[6];
  const uint32_t flash = reinterpret_cast<uint32_t>(__flash_origin);
  if (pc < flash || pc + 2 > flash + reinterpret_cast<uint32_t>(__flash_length) || (pc & 1u)) {
    return 0;
  }
  if (*reinterpret_cast<const volatile uint16_t*>(pc) != 0xBEABu) return 0;  // BKPT 0xAB
  BOARD_REG(0xE000ED2C) = 1u << 31;  // clear HFSR.DEBUGEVT (write 1 to clear)
  BOARD_REG(0xE000ED30) = 0x1Fu;     // clear DFSR (incl. BKPT)
  const uint32_t op = frame[0];
  const uint32_t* args = reinterpret_cast<const uint32_t*>(frame[1]);
  uint32_t result = 0;
  switch (op) {
    case 0x01:  // SYS_OPEN -> a valid handle
      result = 1;
      break;
    case 0x06:  // SYS_READ -> nothing read (returns the count not read: EOF)
      result = args ? args[2] : 0;
      break;
    case 0x09:  // SYS_ISTTY
      result = 1;
      break;
    case 0x18:  // SYS_EXIT: r1 = reason code (or pointer for the extended form)
    case 0x20:  // SYS_EXIT_EXTENDED: r1 -> {reason, code}
      g_board_exit_code = static_cast<int>(op == 0x20 && args ? args[1] : frame[1]);
      for (;;) __asm volatile("wfi");
    default:  // SYS_WRITE (0 = all written), SYS_CLOSE, SYS_FLEN, ... -> 0
      result = 0;
      break;
  }
  frame[0] = result;
  frame[6] = pc + 2;  // resume after the 2-byte BKPT
  return 1;
}

void board_fault_c(const uint32_t* frame, uint32_t exc_return, uint32_t ipsr) {
  static_assert(kBoardStackGuardBytes == 256, "Fault_Handler assumes a 256-byte guard");
  const uint32_t cfsr = BOARD_REG(0xE000ED28);
  const uint32_t hfsr = BOARD_REG(0xE000ED2C);
  const uint32_t mmfar = BOARD_REG(0xE000ED34);
  const uint32_t bfar = BOARD_REG(0xE000ED38);
  const uint32_t exc = ipsr & 0x1FF;
  const char* what = exc == 2   ? "NMI"
                     : exc == 3 ? "HardFault"
                     : exc == 4 ? "MemManage"
                     : exc == 5 ? "BusFault"
                     : exc == 6 ? "UsageFault"
                                : "unexpected exception";
  // The frame is only readable if it was stacked successfully (no MSTKERR/BSTKERR) and lies in
  // the usable stack (above the MPU guard, below the top of RAM). Copy it before printing.
  const uint32_t f = reinterpret_cast<uint32_t>(frame);
  const uint32_t lo = reinterpret_cast<uint32_t>(&_sstack) + kBoardStackGuardBytes;
  const uint32_t hi = reinterpret_cast<uint32_t>(&_estack);
  const bool stacking_failed = (cfsr & ((1u << 4) | (1u << 12))) != 0;
  const bool frame_ok = !stacking_failed && (f & 3u) == 0 && f >= lo && f + 32 <= hi;
  const uint32_t pc = frame_ok ? frame[6] : 0, lr = frame_ok ? frame[5] : 0;
  printf("\n*** %s (exception %lu): CFSR=0x%08lx HFSR=0x%08lx MMFAR=0x%08lx BFAR=0x%08lx\n",
         what, static_cast<unsigned long>(exc), static_cast<unsigned long>(cfsr),
         static_cast<unsigned long>(hfsr), static_cast<unsigned long>(mmfar),
         static_cast<unsigned long>(bfar));
  if (frame_ok) {
    printf("*** stacked PC=0x%08lx LR=0x%08lx EXC_RETURN=0x%08lx\n",
           static_cast<unsigned long>(pc), static_cast<unsigned long>(lr),
           static_cast<unsigned long>(exc_return));
  } else {
    printf("*** exception frame not readable (SP=0x%08lx)\n", static_cast<unsigned long>(f));
  }
  exit(kBoardFaultExitCode);
}

// newlib's break function; the heap itself is the board layer's (board.cc).
void* _sbrk(ptrdiff_t incr) { return board_break(incr); }
}  // extern "C"

using Vector = void (*)(void);
// 16 system exceptions + 112 device IRQs (covers nRF52840's 48 and STM32F746's 98).
// 128 entries = 512 bytes; VTOR needs 512-byte alignment, which the start of FLASH has.
constexpr int kNumVectors = 128;

// Fault_Handler also catches NMI, SVC, PendSV, DebugMon and every device IRQ: this firmware
// enables none of them, so reaching one is reported like a fault (exit 42).
__attribute__((section(".isr_vector"), used)) const Vector g_vectors[kNumVectors] = {
    reinterpret_cast<Vector>(&_estack),  // 0: initial SP = top of RAM
    Reset_Handler,                       // 1
    Fault_Handler,                       // 2: NMI
    Fault_Handler,                       // 3: HardFault
    Fault_Handler,                       // 4: MemManage
    Fault_Handler,                       // 5: BusFault
    Fault_Handler,                       // 6: UsageFault
    Fault_Handler,                       // 7: SecureFault (Armv8-M; reserved before)
    nullptr, nullptr, nullptr,           // 8-10: reserved
    Fault_Handler,                       // 11: SVCall
    Fault_Handler,                       // 12: DebugMonitor
    nullptr,                             // 13: reserved
    Fault_Handler,                       // 14: PendSV
    SysTick_Handler,                     // 15: SysTick (board tick counter)
#define BOARD_IRQ8 Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, \
                   Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler
    BOARD_IRQ8, BOARD_IRQ8, BOARD_IRQ8, BOARD_IRQ8, BOARD_IRQ8, BOARD_IRQ8, BOARD_IRQ8,
    BOARD_IRQ8, BOARD_IRQ8, BOARD_IRQ8, BOARD_IRQ8, BOARD_IRQ8, BOARD_IRQ8, BOARD_IRQ8,
#undef BOARD_IRQ8
};
static_assert(sizeof(g_vectors) == 512, "vector table size");
