// Power-cut test in QEMU: checkpoint saves interrupted by a real system reset.
//
// Every boot after the first restores the newest checkpoint and checks it is exactly the last
// committed one or exactly the one whose save was interrupted (the latter only if that save got
// as far as its commit unit), then trains one step and starts the next save with a CMSDK timer
// armed to fire at a different tick each boot; its interrupt requests SYSRESETREQ (AIRCR), so
// the save stops wherever the CPU is, mid-word included, and QEMU resets the machine. The
// flash is RAM past the image that QEMU does not touch on reset (see an386.ld), the
// bookkeeping lives in the 4 KB after it (__noinit_start).
//
// CUT_MODE 0: CUT_POINTS cuts spread evenly from the start of the save to past its end.
// CUT_MODE 1: one tick (40 instructions) apart around the moment the commit unit is programmed.
// Exit 0 when all cut points passed; 1 with a message on the first violation.
#include <cstdint>
#include <cstring>

#include "examples/firmware/checkpoint/demo_model.h"
#include "examples/firmware/checkpoint/demo_steps.h"
#include "targets/board/board.h"
#include "targets/board/board_flash.h"
#include "tflm_train/runtime/checkpoint.h"
#include "tflm_train/runtime/session.h"

#ifndef CUT_POINTS
#define CUT_POINTS 40
#endif
#ifndef CUT_MODE
#define CUT_MODE 0
#endif

extern "C" char __noinit_start[], __noinit_size[];

