// Checkpoint example for any board: restore the newest checkpoint at boot (or start from the
// model's weights), train a few steps, save, then prove the save by restoring it into a freshly
// opened session. On the real boards (<name>_hw images) this uses the NVMC / STM32 FLASH
// drivers and keeps training across power cycles; in QEMU every run starts with blank flash.
// host_twin.cc does the same on the host; host_equals_board_test compares their lines.
#include <cstdint>

#include "examples/firmware/checkpoint/demo_model.h"
#include "examples/firmware/checkpoint/demo_steps.h"
#include "targets/board/board.h"
#include "targets/board/board_flash.h"
#include "tflm_train/runtime/checkpoint.h"
#include "tflm_train/runtime/session.h"

namespace {

using tflm_train::CheckpointInfo;
using tflm_train::CheckpointStatus;

constexpr uint32_t kStepsPerBoot = 4;

alignas(16) uint8_t g_arena[64 * 1024];
tflm_train::Session g_session;

int Fail(const char* what, const char* detail) {
  board_printf("[ckpt] FAIL: %s %s\n", what, detail);
  return 1;
}

bool Open() {
  return g_session.Open(model, model_len, g_arena, sizeof(g_arena), 1) == tflm_train::Status::kOk;
}

}  // namespace

int main() {
  BoardInitOptions options;
  options.mpu_flash_window = false;  // checkpoints are written outside / into flash
  board_init(options);
  const tt_flash* flash = board_checkpoint_flash();
  if (flash == nullptr) return Fail("no checkpoint flash for board", board_name());
  if (!Open()) return Fail("open:", g_session.error());
  board_printf("model id 0x%08lx\n",
               static_cast<unsigned long>(tflm_train::CheckpointModelId(g_session)));

  tflm_train::ErrorMessage err;
  CheckpointInfo info;
  uint32_t step = 0;
  if (tflm_train::RestoreCheckpoint(&g_session, flash, &info, &err) == CheckpointStatus::kOk) {
    step = info.step;
    board_printf("[ckpt] %s: restored step %lu (sequence %lu, slot %ld)\n", board_name(),
                 static_cast<unsigned long>(step), static_cast<unsigned long>(info.sequence),
                 static_cast<long>(info.slot));
  } else {
    // First boot, or flash written by another model: start from the model's own weights.
    board_printf("[ckpt] %s: starting fresh (%s)\n", board_name(), err.text);
  }
  for (uint32_t i = 0; i < kStepsPerBoot; ++i) {
    if (ckpt_demo::TrainStep(&g_session, ++step) != tflm_train::Status::kOk) {
      return Fail("train:", g_session.error());
    }
  }
  const uint32_t before = ckpt_demo::WeightsCrc(g_session);
  const uint64_t t0 = board_ticks();
  if (tflm_train::SaveCheckpoint(g_session, flash, step, &info, &err) != CheckpointStatus::kOk) {
    return Fail("save:", err.text);
  }
  const uint64_t t1 = board_ticks();
  char ticks[21];
  board_printf("[ckpt] saved step %lu: sequence %lu, slot %ld, %lu bytes, %s ticks\n",
               static_cast<unsigned long>(step), static_cast<unsigned long>(info.sequence),
               static_cast<long>(info.slot), static_cast<unsigned long>(info.payload_bytes),
               board_u64_str(t1 - t0, ticks));

  // Same weights after a reopen + restore as in the session that saved them.
  if (!Open()) return Fail("reopen:", g_session.error());
  if (tflm_train::RestoreCheckpoint(&g_session, flash, &info, &err) != CheckpointStatus::kOk) {
    return Fail("restore:", err.text);
  }
  const uint32_t after = ckpt_demo::WeightsCrc(g_session);
  if (before != after || info.step != step) return Fail("restored weights differ", "");
  board_printf("[ckpt] restore verified\nweights crc 0x%08lx\n",
               static_cast<unsigned long>(after));
  return 0;
}
