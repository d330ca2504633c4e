#include "targets/boards/stm32f746/stm32f7_flash.h"

#include <cstring>

namespace tflm_train {
namespace {

// FLASH interface registers (base 0x40023C00).
constexpr uint32_t kFlashKeyr = 0x40023C04, kFlashSr = 0x40023C0C, kFlashCr = 0x40023C10;
constexpr uint32_t kKey1 = 0x45670123u, kKey2 = 0xCDEF89ABu;
constexpr uint32_t kSrBsy = 1u << 16;
// OPERR | WRPERR | PGAERR | PGPERR | ERSERR (write 1 to clear), plus EOP.
constexpr uint32_t kSrErrors = (1u << 1) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7);
constexpr uint32_t kSrEop = 1u << 0;
constexpr uint32_t kCrPg = 1u << 0, kCrSer = 1u << 1, kCrMer = 1u << 2, kCrStrt = 1u << 16,
                   kCrLock = 1u << 31;
constexpr uint32_t kCrSnbShift = 3, kCrSnbMask = 0x1Fu << 3;
constexpr uint32_t kCrPsizeX32 = 2u << 8, kCrPsizeMask = 3u << 8;
// Cortex-M7 cache maintenance (SCB).
constexpr uint32_t kScbCcr = 0xE000ED14, kScbDcimvac = 0xE000EF5C;
constexpr uint32_t kCcrDc = 1u << 16, kCacheLine = 32;

constexpr uint32_t kSectorKb[kStm32f7Sectors] = {32, 32, 32, 32, 128, 256, 256, 256};

volatile uint32_t& Reg(uint32_t address) { return *reinterpret_cast<volatile uint32_t*>(address); }

void Barrier() { __asm volatile("dsb\n isb" ::: "memory"); }

int32_t FirstSector(void* context) {
  return static_cast<int32_t>(reinterpret_cast<uintptr_t>(context));
}

uint32_t RegionBase(void* context) { return Stm32f7SectorAddress(FirstSector(context)); }

void WaitIdle() {
  while (Reg(kFlashSr) & kSrBsy) {
  }
}

// Reads must see the flash after it changed, not lines the D-cache (if enabled) kept.
void InvalidateDcache(uint32_t address, uint32_t bytes) {
  if ((Reg(kScbCcr) & kCcrDc) == 0) return;
  Barrier();
  for (uint32_t a = address & ~(kCacheLine - 1); a < address + bytes; a += kCacheLine) {
    Reg(kScbDcimvac) = a;
  }
  Barrier();
}

bool Unlock() {
  WaitIdle();
  if (Reg(kFlashCr) & kCrLock) {
    Reg(kFlashKeyr) = kKey1;
    Reg(kFlashKeyr) = kKey2;
  }
  Reg(kFlashSr) = kSrErrors | kSrEop;  // clear stale flags
  return (Reg(kFlashCr) & kCrLock) == 0;
}

void Lock() {
  Reg(kFlashCr) = Reg(kFlashCr) & ~(kCrPg | kCrSer | kCrMer | kCrSnbMask);
  Reg(kFlashCr) = Reg(kFlashCr) | kCrLock;
}

// Waits for the operation and returns kStmFlashHardware if SR reports an error.
int32_t Finish() {
  Barrier();
  WaitIdle();
  const uint32_t sr = Reg(kFlashSr);
  Reg(kFlashSr) = kSrErrors | kSrEop;
  return (sr & kSrErrors) ? static_cast<int32_t>(kStmFlashHardware) : 0;
}

int32_t Read(void* context, uint32_t offset, void* out, uint32_t bytes) {
  memcpy(out, reinterpret_cast<const void*>(RegionBase(context) + offset), bytes);
  return 0;
}

int32_t Program(void* context, uint32_t offset, const void* data, uint32_t bytes) {
  if (offset % 4 != 0 || bytes % 4 != 0) return kStmFlashMisaligned;
  if (!Unlock()) return kStmFlashLocked;
  const uint32_t address = RegionBase(context) + offset;
  const uint8_t* src = static_cast<const uint8_t*>(data);
  volatile uint32_t* dst = reinterpret_cast<volatile uint32_t*>(address);
  int32_t result = 0;
  Reg(kFlashCr) = (Reg(kFlashCr) & ~(kCrPsizeMask | kCrSer | kCrMer | kCrSnbMask)) |
                  kCrPsizeX32 | kCrPg;
  for (uint32_t i = 0; i < bytes / 4 && result == 0; ++i) {
    uint32_t word;
    memcpy(&word, src + 4 * i, 4);
    dst[i] = word;
    result = Finish();
  }
  Lock();
  InvalidateDcache(address, bytes);
  for (uint32_t i = 0; i < bytes / 4 && result == 0; ++i) {
    uint32_t word;
    memcpy(&word, src + 4 * i, 4);
    if (dst[i] != word) result = kStmFlashVerifyFailed;
  }
  return result;
}

int32_t EraseSector(void* context, uint32_t offset) {
  const int32_t first = FirstSector(context);
  const uint32_t size = Stm32f7SectorBytes(first);  // all sectors of the region are this size
  if (offset % size != 0) return kStmFlashMisaligned;
  const int32_t sector = first + static_cast<int32_t>(offset / size);
  if (!Unlock()) return kStmFlashLocked;
  Reg(kFlashCr) = (Reg(kFlashCr) & ~(kCrPsizeMask | kCrPg | kCrMer | kCrSnbMask)) |
                  kCrPsizeX32 | kCrSer | (static_cast<uint32_t>(sector) << kCrSnbShift);
  Reg(kFlashCr) = Reg(kFlashCr) | kCrStrt;
  const int32_t result = Finish();
  Lock();
  const uint32_t address = Stm32f7SectorAddress(sector);
  InvalidateDcache(address, size);
  if (result != 0) return result;
  const volatile uint32_t* p = reinterpret_cast<const volatile uint32_t*>(address);
  for (uint32_t i = 0; i < size / 4; ++i) {
    if (p[i] != 0xFFFFFFFFu) return kStmFlashVerifyFailed;
  }
  return 0;
}

}  // namespace

uint32_t Stm32f7SectorBytes(int32_t sector) {
  return sector >= 0 && sector < kStm32f7Sectors ? kSectorKb[sector] * 1024u : 0;
}

uint32_t Stm32f7SectorAddress(int32_t sector) {
  uint32_t address = kStm32f7FlashBase;
  for (int32_t s = 0; s < sector && s < kStm32f7Sectors; ++s) address += Stm32f7SectorBytes(s);
  return address;
}

bool Stm32f7FlashDevice(int32_t first_sector, int32_t count, tt_flash* out) {
  if (out == nullptr || count <= 0 || count % 2 != 0 || first_sector < 0 ||
      first_sector + count > kStm32f7Sectors) {
    return false;
  }
  const uint32_t size = Stm32f7SectorBytes(first_sector);
  for (int32_t s = first_sector; s < first_sector + count; ++s) {
    if (Stm32f7SectorBytes(s) != size) return false;
  }
  *out = tt_flash{reinterpret_cast<void*>(static_cast<uintptr_t>(first_sector)),
                  size * static_cast<uint32_t>(count), size, 4, Read, Program, EraseSector};
  return true;
}

}  // namespace tflm_train
