// Checkpoint example for any board: restore the newest checkpoint at boot (or start from the
// model's weights), train a few steps, save, then prove the save by restoring it into a freshly
// opened session. On the real boards (<name>_hw images) this uses the NVMC / STM32 FLASH
// drivers and keeps training across power cycles; in QEMU every run starts with blank flash.
#include <cstdint>

#include "examples/firmware/board/board.h"
#include "examples/firmware/checkpoint/board_flash.h"
#include "examples/firmware/checkpoint/demo_model.h"
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

void TrainOne(uint32_t step) {
  size_t bytes = 0;
  int8_t* in = g_session.input(&bytes);
  uint32_t x = 0x2545F491u ^ (step * 0x9E3779B9u);
  for (size_t i = 0; i < bytes; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    in[i] = static_cast<int8_t>(x);
  }
  float loss = 0.0f;
  tflm_train::TrainOptions options{0.05f, tflm_train::RoundingMode::kNearest};
  g_session.TrainStep(static_cast<int32_t>(step % 10), options, &loss);
}

}  // namespace

int main() {
  BoardInitOptions options;
  options.mpu_flash_window = false;  // checkpoints are written outside / into flash
  board_init(options);
  const tt_flash* flash = board_checkpoint_flash();
  if (flash == nullptr) return Fail("no checkpoint flash for board", board_name());
  if (!Open()) return Fail("open:", g_session.error());

  tflm_train::ErrorMessage err;
  CheckpointInfo info;
  uint32_t step = 0;
  const CheckpointStatus restored = tflm_train::RestoreCheckpoint(&g_session, flash, &info, &err);
  if (restored == CheckpointStatus::kOk) {
    step = info.step;
    board_printf("[ckpt] %s: restored step %lu (sequence %lu, slot %ld)\n", board_name(),
                 static_cast<unsigned long>(step), static_cast<unsigned long>(info.sequence),
                 static_cast<long>(info.slot));
  } else {
    // First boot, or flash written by another model: start from the model's own weights.
    board_printf("[ckpt] %s: starting fresh (%s)\n", board_name(), err.text);
  }
  for (uint32_t i = 0; i < kStepsPerBoot; ++i) TrainOne(++step);
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
  uint32_t before = 0, after = 0;
  const tflm_train::Program& p = g_session.program();
  for (int pass = 0; pass < 2; ++pass) {
    uint32_t crc = 0;
    for (int32_t i = 0; i < p.header().n_layers; ++i) {
      const tflm_train::LayerInfo l = p.layer(i);
      const int32_t ids[2] = {l.weight_tensor, l.bias_tensor};
      for (int32_t t : ids) {
        size_t n = 0;
        const uint8_t* d = t >= 0 ? g_session.tensor_data(t, &n) : nullptr;
        if (d != nullptr) crc = tflm_train::Crc32(crc, d, n);
      }
    }
    if (pass == 0) {
      before = crc;
      if (!Open()) return Fail("reopen:", g_session.error());
      if (tflm_train::RestoreCheckpoint(&g_session, flash, &info, &err) != CheckpointStatus::kOk) {
        return Fail("restore:", err.text);
      }
    } else {
      after = crc;
    }
  }
  if (before != after || info.step != step) return Fail("restored weights differ", "");
  board_printf("[ckpt] restore verified (weights CRC 0x%08lx)\n", static_cast<unsigned long>(after));
  return 0;
}
