// The shim on the boards (see Arduino.h): Serial over the board UART, time from the board's
// tick counter, and the entry point that calls the sketch's setup() once and loop() until the
// host ends the session, as an Arduino core's main() does (forever).
#include "Arduino.h"

#include "targets/board/board.h"

namespace {
constexpr int kEot = 0x04;
}  // namespace

void SerialPort::begin(unsigned long baud) { uart_ = board_uart_init(static_cast<uint32_t>(baud)); }

void SerialPort::poll() {
  while (count_ < kRxSize && !eot_) {
    const int c = board_uart_read();
    if (c < 0) return;
    if (c == kEot && board_is_qemu()) {
      eot_ = true;
      return;
    }
    rx_[(head_ + count_) % kRxSize] = static_cast<uint8_t>(c);
    ++count_;
  }
}

void SerialPort::flush() { board_flush(); }

size_t SerialPort::write(const uint8_t* data, size_t len) {
  if (uart_) {
    board_uart_write(data, len);
  } else {
    board_write(reinterpret_cast<const char*>(data), len);
  }
  return len;
}

unsigned long micros() {
  return static_cast<unsigned long>(board_ticks_to_us(board_ticks()));
}

unsigned long millis() { return static_cast<unsigned long>(board_ticks_to_us(board_ticks()) / 1000u); }

void delay(unsigned long ms) {
  const uint64_t until = board_ticks_to_us(board_ticks()) + static_cast<uint64_t>(ms) * 1000u;
  while (board_ticks_to_us(board_ticks()) < until) {
  }
}

void NVIC_SystemReset() {
  board_flush();
  __asm volatile("dsb" ::: "memory");
  *reinterpret_cast<volatile uint32_t*>(0xE000ED0Cu) = 0x05FA0004u;  // AIRCR: VECTKEY|SYSRESETREQ
  __asm volatile("dsb" ::: "memory");
  for (;;) {
  }
}

int main() {
  BoardInitOptions options;
  // The checkpoint region (TflmTrain::save) lies outside the read-only MPU flash window.
  options.mpu_flash_window = false;
  board_init(options);
  setup();
  while (!Serial.host_finished()) loop();
  board_flush();
  return 0;
}
