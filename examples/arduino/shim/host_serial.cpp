// The shim on the host (the sketch's host twin): Serial reads stdin and writes stdout, so the
// same sketch, library and runtime run on the host and their replies can be compared with the
// board's line for line. End of input (or byte 0x04, as on the board) ends the session.
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "Arduino.h"

void SerialPort::begin(unsigned long) { uart_ = true; }

void SerialPort::poll() {
  while (count_ < kRxSize && !eot_) {
    const int c = fgetc(stdin);
    if (c == EOF || c == 0x04) {
      eot_ = true;
      return;
    }
    rx_[(head_ + count_) % kRxSize] = static_cast<uint8_t>(c);
    ++count_;
    if (c == '\n') return;  // do not block reading ahead past a complete line
  }
}

void SerialPort::flush() { fflush(stdout); }

size_t SerialPort::write(const uint8_t* data, size_t len) { return fwrite(data, 1, len, stdout); }

unsigned long micros() {
  return static_cast<unsigned long>(static_cast<double>(clock()) * 1e6 / CLOCKS_PER_SEC);
}

unsigned long millis() { return micros() / 1000u; }

void delay(unsigned long ms) {
  const unsigned long until = millis() + ms;
  while (millis() < until) {
  }
}

void NVIC_SystemReset() {
  fflush(stdout);
  exit(0);
}

int main() {
  setup();
  while (!Serial.host_finished()) loop();
  fflush(stdout);
  return 0;
}
