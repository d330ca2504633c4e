// RAM-backed NOR flash that follows flash.h's rules strictly and can lose power on purpose.
//
// Used by the host fault-injection tests (tests/test_checkpoint.py) and, with no cut armed, as
// the "flash" of the QEMU firmware (QEMU's mps2 boards have no flash controller; there a real
// system reset does the cutting, see examples/firmware/checkpoint/).
//
// Power cut model: operations are counted in write units (one per programmed unit) and page
// erases (one per page). With a cut armed at operation N, operations before N complete, N is
// torn and power is off afterwards: every later call fails with kSimFlashPowerLost and changes
// nothing. A torn program leaves each bit either old or new (new = old AND data, NOR can only
// clear bits); a torn erase leaves each bit either old or 1. Which bits: a seeded xorshift, so
// a failing case can be replayed.
#ifndef TFLM_TRAIN_RUNTIME_FLASH_SIM_H_
#define TFLM_TRAIN_RUNTIME_FLASH_SIM_H_

#include <cstdint>

#include "tflm_train/runtime/flash.h"

namespace tflm_train {

// Device codes returned through tt_flash calls.
enum SimFlashError : int32_t {
  kSimFlashPowerLost = 1,    // the cut happened (in this call or earlier)
  kSimFlashMisaligned = 2,   // program offset/length not a multiple of write_size, erase offset
                             // not page-aligned
  kSimFlashOutOfRange = 3,
  kSimFlashNotErased = 4,    // program over a unit that is not all 0xFF
};

struct SimFlash {
  uint8_t* memory = nullptr;  // caller-owned, `device.size` bytes
  int64_t cut_at = -1;        // operation index that gets torn; -1: never
  uint64_t operations = 0;    // operations started since the last power-on
  uint32_t rng = 1;           // xorshift32 state for torn bits
  bool powered = true;
  tt_flash device = {};       // the flash.h view; context points back here
};

// Sets up `flash` over `memory` (contents kept). Returns false for an unusable geometry:
// write_size a power of two <= 64, page_size a multiple of it, size a multiple of page_size.
bool SimFlashInit(SimFlash* flash, uint8_t* memory, uint32_t size, uint32_t page_size,
                  uint32_t write_size);
void SimFlashCutAt(SimFlash* flash, int64_t operation, uint32_t seed);
void SimFlashPowerOn(SimFlash* flash);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_FLASH_SIM_H_
