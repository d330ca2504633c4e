// Training firmware for one model (bench/memory): a few training steps of the embedded extended
// model in the board's RAM, then the board's own account of stack and static RAM, which the
// converter's plan cannot know. Samples file (written by bench/memfw/__init__.py), little
// endian: n_steps, sample_bytes (uint32), then per step a label (int32) and the int8 sample
// padded to 4 bytes. Plain SGD, learning rate kLearningRate, round to nearest.
#include <cstdint>
#include <cstring>

#include "examples/firmware/board/board.h"
#include "tflm_train/runtime/c_api.h"

// firmware_embed symbols (global namespace); declared here so one source serves every model.
alignas(16) extern const uint8_t memfw_model[];
extern const unsigned memfw_model_len;
alignas(16) extern const uint8_t memfw_steps[];
extern const unsigned memfw_steps_len;

#ifndef ARENA_BYTES
#define ARENA_BYTES (160 * 1024)
#endif

namespace {
constexpr float kLearningRate = 0.01f;  // == LEARNING_RATE in bench/memfw/__init__.py
alignas(16) uint8_t g_arena[ARENA_BYTES];
alignas(16) uint8_t g_session[1024];

uint32_t Word(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

int Train() {
  tt_session* s = nullptr;
  int32_t rc = tt_open(g_session, sizeof(g_session), memfw_model, memfw_model_len, g_arena,
                       sizeof(g_arena), 1, &s);
  board_printf("[train] arena planned %lu of %lu bytes, session %lu bytes\n",
               static_cast<unsigned long>(s ? tt_arena_required(s) : 0),
               static_cast<unsigned long>(sizeof(g_arena)),
               static_cast<unsigned long>(tt_session_size()));
  if (rc != 0) {
    board_printf("[train] error: %s\n", s ? tt_error(s) : "session storage too small");
    return rc;
  }
  const uint32_t n = Word(memfw_steps), bytes = Word(memfw_steps + 4);
  size_t in_bytes = 0;
  int8_t* input = tt_input(s, &in_bytes);
  if (in_bytes != bytes || memfw_steps_len < 8 + n * (4 + ((bytes + 3) & ~3u))) {
    board_printf("[train] error: samples file does not match the model input\n");
    return 4;
  }
  const uint8_t* p = memfw_steps + 8;
  for (uint32_t i = 0; i < n; ++i, p += 4 + ((bytes + 3) & ~3u)) {
    memcpy(input, p + 4, bytes);
    float loss = 0.0f;
    rc = tt_train_step(s, static_cast<int32_t>(Word(p)), kLearningRate, TT_ROUND_NEAREST, &loss);
    if (rc != 0) {
      board_printf("[train] error at step %lu: %s\n", static_cast<unsigned long>(i), tt_error(s));
      return rc;
    }
    uint32_t bits;
    memcpy(&bits, &loss, 4);
    board_printf("step %lu loss 0x%08lx\n", static_cast<unsigned long>(i),
                 static_cast<unsigned long>(bits));
  }
  return 0;
}
}  // namespace

int main() {
  board_init();
  board_printf("[train] board %s\n", board_name());
  return board_finish("train", Train());  // stack high-water and RAM lines bench/memfw parses
}
