// Inference firmware: runs INFER_RUNS inferences of the embedded zoo model on the board and
// prints each output, its checksum and the ticks per inference (QEMU -icount: 1 tick = 40
// instructions). With INFER_PROFILE: ticks of every op alone (bench/forward.py --profile).
#include <cstdint>

#include "bench/firmware/infer/infer_driver.h"
#include "targets/board/board.h"
#include "tflm_train/runtime/c_api.h"

// Defined by the model's firmware_embed target (symbol zoo_model; see zoo_infer.bzl), which
// differs per firmware, so it is declared here instead of including a per-model header.
alignas(16) extern const uint8_t zoo_model[];
extern const unsigned zoo_model_len;

#ifndef ARENA_BYTES
#error "ARENA_BYTES is set per board by zoo_infer.bzl"
#endif
#ifndef INFER_RUNS
#define INFER_RUNS 2
#endif
#ifndef INFER_SEED
#define INFER_SEED 1
#endif

namespace {
alignas(16) uint8_t g_arena[ARENA_BYTES];
alignas(16) uint8_t g_session[TT_SESSION_BYTES];
}  // namespace

int main() {
  board_start("infer");
#ifdef TFLM_TRAIN_KERNELS_REFERENCE
  board_printf("[infer] kernels reference\n");
#else
  board_printf("[infer] kernels default (DSP where the kernels have it)\n");
#endif
#ifdef INFER_PROFILE
  const int rc = tflm_train_fw::RunProfile(zoo_model, zoo_model_len, g_arena, sizeof(g_arena),
                                           g_session, sizeof(g_session), INFER_SEED,
                                           board_printf, board_ticks);
#else
  const int rc = tflm_train_fw::RunInference(zoo_model, zoo_model_len, g_arena, sizeof(g_arena),
                                             g_session, sizeof(g_session), INFER_SEED, INFER_RUNS,
                                             board_printf, board_ticks);
#endif
  return board_finish("infer", rc);
}
