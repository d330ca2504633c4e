// Zoo training firmware: the demo's training driver (examples/firmware/train/train_driver.cc,
// unchanged) on one zoo model's extended model and steps file, plus what bench/mcu measures:
// instructions per training step and per inference, stack and arena high-water marks.
//
// Step timing without touching the shared driver: it calls the print function right after
// tt_open and right after every tt_train, so the ticks from the end of one such call to the
// start of the next "step" line are exactly one loop iteration of the driver (sample copy into
// the input tensor, learning-rate schedule, tt_train; for a program that reads its input from
// a source the copy happens row by row inside tt_train). The sample copy is timed alone as
// well, so bench/mcu can subtract it. QEMU -icount shift=0: 1 tick = 40 instructions (board.h).
// Built with -DTRAIN_PROFILE (the profile_<model> targets), it then runs one more training step
// on a fresh session with an instruction hook and prints the ticks of every program
// instruction (bench/mcu --profile).
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "examples/firmware/train/train_driver.h"
#include "targets/board/board.h"
#include "tflm_train/runtime/c_api.h"

// firmware_embed symbols (global namespace), declared here so one source serves every model.
alignas(16) extern const uint8_t zoo_model[];
extern const unsigned zoo_model_len;
alignas(16) extern const uint8_t zoo_steps[];
extern const unsigned zoo_steps_len;

#ifndef ARENA_BYTES
#error "ARENA_BYTES is set per board in BUILD"
#endif

