// The training run shared by the firmware and its host twin: the same C++ on both, so their
// printed bytes can be compared line for line (design contract "host = MCU").
#ifndef TFLM_TRAIN_EXAMPLES_FIRMWARE_TRAIN_TRAIN_DRIVER_H_
#define TFLM_TRAIN_EXAMPLES_FIRMWARE_TRAIN_TRAIN_DRIVER_H_

#include <cstddef>
#include <cstdint>

namespace tflm_train_fw {

using PrintFn = int (*)(const char* fmt, ...);

// Steps file (little-endian, written by tflm_train/firmware.py StepsFile): "TTSD", version 2,
// n_steps, sample_bytes, base learning rate (float bits), seed, rounding, batch size, warm-up
// updates, total updates, final lr fraction (float bits), then per step: label (int32) and the
// int8 sample padded to a multiple of 4 bytes. Consecutive samples form mini-batches (the last
// may be shorter); update u runs at the schedule's rate for u, computed on the board.
struct StepsHeader {
  uint32_t magic;
  uint32_t version;
  uint32_t n_steps;
  uint32_t sample_bytes;
  float learning_rate;
  uint32_t seed;
  int32_t rounding;
  uint32_t batch_size;
  uint32_t warmup_steps;
  uint32_t total_steps;
  float final_fraction;
};
constexpr uint32_t kStepsMagic = 0x44535454;  // "TTSD"

// Opens the model in the arena, runs every step of the steps file, prints each step's loss and
// finally every trained tensor in hex plus an FNV-1a checksum. Returns 0 or a status code.
int RunTraining(const uint8_t* model, size_t model_len, const uint8_t* steps, size_t steps_len,
                uint8_t* arena, size_t arena_size, void* session_storage, size_t storage_size,
                PrintFn print);

}  // namespace tflm_train_fw

#endif  // TFLM_TRAIN_EXAMPLES_FIRMWARE_TRAIN_TRAIN_DRIVER_H_
