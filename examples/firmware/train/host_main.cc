// Host twin of the training firmware: the same driver and runtime sources built for the host,
// reading the model and steps files named on the command line.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "examples/firmware/train/train_driver.h"
#include "tflm_train/runtime/c_api.h"

namespace {
bool ReadFile(const char* path, std::vector<uint8_t>* out) {
  FILE* f = fopen(path, "rb");
  if (!f) return false;
  uint8_t buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out->insert(out->end(), buf, buf + n);
  fclose(f);
  return true;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL.tflite STEPS.bin\n", argv[0]);
    return 2;
  }
  std::vector<uint8_t> model_file, steps;
  if (!ReadFile(argv[1], &model_file) || !ReadFile(argv[2], &steps)) {
    fprintf(stderr, "cannot read %s or %s\n", argv[1], argv[2]);
    return 2;
  }
  // The runtime wants 16-byte aligned model and arena, as on the board.
  alignas(16) static uint8_t model[1 << 20];
  alignas(16) static uint8_t arena[1 << 20];
  alignas(16) static uint8_t session[TT_SESSION_BYTES];
  if (model_file.size() > sizeof(model)) return 2;
  for (size_t i = 0; i < model_file.size(); ++i) model[i] = model_file[i];
  return tflm_train_fw::RunTraining(model, model_file.size(), steps.data(), steps.size(), arena,
                                    sizeof(arena), session, sizeof(session), printf);
}
