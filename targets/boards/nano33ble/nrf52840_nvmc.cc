#include "targets/boards/nano33ble/nrf52840_nvmc.h"

#include <cstring>

namespace tflm_train {
namespace {

// NVMC registers (base 0x4001E000).
constexpr uint32_t kNvmcReady = 0x4001E400;      // bit 0: 1 = ready for the next operation
constexpr uint32_t kNvmcConfig = 0x4001E504;     // WEN: 0 read only, 1 write, 2 erase
constexpr uint32_t kNvmcErasePage = 0x4001E508;  // write a page's address to erase it
constexpr uint32_t kConfigRead = 0, kConfigWrite = 1, kConfigErase = 2;

volatile uint32_t& Reg(uint32_t address) { return *reinterpret_cast<volatile uint32_t*>(address); }

uint32_t Base(void* context) { return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(context)); }

void WaitReady() {
  while ((Reg(kNvmcReady) & 1u) == 0) {
  }
}

// CONFIG changes must complete before the flash access they enable (data barrier).
void SetConfig(uint32_t mode) {
  Reg(kNvmcConfig) = mode;
  __asm volatile("dsb" ::: "memory");
  WaitReady();
}

int32_t Read(void* context, uint32_t offset, void* out, uint32_t bytes) {
  // Flash is memory-mapped; the region bounds were checked when the device was made.
  memcpy(out, reinterpret_cast<const void*>(Base(context) + offset), bytes);
  return 0;
}

int32_t Program(void* context, uint32_t offset, const void* data, uint32_t bytes) {
  if (offset % 4 != 0 || bytes % 4 != 0) return kNrfFlashMisaligned;
  const uint8_t* src = static_cast<const uint8_t*>(data);
  volatile uint32_t* dst = reinterpret_cast<volatile uint32_t*>(Base(context) + offset);
  int32_t result = 0;
  SetConfig(kConfigWrite);
  for (uint32_t i = 0; i < bytes / 4; ++i) {
    uint32_t word;
    memcpy(&word, src + 4 * i, 4);  // the source need not be word-aligned
    dst[i] = word;                  // the NVMC programs the word written to the flash address
    WaitReady();
    if (dst[i] != word) {
      result = kNrfFlashVerifyFailed;
      break;
    }
  }
  SetConfig(kConfigRead);
  return result;
}

int32_t ErasePage(void* context, uint32_t offset) {
  if (offset % kNrf52840PageBytes != 0) return kNrfFlashMisaligned;
  const uint32_t address = Base(context) + offset;
  SetConfig(kConfigErase);
  Reg(kNvmcErasePage) = address;
  WaitReady();
  SetConfig(kConfigRead);
  const volatile uint32_t* p = reinterpret_cast<const volatile uint32_t*>(address);
  for (uint32_t i = 0; i < kNrf52840PageBytes / 4; ++i) {
    if (p[i] != 0xFFFFFFFFu) return kNrfFlashVerifyFailed;
  }
  return 0;
}

}  // namespace

bool Nrf52840FlashDevice(uint32_t base, uint32_t size, tt_flash* out) {
  if (out == nullptr || base % kNrf52840PageBytes != 0 || size == 0 ||
      size % (2 * kNrf52840PageBytes) != 0 || base > kNrf52840FlashBytes ||
      size > kNrf52840FlashBytes - base) {
    return false;
  }
  *out = tt_flash{reinterpret_cast<void*>(static_cast<uintptr_t>(base)), size, kNrf52840PageBytes, 4,
                  Read, Program, ErasePage};
  return true;
}

}  // namespace tflm_train
