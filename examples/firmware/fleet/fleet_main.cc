// Fleet client firmware: one federated round on the board. The model (with its training
// program) is in flash; only trained bytes move, through semihosting files in QEMU's working
// directory (tflm_train/fleet/boards.py is the bridge on the other side):
//   fleet_global.bin  in:  the round's fleet message (tflm_train/fleet/payload.py: "TTFL"
//                          header + the global trained bytes); its tensors and lengths must be
//                          this session's trained tensors.
//   fleet_steps.bin   in:  the local steps (examples/firmware/train/train_driver.h StepsHeader,
//                          then label + sample per step), read one step at a time.
//   fleet_update.bin  out: the message back: the same header (id, round, samples as the bridge
//                          set them) with this board's trained bytes.
// The per-step losses are printed as the training firmware prints them.
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "examples/firmware/train/model.h"
#include "examples/firmware/train/train_driver.h"
#include "targets/board/board.h"
#include "tflm_train/runtime/c_api.h"
#include "tflm_train/runtime/program.h"
#include "tflm_train/runtime/session.h"

#ifndef ARENA_BYTES
#define ARENA_BYTES (96 * 1024)
#endif

namespace {

constexpr uint32_t kHeaderBytes = 24;  // magic, version, n, model id, round, samples
constexpr uint32_t kEntryBytes = 8;    // tensor index, byte length
constexpr uint32_t kMaxMessage = 16 * 1024;
constexpr uint32_t kMaxSample = 4096;

alignas(16) uint8_t g_arena[ARENA_BYTES];
alignas(4) uint8_t g_message[kMaxMessage];
alignas(4) uint8_t g_sample[kMaxSample];
tflm_train::Session g_session;

uint32_t Word(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

int Fail(const char* what) {
  board_printf("[fleet] error: %s\n", what);
  return 4;
}

bool IsTrained(int32_t t) {
  const tflm_train::Program& program = g_session.program();
  for (int32_t i = 0; i < program.header().n_layers; ++i) {
    const tflm_train::LayerInfo l = program.layer(i);
    if (t == tflm_train::TrainedWeight(l) || t == l.bias_tensor) return true;
  }
  return false;
}

// Checks the message against the session and copies its bytes into the trained tensors.
int LoadGlobal(uint32_t size, uint32_t* n_out) {
  if (size < kHeaderBytes || memcmp(g_message, "TTFL", 4) != 0 ||
      (g_message[4] | g_message[5] << 8) != 1) {
    return Fail("fleet_global.bin is not a version-1 fleet message");
  }
  const uint32_t n = g_message[6] | g_message[7] << 8;
  uint32_t at = kHeaderBytes + kEntryBytes * n;
  if (at > size) return Fail("fleet_global.bin: header longer than the file");
  for (uint32_t k = 0; k < n; ++k) {
    const int32_t t = static_cast<int32_t>(Word(g_message + kHeaderBytes + kEntryBytes * k));
    const uint32_t len = Word(g_message + kHeaderBytes + kEntryBytes * k + 4);
    if (!IsTrained(t) || g_session.trained_bytes(t) != static_cast<int64_t>(len) ||
        len > size - at) {
      board_printf("[fleet] error: tensor %ld (%lu bytes) is not a trained tensor of this "
                   "model with that length\n", static_cast<long>(t),
                   static_cast<unsigned long>(len));
      return 4;
    }
    memcpy(g_session.data(t), g_message + at, len);
    at += len;
  }
  if (at != size) return Fail("fleet_global.bin: bytes left after the last tensor");
  *n_out = n;
  return 0;
}

int RunSteps(FILE* f, const tflm_train_fw::StepsHeader& h) {
  size_t in_bytes = 0;
  int8_t* input = g_session.input(&in_bytes);
  if (in_bytes != h.sample_bytes) return Fail("samples do not match the model input");
  const tt_lr_schedule schedule{h.learning_rate, static_cast<int32_t>(h.warmup_steps),
                                static_cast<int32_t>(h.total_steps), h.final_fraction};
  const size_t padded = (h.sample_bytes + 3u) & ~3u;
  for (uint32_t i = 0; i < h.n_steps; ++i) {
    int32_t label;
    if (fread(&label, 4, 1, f) != 1 || fread(g_sample, 1, padded, f) != padded) {
      return Fail("fleet_steps.bin ends early");
    }
    memcpy(input, g_sample, h.sample_bytes);
    const uint32_t start = i - i % h.batch_size;
    const uint32_t left = h.n_steps - start;
    tflm_train::TrainOptions options;
    options.learning_rate =
        tt_learning_rate(&schedule, static_cast<int32_t>(start / h.batch_size));
    options.rounding = static_cast<tflm_train::RoundingMode>(h.rounding);
    options.batch_size = static_cast<int32_t>(left < h.batch_size ? left : h.batch_size);
    options.sample_in_batch = static_cast<int32_t>(i - start);
    float loss = 0.0f;
    if (g_session.TrainStep(label, options, &loss) != tflm_train::Status::kOk) {
      board_printf("[fleet] error at step %lu: %s\n", static_cast<unsigned long>(i),
                   g_session.error());
      return 4;
    }
    uint32_t bits;
    memcpy(&bits, &loss, 4);
    board_printf("step %lu label %ld loss 0x%08lx\n", static_cast<unsigned long>(i),
                 static_cast<long>(label), static_cast<unsigned long>(bits));
  }
  return 0;
}

// The reply: the received header and entries, then this session's trained bytes.
int WriteUpdate(uint32_t n) {
  FILE* out = fopen("fleet_update.bin", "wb");
  if (out == nullptr) return Fail("cannot create fleet_update.bin");
  const uint32_t head = kHeaderBytes + kEntryBytes * n;
  bool ok = fwrite(g_message, 1, head, out) == head;
  for (uint32_t k = 0; k < n && ok; ++k) {
    const int32_t t = static_cast<int32_t>(Word(g_message + kHeaderBytes + kEntryBytes * k));
    size_t len = 0;
    const uint8_t* data = g_session.tensor_data(t, &len);
    ok = fwrite(data, 1, len, out) == len;
  }
  ok = fclose(out) == 0 && ok;
  return ok ? 0 : Fail("writing fleet_update.bin failed");
}

int Open(uint32_t seed) {
  if (g_session.Open(model, model_len, g_arena, sizeof(g_arena), seed) !=
      tflm_train::Status::kOk) {
    board_printf("[fleet] error: %s\n", g_session.error());
    return 4;
  }
  return 0;
}

int LoadAndTrain(FILE* steps, const tflm_train_fw::StepsHeader& h) {
  FILE* f = fopen("fleet_global.bin", "rb");
  if (f == nullptr) return Fail("cannot open fleet_global.bin");
  const size_t size = fread(g_message, 1, sizeof(g_message), f);
  const bool whole = fgetc(f) == EOF;
  fclose(f);
  if (!whole) return Fail("fleet_global.bin is larger than the message buffer");
  uint32_t n = 0;
  int rc = LoadGlobal(static_cast<uint32_t>(size), &n);
  if (rc == 0) rc = RunSteps(steps, h);
  return rc != 0 ? rc : WriteUpdate(n);
}

int Round() {
  FILE* steps = fopen("fleet_steps.bin", "rb");
  if (steps == nullptr) return Fail("cannot open fleet_steps.bin");
  tflm_train_fw::StepsHeader h;
  if (fread(&h, sizeof(h), 1, steps) != 1 || h.magic != tflm_train_fw::kStepsMagic ||
      h.version != 2 || h.batch_size == 0 || h.sample_bytes > kMaxSample) {
    fclose(steps);
    return Fail("fleet_steps.bin is not a version-2 steps file");
  }
  int rc = Open(h.seed);
  if (rc == 0) rc = LoadAndTrain(steps, h);
  fclose(steps);
  return rc;
}

}  // namespace

int main() {
  board_start("fleet");
  return board_finish("fleet", Round());
}
