// A thin Arduino layer of ours over targets/board, so sketches written for the Arduino
// API build with Bazel for the QEMU stand-ins of the Nano 33 BLE and STM32F746 (no Arduino core
// can be installed offline). Only what our sketches use: Serial, millis/micros/delay, the
// setup()/loop() entry points. Names and signatures follow the Arduino API reference.
//
// Serial is UART1 of the QEMU board (board_uart_*): append `-serial <backend>` to run_qemu.sh.
// On the real-board memory maps there is no UART driver yet: output falls back to semihosting
// and nothing is ever received.
//
// QEMU-only convention for tests: receiving byte 0x04 (EOT) ends the program with exit code 0
// once every byte before it has been read and loop() has returned; a real board never sees it.
#ifndef TFLM_TRAIN_EXAMPLES_ARDUINO_SHIM_ARDUINO_H_
#define TFLM_TRAIN_EXAMPLES_ARDUINO_SHIM_ARDUINO_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint8_t byte;
typedef bool boolean;

enum PrintBase { BIN = 2, OCT = 8, DEC = 10, HEX = 16 };

unsigned long millis();
unsigned long micros();
void delay(unsigned long ms);

// CMSIS system reset (Arduino cores for Cortex-M expose CMSIS): the board restarts as after a
// power cut, RAM contents are lost, flash (checkpoints) is kept. The host twin cannot restart:
// there it ends the program.
[[noreturn]] void NVIC_SystemReset();

// Output formatting shared by every stream (Arduino's Print): integers in a base, floats with a
// number of decimals (default 2), strings; println adds "\r\n".
class Print {
 public:
  virtual size_t write(uint8_t byte) = 0;
  virtual size_t write(const uint8_t* data, size_t len);
  size_t write(const char* s) { return s ? write(reinterpret_cast<const uint8_t*>(s), strlen(s)) : 0; }

  size_t print(const char* s) { return write(s); }
  size_t print(char c) { return write(static_cast<uint8_t>(c)); }
  size_t print(unsigned char v, int base = DEC) { return print(static_cast<unsigned long>(v), base); }
  size_t print(int v, int base = DEC) { return print(static_cast<long>(v), base); }
  size_t print(unsigned int v, int base = DEC) { return print(static_cast<unsigned long>(v), base); }
  size_t print(long v, int base = DEC);
  size_t print(unsigned long v, int base = DEC);
  size_t print(double v, int digits = 2);

  size_t println() { return write("\r\n"); }
  template <typename T>
  size_t println(T v) { return print(v) + println(); }
  template <typename T>
  size_t println(T v, int format) { return print(v, format) + println(); }

 protected:
  ~Print() = default;
};

// Input side (Arduino's Stream): byte-wise reads.
class Stream : public Print {
 public:
  virtual int available() = 0;
  virtual int read() = 0;
  virtual int peek() = 0;

 protected:
  ~Stream() = default;
};

class SerialPort final : public Stream {
 public:
  void begin(unsigned long baud);
  void end() {}
  explicit operator bool() const { return true; }  // a UART is always "connected"
  int available() override;
  int read() override;
  int peek() override;
  void flush();
  size_t write(uint8_t byte) override;
  size_t write(const uint8_t* data, size_t len) override;
  using Print::write;

  // Shim only (QEMU test convention above): true once EOT arrived and every byte before it has
  // been read. main() checks it after each loop().
  bool host_finished();

 private:
  void poll();

  // Arduino cores buffer received bytes (64 by default); so does this, polled on every call.
  static constexpr unsigned kRxSize = 64;
  uint8_t rx_[kRxSize];
  unsigned head_ = 0, count_ = 0;
  bool uart_ = false, eot_ = false;
};

extern SerialPort Serial;

// The sketch provides these.
void setup();
void loop();

#endif  // TFLM_TRAIN_EXAMPLES_ARDUINO_SHIM_ARDUINO_H_