namespace {

using tflm_train::CheckpointInfo;
using tflm_train::CheckpointStatus;
using tflm_train::ErrorMessage;

#define REG(a) (*reinterpret_cast<volatile uint32_t*>(a))
// CMSDK APB timer 0 (mps2-an386 / an500 / an385: 0x40000000, IRQ 8; mps2-an505: its Secure alias
// 0x50000000, IRQ 3), clocked like SysTick, so with -icount shift=0 one timer tick is a fixed
// number of instructions (40, or 50 on the an505), the same on every run.
uint32_t TimerBase() { return board_id() == BoardId::kQemuAn505 ? 0x50000000u : 0x40000000u; }
const uint32_t kTimerCtrl = TimerBase(), kTimerValue = TimerBase() + 4,
               kTimerReload = TimerBase() + 8, kTimerIntClear = TimerBase() + 0xC;
const uint32_t kTimerIrq = board_id() == BoardId::kQemuAn505 ? 3 : 8;
constexpr uint32_t kNvicIser = 0xE000E100, kNvicIcer = 0xE000E180, kNvicIcpr = 0xE000E280;
constexpr uint32_t kVtor = 0xE000ED08, kAircr = 0xE000ED0C;
constexpr uint32_t kSysResetReq = 0x05FA0004u;  // VECTKEY | SYSRESETREQ
constexpr uint32_t kControlMagic = 0x54554354;  // "TCUT"
constexpr int kVectors = 128;

struct Expected {
  uint32_t sequence, step, crc;
};

// Survives resets (never zeroed by startup, not loaded by QEMU).
struct Control {
  uint32_t magic;
  uint32_t cut;            // index of the cut point for the save in progress
  uint32_t save_ticks;     // uncut save with a valid checkpoint in the other slot
  uint32_t commit_ticks;   // ... and when its commit unit was programmed
  uint32_t cut_tick;       // tick the timer was armed for in the save in progress
  uint32_t completed;      // that save returned before the cut
  Expected good;           // last committed checkpoint
  Expected pending;        // checkpoint being written
  uint32_t restored_old, restored_new;
};
static_assert(sizeof(Control) <= 4096, "bookkeeping fits __noinit");

Control& control() { return *reinterpret_cast<Control*>(__noinit_start); }

alignas(16) uint8_t g_arena[64 * 1024];
tflm_train::Session g_session;
alignas(512) void (*g_vectors[kVectors])(void);

// Recording wrapper around the board flash: the tick at which the last program call started
// (for CUT_MODE 1, the commit unit is the last program of a save).
const tt_flash* g_flash = nullptr;
tt_flash g_recording;
uint64_t g_last_program_tick = 0;
int32_t RecordingRead(void* c, uint32_t o, void* out, uint32_t n) {
  return g_flash->read(c, o, out, n);
}
int32_t RecordingProgram(void* c, uint32_t o, const void* d, uint32_t n) {
  g_last_program_tick = board_ticks();
  return g_flash->program(c, o, d, n);
}
int32_t RecordingErase(void* c, uint32_t o) { return g_flash->erase_page(c, o); }

[[noreturn]] void Fail(const char* what, const char* detail) {
  board_printf("[cut] FAIL at cut %lu (tick %lu): %s %s\n",
               static_cast<unsigned long>(control().cut),
               static_cast<unsigned long>(control().cut_tick), what, detail);
  control().magic = 0;  // a rerun starts from scratch
  board_exit(1);
}

extern "C" void CutHandler(void) {
  REG(kAircr) = kSysResetReq;
  __asm volatile("dsb" ::: "memory");
  for (;;) {
  }
}

// The boot vector table is const in flash; a RAM copy gets the timer's handler.
void InstallCutHandler() {
  const auto* boot = reinterpret_cast<void (*const*)(void)>(REG(kVtor));
  for (int i = 0; i < kVectors; ++i) g_vectors[i] = boot[i];
  g_vectors[16 + kTimerIrq] = CutHandler;
  __asm volatile("dsb" ::: "memory");
  REG(kVtor) = reinterpret_cast<uint32_t>(g_vectors);
  __asm volatile("dsb\n isb" ::: "memory");
}

void ArmCut(uint32_t ticks) {
  REG(kTimerCtrl) = 0;
  REG(kTimerValue) = ticks;
  REG(kTimerReload) = ticks;
  REG(kTimerIntClear) = 1;
  REG(kNvicIcpr) = 1u << kTimerIrq;
  REG(kNvicIser) = 1u << kTimerIrq;
  REG(kTimerCtrl) = 1u | (1u << 3);  // enable, interrupt enable
}

void DisarmCut() {
  REG(kTimerCtrl) = 0;
  REG(kNvicIcer) = 1u << kTimerIrq;
  REG(kTimerIntClear) = 1;
  REG(kNvicIcpr) = 1u << kTimerIrq;
}

[[noreturn]] void ResetNow() {
  REG(kAircr) = kSysResetReq;
  __asm volatile("dsb" ::: "memory");
  for (;;) {
  }
}

// One training step on a deterministic pseudo-random sample (depends only on `step`); the cut
// test's own sample stream, not the demo's.
void TrainOne(uint32_t step) {
  if (ckpt_demo::TrainStep(&g_session, step, {0x9E3779B9u, 0x85EBCA6Bu}) !=
      tflm_train::Status::kOk) {
    Fail("train step:", g_session.error());
  }
}

CheckpointInfo Save(uint32_t step) {
  ErrorMessage err;
  CheckpointInfo info;
  if (tflm_train::SaveCheckpoint(g_session, &g_recording, step, &info, &err) !=
      CheckpointStatus::kOk) {
    Fail("save:", err.text);
  }
  return info;
}

uint32_t CutTick(const Control& c) {
  const uint32_t k = c.cut, n = CUT_POINTS;
#if CUT_MODE == 0
  // From the first instruction of the save to 1/8 past its end (the last few complete).
  return 1 + static_cast<uint32_t>(uint64_t{c.save_ticks + c.save_ticks / 8} * k / (n - 1));
#else
  const uint32_t first = c.commit_ticks > n / 2 ? c.commit_ticks - n / 2 : 1;
  return first + k;
#endif
}

// First power-on: fresh flash, two uncut saves (the second one, with a valid checkpoint in the
// other slot like every later save, is timed).
void FirstBoot(Control& c) {
  ErrorMessage err;
  if (tflm_train::EraseCheckpoints(&g_recording, &err) != CheckpointStatus::kOk) {
    Fail("erase:", err.text);
  }
  CheckpointInfo info;
  if (tflm_train::RestoreCheckpoint(&g_session, &g_recording, &info, &err) !=
      CheckpointStatus::kNoCheckpoint) {
    Fail("restore from erased flash did not say 'no checkpoint'", err.text);
  }
  TrainOne(1);
  Save(1);
  TrainOne(2);
  const uint64_t t0 = board_ticks();
  info = Save(2);
  const uint64_t t1 = board_ticks();
  memset(&c, 0, sizeof(c));
  c.save_ticks = static_cast<uint32_t>(t1 - t0);
  c.commit_ticks = static_cast<uint32_t>(g_last_program_tick - t0);
  c.good = Expected{info.sequence, 2, ckpt_demo::WeightsCrc(g_session)};
  c.magic = kControlMagic;
  board_printf("[cut] %s: model id 0x%08lx, %lu payload bytes; uncut save %lu ticks, commit at "
               "tick %lu; %d cut points, mode %d\n",
               board_name(), static_cast<unsigned long>(info.model_id),
               static_cast<unsigned long>(info.payload_bytes),
               static_cast<unsigned long>(c.save_ticks), static_cast<unsigned long>(c.commit_ticks),
               CUT_POINTS, CUT_MODE);
}

// Every later boot: what did the interrupted save leave?
void CheckRestore(Control& c) {
  ErrorMessage err;
  CheckpointInfo info;
  const CheckpointStatus st = tflm_train::RestoreCheckpoint(&g_session, &g_recording, &info, &err);
  if (st != CheckpointStatus::kOk) Fail("restore failed although a good checkpoint existed:", err.text);
  const uint32_t crc = ckpt_demo::WeightsCrc(g_session);
  const bool is_new = info.sequence == c.pending.sequence && info.step == c.pending.step &&
                      crc == c.pending.crc;
  const bool is_old = info.sequence == c.good.sequence && info.step == c.good.step &&
                      crc == c.good.crc;
  if (!is_new && !is_old) Fail("restored neither the previous nor the new checkpoint", "");
  if (is_old && c.completed) Fail("the save had completed but the old checkpoint came back", "");
  board_printf("[cut] %2lu: reset at tick %5lu of %lu -> restored %s (sequence %lu, slot %ld)\n",
               static_cast<unsigned long>(c.cut), static_cast<unsigned long>(c.cut_tick),
               static_cast<unsigned long>(c.save_ticks), is_new ? "new" : "previous",
               static_cast<unsigned long>(info.sequence), static_cast<long>(info.slot));
  if (is_new) {
    c.good = c.pending;
    ++c.restored_new;
  } else {
    ++c.restored_old;
  }
  ++c.cut;
}

}  // namespace

