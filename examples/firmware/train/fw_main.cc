// Training firmware: runs the embedded steps on the embedded extended model, in the board's RAM.
#include <cstdint>

#include "examples/firmware/train/model.h"
#include "examples/firmware/train/steps.h"
#include "examples/firmware/train/train_driver.h"
#include "targets/board/board.h"
#include "tflm_train/runtime/c_api.h"

#ifndef ARENA_BYTES
#define ARENA_BYTES (160 * 1024)
#endif

namespace {
alignas(16) uint8_t g_arena[ARENA_BYTES];
alignas(16) uint8_t g_session[TT_SESSION_BYTES];
}  // namespace

int main() {
  board_start("train");
  const int rc = tflm_train_fw::RunTraining(model, model_len, steps, steps_len, g_arena,
                                            sizeof(g_arena), g_session, sizeof(g_session),
                                            board_printf);
  return board_finish("train", rc);
}
