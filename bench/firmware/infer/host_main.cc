// Host twin of the inference firmware: the same driver and runtime built for the host, reading
// the model file named on the command line. No ticks (host time is not comparable).
#include <cstdio>
#include <cstdlib>

#include "bench/firmware/infer/infer_driver.h"
#include "tflm_train/runtime/c_api.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s MODEL.tflite SEED RUNS\n", argv[0]);
    return 2;
  }
  // 16-byte aligned model and arena, as on the board.
  alignas(16) static uint8_t model[1 << 20];
  alignas(16) static uint8_t arena[1 << 20];
  alignas(16) static uint8_t session[TT_SESSION_BYTES];
  FILE* f = fopen(argv[1], "rb");
  if (!f) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  const size_t n = fread(model, 1, sizeof(model), f);
  const bool whole = feof(f) != 0;
  fclose(f);
  if (!whole) {
    fprintf(stderr, "%s is larger than %zu bytes\n", argv[1], sizeof(model));
    return 2;
  }
  return tflm_train_fw::RunInference(model, n, arena, sizeof(arena), session, sizeof(session),
                                     static_cast<uint32_t>(strtoul(argv[2], nullptr, 0)),
                                     static_cast<uint32_t>(strtoul(argv[3], nullptr, 0)), printf,
                                     nullptr);
}
