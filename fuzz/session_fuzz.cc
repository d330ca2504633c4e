// libFuzzer target: a whole extended model through the C API as firmware uses it: tt_open, then
// one inference and one training step. The arena is allocated at exactly the planned size
// (tt_arena_required after a first open without one), so ASan sees any byte used past the plan.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "tflm_train/runtime/c_api.h"

namespace {

// Plans above this are refused here only to keep the fuzzer's memory bounded; the runtime itself
// has no such limit.
constexpr size_t kMaxArena = 8u << 20;

alignas(16) uint8_t g_session_storage[4096];
uint8_t g_empty_arena[16] __attribute__((aligned(16)));

// A 16-byte aligned block of exactly `size` bytes (ASan flags a read one past it), or null.
uint8_t* AllocExact(size_t size) {
  void* p = nullptr;
  return posix_memalign(&p, 16, size > 0 ? size : 1) == 0 ? static_cast<uint8_t*>(p) : nullptr;
}

// Some input bytes: every int8 value and a ramp, so kernels see saturation on both sides.
void FillInput(tt_session* s) {
  size_t bytes = 0;
  int8_t* input = tt_input(s, &bytes);
  if (input == nullptr) return;
  for (size_t i = 0; i < bytes; ++i) input[i] = static_cast<int8_t>(i * 37 + 11);
}

void TrainOnce(tt_session* s) {
  size_t classes = 0;
  if (tt_output(s, &classes) == nullptr) return;
  // MSE programs read one real target per output; softmax programs ignore it.
  float* target = static_cast<float*>(malloc((classes > 0 ? classes : 1) * sizeof(float)));
  for (size_t i = 0; i < classes; ++i) target[i] = (i % 3 == 0) ? 1.0f : -0.5f;
  tt_train_options options = {0.05f, TT_ROUND_STOCHASTIC, 1, 0, target};
  float loss = 0.0f;
  tt_train(s, 1, &options, &loss);
  options.rounding = TT_ROUND_NEAREST;
  options.learning_rate = 1e30f;  // saturating updates
  tt_train(s, 0, &options, &loss);
  free(target);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (tt_session_size() > sizeof(g_session_storage)) abort();
  uint8_t* model = AllocExact(size);
  if (size > 0) memcpy(model, data, size);
  tt_session* s = nullptr;
  int32_t status = tt_open(g_session_storage, sizeof(g_session_storage), model, size,
                           g_empty_arena, 0, 1, &s);
  const size_t required = tt_arena_required(s);
  if (status != 0 && tt_error(s)[0] == '\0') abort();  // every refusal must name its problem
  if (status != 0 && required > 0 && required <= kMaxArena) {
    uint8_t* arena = AllocExact(required);
    status = tt_open(g_session_storage, sizeof(g_session_storage), model, size, arena, required,
                     1, &s);
    if (status != 0 && tt_error(s)[0] == '\0') abort();
    if (status == 0) {
      FillInput(s);
      tt_invoke(s);
      TrainOnce(s);
    }
    free(arena);
  }
  free(model);
  return 0;
}
