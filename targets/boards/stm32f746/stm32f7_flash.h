// STM32F746 embedded flash (FLASH interface, single bank, 1 MB) as a tflm_train flash device
// (flash.h). Written from the STM32F74x/75x reference manual's flash chapter: unlock with the
// KEYR sequence, program with CR.PG in 32-bit parallelism (PSIZE = x32, for 2.7-3.6 V), erase
// one sector with CR.SER + SNB + STRT, check SR for errors.
//
// Sector map (1 MB part): 0-3 = 32 KB at 0x08000000/0x08008000/0x08010000/0x08018000,
// 4 = 128 KB at 0x08020000, 5-7 = 256 KB at 0x08040000/0x08080000/0x080C0000.
// The checkpoint's "page" is a sector, and both slots must be whole sectors of one size, so
// the region is two (or 2k) equal sectors: by default 6 and 7 (stm32f746.ld reserves them).
//
// NOT testable in QEMU (mps2-an500 has no STM32 flash interface): the checkpoint protocol is
// tested on the simulated flash (host and QEMU); this file only translates its calls.
//
// Notes for use on the board:
// - While a sector erases (~1-2 s for 256 KB) or a word programs, a read of the same bank stalls
//   the CPU (code runs from this flash); no RAM function is needed, interrupts are delayed.
// - Flash endurance is 10 000 cycles per sector.
// - If the Cortex-M7 D-cache is on, the region's lines are invalidated after every erase and
//   program so reads see the flash, not stale cache lines.
// - The region must be writable: board_init with mpu_flash_window = false.
#ifndef TFLM_TRAIN_TARGETS_BOARDS_STM32F746_STM32F7_FLASH_H_
#define TFLM_TRAIN_TARGETS_BOARDS_STM32F746_STM32F7_FLASH_H_

#include <cstdint>

#include "tflm_train/runtime/flash.h"

namespace tflm_train {

constexpr uint32_t kStm32f7FlashBase = 0x08000000;  // AXIM address of sector 0
constexpr int32_t kStm32f7Sectors = 8;
// Default checkpoint region: sectors 6 and 7.
constexpr int32_t kStm32f7CheckpointFirstSector = 6;
constexpr int32_t kStm32f7CheckpointSectors = 2;

// Device codes returned through tt_flash calls.
enum Stm32f7FlashError : int32_t {
  kStmFlashMisaligned = 1,    // offset/length not word-aligned, erase not at a sector start
  kStmFlashOutOfRange = 2,
  kStmFlashLocked = 3,        // the KEYR sequence did not unlock CR
  kStmFlashHardware = 4,      // SR reported OPERR/WRPERR/PGAERR/PGPERR/ERSERR
  kStmFlashVerifyFailed = 5,  // read-back differs from what was written / erased
};

// Start address and size of sector `sector` (0-7); size 0 for an invalid number.
uint32_t Stm32f7SectorAddress(int32_t sector);
uint32_t Stm32f7SectorBytes(int32_t sector);

// Fills *out with a device over sectors [first, first + count): count even and > 0, all of one
// size. Returns false otherwise. context = the first sector number.
bool Stm32f7FlashDevice(int32_t first_sector, int32_t count, tt_flash* out);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_TARGETS_BOARDS_STM32F746_STM32F7_FLASH_H_