namespace {
constexpr uint32_t kArenaPaint = 0xA5C3E1F7u;  // unlikely as a real arena word
alignas(16) uint8_t g_arena[ARENA_BYTES];
alignas(16) uint8_t g_session[TT_SESSION_BYTES];

uint64_t g_last_print_end = 0;  // ticks when the previous print call returned
uint32_t g_steps_timed = 0;

// Print function handed to the driver: forwards everything and times the gaps before
// "step" lines. The formatting happens outside the timed gap (ticks read on entry).
int TimedPrint(const char* fmt, ...) {
  const uint64_t entry = board_ticks();
  if (strncmp(fmt, "step ", 5) == 0 && g_last_print_end != 0) {
    char buf[21];
    board_printf("[mcu] step %lu ticks %s\n", static_cast<unsigned long>(g_steps_timed++),
                 board_u64_str(entry - g_last_print_end, buf));
  }
  va_list ap;
  va_start(ap, fmt);
  const int n = vprintf(fmt, ap);
  va_end(ap);
  g_last_print_end = board_ticks();
  return n;
}

void PaintArena() {
  for (size_t i = 0; i < sizeof(g_arena); i += 4) memcpy(g_arena + i, &kArenaPaint, 4);
}

// Bytes from the arena start to the end of the highest word that no longer holds the paint.
uint32_t ArenaHighWater() {
  for (size_t i = sizeof(g_arena); i >= 4; i -= 4) {
    uint32_t w;
    memcpy(&w, g_arena + i - 4, 4);
    if (w != kArenaPaint) return static_cast<uint32_t>(i);
  }
  return 0;
}

// The first sample of the steps file: the input source of a program that reads its input
// row by row, else copied into the input tensor (UseFirstSample).
int32_t ReadFirstSample(void*, tt_input_request* request) {
  const uint8_t* sample = zoo_steps + sizeof(tflm_train_fw::StepsHeader) + 4;
  memcpy(request->dest, sample + static_cast<size_t>(request->first_row) * request->row_bytes,
         static_cast<size_t>(request->num_rows) * request->row_bytes);
  return 0;
}

void UseFirstSample(tt_session* s) {
  size_t in_bytes = 0;
  int8_t* input = tt_input(s, &in_bytes);
  if (input == nullptr) {
    tt_set_input_source(s, ReadFirstSample, nullptr);
  } else {
    memcpy(input, zoo_steps + sizeof(tflm_train_fw::StepsHeader) + 4, in_bytes);
  }
}

// The driver's sample copy alone, same size, from flash to the arena start.
uint64_t SampleCopyTicks() {
  tflm_train_fw::StepsHeader h;
  memcpy(&h, zoo_steps, sizeof(h));
  if (h.sample_bytes > sizeof(g_arena) || zoo_steps_len < sizeof(h) + 4 + h.sample_bytes)
    return 0;
  const uint64_t t0 = board_ticks();
  memcpy(g_arena, zoo_steps + sizeof(h) + 4, h.sample_bytes);
  return board_ticks() - t0;
}

// One forward pass of the same extended model (fresh session, first sample as input).
int TimedInvoke() {
  tt_session* s = nullptr;
  int32_t rc = tt_open(g_session, sizeof(g_session), zoo_model, zoo_model_len, g_arena,
                       sizeof(g_arena), 1, &s);
  if (rc != 0) return rc;
  UseFirstSample(s);
  const uint64_t t0 = board_ticks();
  rc = tt_invoke(s);
  const uint64_t t1 = board_ticks();
  char buf[21];
  board_printf("[mcu] invoke ticks %s rc %ld\n", board_u64_str(t1 - t0, buf),
               static_cast<long>(rc));
  return rc;
}
#ifdef TRAIN_PROFILE
// Ticks between successive hook calls belong to the instruction announced by the earlier one.
struct ProfileClock {
  uint64_t start = 0;
  int32_t index = -1, opcode = 0, arg0 = 0;
};

void ProfileHook(void* user, int32_t index, int32_t opcode, int32_t arg0) {
  const uint64_t now = board_ticks();
  ProfileClock* c = static_cast<ProfileClock*>(user);
  if (c->index >= 0) {
    char buf[21];
    board_printf("[profile] ins %ld opcode %ld arg %ld ticks %s\n", static_cast<long>(c->index),
                 static_cast<long>(c->opcode), static_cast<long>(c->arg0),
                 board_u64_str(now - c->start, buf));
  }
  c->index = index;
  c->opcode = opcode;
  c->arg0 = arg0;
  c->start = board_ticks();  // the print above is not the next instruction's time
}

// One training step (first sample, the steps file's label and base rate) with every
// instruction timed.
int ProfiledStep() {
  tt_session* s = nullptr;
  int32_t rc = tt_open(g_session, sizeof(g_session), zoo_model, zoo_model_len, g_arena,
                       sizeof(g_arena), 1, &s);
  if (rc != 0) return rc;
  tflm_train_fw::StepsHeader h;
  memcpy(&h, zoo_steps, sizeof(h));
  int32_t label;
  memcpy(&label, zoo_steps + sizeof(h), 4);
  UseFirstSample(s);
  tt_train_options options{h.learning_rate, h.rounding, 1, 0, nullptr};
  ProfileClock clock;
  tt_set_instruction_hook(s, ProfileHook, &clock);
  float loss = 0.0f;
  rc = tt_train(s, label, &options, &loss);
  tt_set_instruction_hook(s, nullptr, nullptr);
  return rc;
}
#endif

}  // namespace

int main() {
  board_start("train");
  PaintArena();
  g_last_print_end = board_ticks();
  int rc = tflm_train_fw::RunTraining(zoo_model, zoo_model_len, zoo_steps, zoo_steps_len,
                                      g_arena, sizeof(g_arena), g_session, sizeof(g_session),
                                      TimedPrint);
  board_printf("[mcu] arena high-water %lu of %lu bytes\n",
               static_cast<unsigned long>(ArenaHighWater()),
               static_cast<unsigned long>(sizeof(g_arena)));
  // The footer's stack high-water covers the timed inference too; this one is training's.
  board_printf("[mcu] training stack high-water %lu bytes\n",
               static_cast<unsigned long>(board_stack_high_water()));
  char buf[21];
  board_printf("[mcu] sample copy ticks %s\n", board_u64_str(SampleCopyTicks(), buf));
  if (rc == 0) rc = TimedInvoke();
#ifdef TRAIN_PROFILE
  if (rc == 0) rc = ProfiledStep();
#endif
  return board_finish("train", rc);
}
