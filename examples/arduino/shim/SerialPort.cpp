// Serial's receive buffer, the same on the boards (Arduino.cpp: UART) and on the host
// (host_serial.cpp: stdin): those files define only where bytes come from and go to (begin,
// poll, flush, write of a block), so both twins consume input identically.
#include "Arduino.h"

int SerialPort::available() {
  poll();
  return static_cast<int>(count_);
}

int SerialPort::peek() {
  poll();
  return count_ ? rx_[head_] : -1;
}

int SerialPort::read() {
  poll();
  if (count_ == 0) return -1;
  const uint8_t c = rx_[head_];
  head_ = (head_ + 1) % kRxSize;
  --count_;
  return c;
}

size_t SerialPort::write(uint8_t byte) { return write(&byte, 1); }

bool SerialPort::host_finished() {
  poll();
  return eot_ && count_ == 0;
}

SerialPort Serial;
