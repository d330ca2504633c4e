// Checkpoint flash of the host twin: the runtime's simulated NOR flash (flash_sim.h, same NOR
// rules as the board drivers) over 64 KB of RAM with 4 KB pages, the geometry of the boards'
// checkpoint regions (board/*.ld), erased at start like a board's first boot.
#include <cstring>

#include "TflmTrain.h"

namespace {
constexpr uint32_t kBytes = 64 * 1024, kPage = 4 * 1024, kWrite = 4;
alignas(8) uint8_t g_memory[kBytes];
alignas(8) uint8_t g_storage[256];
}  // namespace

const tt_flash* TflmTrainCheckpointFlash() {
  static const tt_flash* device = [] {
    memset(g_memory, 0xFF, sizeof(g_memory));
    tt_sim_flash* f = nullptr;
    if (tt_sim_flash_size() > sizeof(g_storage) ||
        tt_sim_flash_init(g_storage, sizeof(g_storage), g_memory, kBytes, kPage, kWrite, &f) != 0) {
      return static_cast<const tt_flash*>(nullptr);
    }
    return tt_sim_flash_device(f);
  }();
  return device;
}
