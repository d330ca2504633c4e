#include "tflm_train/runtime/flash_sim.h"

#include <cstring>

namespace tflm_train {
namespace {

uint32_t NextRandom(uint32_t* state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

bool PowerOf2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Starts one operation: false (power now off) if it is the torn one or power is already gone.
// *torn tells the caller to apply it partially.
bool Begin(SimFlash* f, bool* torn) {
  *torn = false;
  if (!f->powered) return false;
  if (f->cut_at >= 0 && f->operations == static_cast<uint64_t>(f->cut_at)) {
    *torn = true;
    f->powered = false;
  }
  ++f->operations;
  return true;
}

int32_t Read(void* context, uint32_t offset, void* out, uint32_t bytes) {
  SimFlash* f = static_cast<SimFlash*>(context);
  if (!f->powered) return kSimFlashPowerLost;
  if (offset > f->device.size || bytes > f->device.size - offset) return kSimFlashOutOfRange;
  memcpy(out, f->memory + offset, bytes);
  return 0;
}

int32_t Program(void* context, uint32_t offset, const void* data, uint32_t bytes) {
  SimFlash* f = static_cast<SimFlash*>(context);
  const uint32_t unit = f->device.write_size;
  if (!f->powered) return kSimFlashPowerLost;
  if (offset % unit != 0 || bytes % unit != 0) return kSimFlashMisaligned;
  if (offset > f->device.size || bytes > f->device.size - offset) return kSimFlashOutOfRange;
  const uint8_t* src = static_cast<const uint8_t*>(data);
  for (uint32_t u = 0; u < bytes; u += unit) {
    uint8_t* dst = f->memory + offset + u;
    for (uint32_t i = 0; i < unit; ++i) {
      if (dst[i] != 0xFF) return kSimFlashNotErased;
    }
    bool torn;
    if (!Begin(f, &torn)) return kSimFlashPowerLost;
    for (uint32_t i = 0; i < unit; ++i) {
      const uint8_t target = static_cast<uint8_t>(dst[i] & src[u + i]);
      // Torn: each bit independently reached its new value or kept the old one.
      const uint8_t reached = torn ? static_cast<uint8_t>(NextRandom(&f->rng)) : 0xFF;
      dst[i] = static_cast<uint8_t>((target & reached) | (dst[i] & ~reached));
    }
    if (torn) return kSimFlashPowerLost;
  }
  return 0;
}

int32_t ErasePage(void* context, uint32_t offset) {
  SimFlash* f = static_cast<SimFlash*>(context);
  const uint32_t page = f->device.page_size;
  if (!f->powered) return kSimFlashPowerLost;
  if (offset % page != 0) return kSimFlashMisaligned;
  if (offset >= f->device.size) return kSimFlashOutOfRange;
  bool torn;
  if (!Begin(f, &torn)) return kSimFlashPowerLost;
  uint8_t* p = f->memory + offset;
  for (uint32_t i = 0; i < page; ++i) {
    p[i] = torn ? static_cast<uint8_t>(p[i] | NextRandom(&f->rng)) : 0xFF;
  }
  return torn ? kSimFlashPowerLost : 0;
}

}  // namespace

bool SimFlashInit(SimFlash* flash, uint8_t* memory, uint32_t size, uint32_t page_size,
                  uint32_t write_size) {
  if (flash == nullptr || memory == nullptr || !PowerOf2(write_size) || write_size > 64 ||
      page_size == 0 || page_size % write_size != 0 || size == 0 ||
      size % page_size != 0) {
    return false;
  }
  *flash = SimFlash();
  flash->memory = memory;
  flash->device = tt_flash{flash, size, page_size, write_size, Read, Program, ErasePage};
  return true;
}

void SimFlashCutAt(SimFlash* flash, int64_t operation, uint32_t seed) {
  flash->cut_at = operation < 0 ? -1 : static_cast<int64_t>(flash->operations) + operation;
  flash->rng = seed == 0 ? 0x6D2B79F5u : seed;  // xorshift state must be non-zero
}

void SimFlashPowerOn(SimFlash* flash) {
  flash->powered = true;
  flash->cut_at = -1;
  flash->operations = 0;
}

}  // namespace tflm_train
