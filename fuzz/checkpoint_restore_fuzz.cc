// libFuzzer target: checkpoint restore (checkpoint.h) from a hostile flash image into a session
// of a fixed extended model (the demo CNN, fuzz/checkpoint_model.tflite, read once at start-up).
// Input: one mode byte, then the flash image (shorter images are padded erased). Mode bit 0 asks
// the harness to make both slots' CRCs and commit units match whatever the fuzzer wrote, so it
// reaches the size, identity and payload checks behind them instead of stopping at a CRC;
// bits 1-2 pick the flash write unit. After a successful restore the session saves over it (the
// restored sequence and rounding state feed the next header). Inference and training on restored
// weights are not run: any weight bytes are valid, and the session target covers those paths at
// a hundred times the speed.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tflm_train/runtime/c_api.h"
#include "tflm_train/runtime/checkpoint.h"

namespace {

constexpr uint32_t kFlashBytes = 16384;  // two 8 KB slots: the demo model's payload fits
constexpr uint32_t kPageBytes = 2048;
constexpr uint32_t kWriteUnits[4] = {4, 8, 16, 1};

uint8_t* g_model = nullptr;
size_t g_model_size = 0;
size_t g_arena_size = 0;
alignas(16) uint8_t g_session_storage[4096];
alignas(16) uint8_t g_flash_storage[512];
uint8_t g_flash[kFlashBytes];

uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
void Store32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }

// Rewrites a slot's payload CRC, header CRC and commit unit to agree with its other bytes.
void FixSlot(uint8_t* slot, uint32_t slot_bytes, uint32_t write_size) {
  const size_t header = tflm_train::kCheckpointHeaderBytes;
  uint32_t payload = Load32(slot + offsetof(tflm_train::CheckpointHeader, payload_bytes));
  if (payload > slot_bytes - header) payload = slot_bytes - header;
  Store32(slot + offsetof(tflm_train::CheckpointHeader, payload_crc),
          tflm_train::Crc32(0, slot + header, payload));
  const uint32_t crc =
      tflm_train::Crc32(0, slot, offsetof(tflm_train::CheckpointHeader, header_crc));
  Store32(slot + offsetof(tflm_train::CheckpointHeader, header_crc), crc);
  const uint32_t padded = (payload + write_size - 1) / write_size * write_size;
  const uint32_t commit = static_cast<uint32_t>(header) + padded;
  const uint32_t word = tflm_train::kCheckpointCommitMagic ^ crc;
  for (uint32_t i = 0; commit + i + 4 <= slot_bytes && i < write_size; i += 4) {
    Store32(slot + commit + i, word);
  }
}

uint8_t* AllocExact(size_t size) {
  void* p = nullptr;
  return posix_memalign(&p, 16, size > 0 ? size : 1) == 0 ? static_cast<uint8_t*>(p) : nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FILE* f = fopen(TFLM_FUZZ_CHECKPOINT_MODEL, "rb");
  if (f == nullptr) {
    fprintf(stderr, "cannot read the checkpoint fuzz model %s\n", TFLM_FUZZ_CHECKPOINT_MODEL);
    abort();
  }
  fseek(f, 0, SEEK_END);
  g_model_size = static_cast<size_t>(ftell(f));
  fseek(f, 0, SEEK_SET);
  g_model = AllocExact(g_model_size);
  if (fread(g_model, 1, g_model_size, f) != g_model_size) abort();
  fclose(f);
  tt_session* s = nullptr;
  alignas(16) static uint8_t no_arena[16];
  tt_open(g_session_storage, sizeof(g_session_storage), g_model, g_model_size, no_arena, 0, 1, &s);
  g_arena_size = tt_arena_required(s);
  if (g_arena_size == 0) {
    fprintf(stderr, "%s is not an extended model: %s\n", TFLM_FUZZ_CHECKPOINT_MODEL, tt_error(s));
    abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const uint32_t write_size = kWriteUnits[(mode >> 1) & 3];
  const size_t image = size - 1 < kFlashBytes ? size - 1 : kFlashBytes;
  memset(g_flash, 0xFF, kFlashBytes);
  memcpy(g_flash, data + 1, image);
  if (mode & 1) {
    for (int32_t slot = 0; slot < tflm_train::kCheckpointSlots; ++slot) {
      FixSlot(g_flash + slot * (kFlashBytes / 2), kFlashBytes / 2, write_size);
    }
  }
  tt_sim_flash* sim = nullptr;
  if (tt_sim_flash_init(g_flash_storage, sizeof(g_flash_storage), g_flash, kFlashBytes,
                        kPageBytes, write_size, &sim) != 0) {
    abort();  // the geometry is fixed and valid
  }
  const tt_flash* flash = tt_sim_flash_device(sim);
  uint8_t* arena = AllocExact(g_arena_size);
  tt_session* s = nullptr;
  if (tt_open(g_session_storage, sizeof(g_session_storage), g_model, g_model_size, arena,
              g_arena_size, 1, &s) != 0) {
    abort();
  }
  for (int32_t slot = 0; slot < tflm_train::kCheckpointSlots; ++slot) {
    uint32_t sequence = 0;
    tt_checkpoint_slot_state(flash, slot, &sequence);
  }
  tt_checkpoint_report report;
  const int32_t status = tt_checkpoint_restore(s, flash, &report);
  if (status != 0 && report.message[0] == '\0') abort();  // every refusal names its problem
  if (status == 0) tt_checkpoint_save(s, flash, report.step + 1, &report);
  free(arena);
  return 0;
}
