/* Flash device seen by the checkpoint code: a region of NOR flash with the device's own
   granularity. C-compatible so the C API, the Python binding (ctypes) and board drivers share it.

   NOR rules every backend follows (and the simulation enforces, flash_sim.h):
   - erase_page(offset) sets one whole page (page_size bytes, offset page-aligned) to 0xFF;
   - program(offset, data, bytes) can only clear bits: offset and bytes are multiples of
     write_size, and every write unit it touches must be erased (all 0xFF) beforehand, because
     real parts either refuse or silently AND a second write (nRF52840 allows two writes per
     word, STM32F7 flags a programming sequence error); the checkpoint never relies on either;
   - read(offset, out, bytes) has no alignment rules.
   Each call returns 0 on success and a non-zero device code on failure (power lost, timeout,
   write protection, ...); the checkpoint code stops at the first failure.
   Offsets are relative to the start of the region; the region holds `size` bytes. */
#ifndef TFLM_TRAIN_RUNTIME_FLASH_H_
#define TFLM_TRAIN_RUNTIME_FLASH_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tt_flash {
  void* context;        /* backend state, passed back to every call */
  uint32_t size;        /* bytes in the region */
  uint32_t page_size;   /* erase granularity (bytes) */
  uint32_t write_size;  /* program granularity (bytes, power of two, at most 64) */
  int32_t (*read)(void* context, uint32_t offset, void* out, uint32_t bytes);
  int32_t (*program)(void* context, uint32_t offset, const void* data, uint32_t bytes);
  int32_t (*erase_page)(void* context, uint32_t offset);
};
typedef struct tt_flash tt_flash;

#ifdef __cplusplus
}  /* extern "C" */

namespace tflm_train {
using FlashDevice = tt_flash;
}  // namespace tflm_train
#endif

#endif /* TFLM_TRAIN_RUNTIME_FLASH_H_ */
