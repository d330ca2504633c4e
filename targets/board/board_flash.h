// The checkpoint flash of the board this image is linked for, from the linker script's
// __checkpoint_start / __checkpoint_size / __checkpoint_page_size:
//   QEMU an386 / an500: simulated NOR (tflm_train/runtime/flash_sim.h) over RAM that survives
//                       a system reset (QEMU's mps2 boards have no flash controller);
//   nano33ble:          the nRF52840 NVMC driver (targets/boards/nano33ble/nrf52840_nvmc.h);
//   stm32f746:          the STM32F7 FLASH driver (targets/boards/stm32f746/stm32f7_flash.h).
// The real-board drivers cannot be exercised in QEMU; only the QEMU variant is tested here.
// Requires board_init with mpu_flash_window = false (the region is outside / must be writable).
#ifndef TFLM_TRAIN_TARGETS_BOARD_BOARD_FLASH_H_
#define TFLM_TRAIN_TARGETS_BOARD_BOARD_FLASH_H_

#include "tflm_train/runtime/flash.h"

// The device, or nullptr if the linker script's region does not suit the board's driver.
const tt_flash* board_checkpoint_flash();

#endif  // TFLM_TRAIN_TARGETS_BOARD_BOARD_FLASH_H_
