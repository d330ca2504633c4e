// Print: number and float formatting shared by the board and host builds of the shim.
#include "Arduino.h"

namespace {

// Digits of v in `base` (2..16), most significant first, into the end of buf; returns start.
char* FormatUnsigned(unsigned long v, int base, char* end) {
  static const char kDigits[] = "0123456789ABCDEF";
  if (base < 2 || base > 16) base = 10;
  char* p = end;
  do {
    *--p = kDigits[v % static_cast<unsigned long>(base)];
    v /= static_cast<unsigned long>(base);
  } while (v != 0);
  return p;
}
}  // namespace

size_t Print::write(const uint8_t* data, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; ++i) n += write(data[i]);
  return n;
}

size_t Print::print(unsigned long v, int base) {
  char buf[33];  // 32 binary digits
  char* start = FormatUnsigned(v, base, buf + sizeof(buf));
  return write(reinterpret_cast<const uint8_t*>(start), static_cast<size_t>(buf + sizeof(buf) - start));
}

size_t Print::print(long v, int base) {
  // Arduino prints a minus sign only in base 10; other bases show the two's complement bits.
  if (base == DEC && v < 0) {
    return print('-') + print(0ul - static_cast<unsigned long>(v), DEC);
  }
  return print(static_cast<unsigned long>(v), base);
}

size_t Print::print(double v, int digits) {
  if (v != v) return write("nan");
  if (v > 4294967040.0 || v < -4294967040.0) return write("ovf");  // integer part > 32 bits
  size_t n = 0;
  if (v < 0) {
    n += print('-');
    v = -v;
  }
  if (digits < 0) digits = 0;
  double half = 0.5;  // round at the last printed decimal
  for (int i = 0; i < digits; ++i) half /= 10.0;
  v += half;
  const unsigned long whole = static_cast<unsigned long>(v);
  n += print(whole, DEC);
  if (digits > 0) n += print('.');
  double frac = v - static_cast<double>(whole);
  for (int i = 0; i < digits; ++i) {
    frac *= 10.0;
    const unsigned d = static_cast<unsigned>(frac);
    n += print(static_cast<char>('0' + d));
    frac -= d;
  }
  return n;
}

