// Host twin of demo_main.cc: the same runtime, steps and checkpoint code built for the host, on
// a simulated flash (nRF52840 geometry), reading the model file named on the command line.
// Prints the lines that host_equals_board_test compares with the firmware's.
#include <cstdio>

#include "examples/firmware/checkpoint/demo_steps.h"
#include "tflm_train/runtime/checkpoint.h"
#include "tflm_train/runtime/flash_sim.h"

namespace {
alignas(16) uint8_t g_model[1 << 20];
alignas(16) uint8_t g_arena[1 << 20];
uint8_t g_flash_memory[64 * 1024];
tflm_train::Session g_session;
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL.tflite\n", argv[0]);
    return 2;
  }
  FILE* f = fopen(argv[1], "rb");
  if (f == nullptr) return 2;
  const size_t n = fread(g_model, 1, sizeof(g_model), f);
  fclose(f);
  if (g_session.Open(g_model, n, g_arena, sizeof(g_arena), 1) != tflm_train::Status::kOk) {
    fprintf(stderr, "open: %s\n", g_session.error());
    return 1;
  }
  printf("model id 0x%08lx\n", static_cast<unsigned long>(tflm_train::CheckpointModelId(g_session)));
  for (uint32_t step = 1; step <= 4; ++step) {
    if (ckpt_demo::TrainStep(&g_session, step) != tflm_train::Status::kOk) return 1;
  }
  for (uint8_t& b : g_flash_memory) b = 0xFF;
  tflm_train::SimFlash flash;
  tflm_train::ErrorMessage err;
  tflm_train::CheckpointInfo info;
  if (!tflm_train::SimFlashInit(&flash, g_flash_memory, sizeof(g_flash_memory), 4096, 4) ||
      tflm_train::SaveCheckpoint(g_session, &flash.device, 4, &info, &err) !=
          tflm_train::CheckpointStatus::kOk ||
      g_session.Open(g_model, n, g_arena, sizeof(g_arena), 1) != tflm_train::Status::kOk ||
      tflm_train::RestoreCheckpoint(&g_session, &flash.device, &info, &err) !=
          tflm_train::CheckpointStatus::kOk) {
    fprintf(stderr, "checkpoint: %s\n", err.text);
    return 1;
  }
  printf("weights crc 0x%08lx\n", static_cast<unsigned long>(ckpt_demo::WeightsCrc(g_session)));
  return 0;
}
