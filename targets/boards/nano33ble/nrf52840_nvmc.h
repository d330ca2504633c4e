// nRF52840 NVMC (non-volatile memory controller) as a tflm_train flash device (flash.h), for the
// Arduino Nano 33 BLE. Written from the nRF52840 Product Specification's NVMC chapter: 4 KB
// pages, 32-bit word writes, erase-page and write enabled through CONFIG.
//
// NOT testable in QEMU (the mps2 boards have no NVMC): the checkpoint protocol is tested on the
// simulated flash (host and QEMU), this file only translates its three calls to registers.
//
// Notes for use on the board:
// - The CPU stalls while the NVMC writes (~41 us per word) or erases (~85 ms per page); code
//   keeps running from flash, no RAM function is needed.
// - With a SoftDevice enabled, flash must go through its API instead (sd_flash_*). Mbed OS on
//   the Nano 33 BLE uses Cordio, not a SoftDevice, so direct NVMC access is allowed.
// - Flash endurance is 10 000 erase cycles per page: every save erases the pages of one slot.
// - The region must be writable: board_init with mpu_flash_window = false (the window is
//   read-only), and nothing else (code, bootloader) may live in it (nano33ble.ld reserves the
//   last 64 KB).
#ifndef TFLM_TRAIN_TARGETS_BOARDS_NANO33BLE_NRF52840_NVMC_H_
#define TFLM_TRAIN_TARGETS_BOARDS_NANO33BLE_NRF52840_NVMC_H_

#include <cstdint>

#include "tflm_train/runtime/flash.h"

namespace tflm_train {

constexpr uint32_t kNrf52840FlashBytes = 1024 * 1024;
constexpr uint32_t kNrf52840PageBytes = 4096;
// Default checkpoint region: the last 64 KB (nano33ble.ld's __checkpoint_start).
constexpr uint32_t kNrf52840CheckpointBase = kNrf52840FlashBytes - 64 * 1024;
constexpr uint32_t kNrf52840CheckpointBytes = 64 * 1024;

// Device codes returned through tt_flash calls.
enum Nrf52840FlashError : int32_t {
  kNrfFlashMisaligned = 1,   // offset/length not word-aligned, erase not page-aligned
  kNrfFlashOutOfRange = 2,
  kNrfFlashVerifyFailed = 3, // the word or page does not read back as written / erased
};

// Fills *out with a device over [base, base + size) of the internal flash. base and size must be
// page-aligned, size a multiple of two pages, and the region inside the 1 MB. Returns false
// otherwise. The device has no state besides `out` itself (context = base address).
bool Nrf52840FlashDevice(uint32_t base, uint32_t size, tt_flash* out);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_TARGETS_BOARDS_NANO33BLE_NRF52840_NVMC_H_
