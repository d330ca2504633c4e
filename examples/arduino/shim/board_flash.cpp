// Checkpoints on the boards: the checkpoint flash region of the board layer
// (targets/board/board_flash.h: simulated NOR over reset-surviving RAM in QEMU,
// the NVMC / STM32 FLASH drivers on the real maps) handed to TflmTrain::save() / restore().
#include "TflmTrain.h"
#include "targets/board/board_flash.h"

const tt_flash* TflmTrainCheckpointFlash() {
  static const tt_flash* const device = board_checkpoint_flash();
  return device;
}
