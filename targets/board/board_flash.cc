#include "targets/board/board_flash.h"

#include <cstdint>

#include "targets/board/board.h"
#if defined(__arm__)  // the real boards' flash drivers (Cortex-M parts)
#include "targets/boards/nano33ble/nrf52840_nvmc.h"
#include "targets/boards/stm32f746/stm32f7_flash.h"
#endif
#include "tflm_train/runtime/flash_sim.h"

extern "C" char __checkpoint_start[], __checkpoint_size[], __checkpoint_page_size[];

namespace {

uint32_t Addr(const char* symbol) { return reinterpret_cast<uint32_t>(symbol); }

tflm_train::SimFlash g_sim;

#if defined(__arm__)
tt_flash g_device;

// STM32: the region must start at a sector boundary and cover equal sectors.
bool Stm32Region(tt_flash* out) {
  for (int32_t s = 0; s < tflm_train::kStm32f7Sectors; ++s) {
    const uint32_t bytes = tflm_train::Stm32f7SectorBytes(s);
    if (tflm_train::Stm32f7SectorAddress(s) != Addr(__checkpoint_start)) continue;
    if (bytes != Addr(__checkpoint_page_size)) return false;
    return tflm_train::Stm32f7FlashDevice(s, static_cast<int32_t>(Addr(__checkpoint_size) / bytes),
                                          out);
  }
  return false;
}
#endif

}  // namespace

const tt_flash* board_checkpoint_flash() {
  // QEMU's boards have no flash controller: RAM-backed flash with NOR rules stands in.
  if (board_is_qemu()) {
    return tflm_train::SimFlashInit(&g_sim, reinterpret_cast<uint8_t*>(__checkpoint_start),
                                    Addr(__checkpoint_size), Addr(__checkpoint_page_size), 4)
               ? &g_sim.device
               : nullptr;
  }
  switch (board_id()) {
#if defined(__arm__)
    case BoardId::kNano33Ble:
      return tflm_train::Nrf52840FlashDevice(Addr(__checkpoint_start), Addr(__checkpoint_size),
                                             &g_device)
                 ? &g_device
                 : nullptr;
    case BoardId::kStm32f746:
      return Stm32Region(&g_device) ? &g_device : nullptr;
#endif
    default:
      return nullptr;
  }
}