int main() {
  BoardInitOptions options;
  options.mpu_flash_window = false;  // the checkpoint region lies outside the flash window
  board_init(options);
  g_flash = board_checkpoint_flash();
  if (g_flash == nullptr) Fail("no checkpoint flash on this board", board_name());
  g_recording = tt_flash{g_flash->context, g_flash->size,       g_flash->page_size,
                         g_flash->write_size, RecordingRead, RecordingProgram, RecordingErase};
  if (g_session.Open(model, model_len, g_arena, sizeof(g_arena), 1) != tflm_train::Status::kOk) {
    Fail("open:", g_session.error());
  }
  Control& c = control();
  if (c.magic != kControlMagic) {
    FirstBoot(c);
  } else {
    CheckRestore(c);
    if (c.cut == CUT_POINTS) {
      board_printf("[cut] PASS: %d resets during saves, previous checkpoint restored %lu times, "
                   "new one %lu times, never an error or garbage\n",
                   CUT_POINTS, static_cast<unsigned long>(c.restored_old),
                   static_cast<unsigned long>(c.restored_new));
      const bool both = c.restored_old > 0 && c.restored_new > 0;
      c.magic = 0;
      return both ? 0 : 2;  // 2: the cut points missed one of the two outcomes
    }
  }
  TrainOne(c.good.step + 1);
  c.pending = Expected{c.good.sequence + 1, c.good.step + 1, ckpt_demo::WeightsCrc(g_session)};
  c.completed = 0;
  c.cut_tick = CutTick(c);
  InstallCutHandler();
  ArmCut(c.cut_tick);
  Save(c.pending.step);
  DisarmCut();
  c.completed = 1;
  ResetNow();
}
