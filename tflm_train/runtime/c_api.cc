#include "tflm_train/runtime/c_api.h"

#include <cstring>
#include <new>

#include "tflm_train/runtime/checkpoint.h"
#include "tflm_train/runtime/flash_sim.h"

#include "tflm_train/runtime/ops.h"
#include "kernels/training/lr_schedule.h"
#include "tflm_train/runtime/session.h"

using tflm_train::Session;

struct tt_session {
  Session session;
  tt_input_source source;
  void* source_user;
};

namespace {
Session* S(tt_session* s) { return &s->session; }
const Session* S(const tt_session* s) { return &s->session; }

static_assert(TT_INPUT_SOURCE_ERROR == static_cast<int32_t>(tflm_train::Status::kInputSource),
              "c_api.h and status.h disagree on the input-source status");

// The session's view of the caller's source: one request, then the checks that name what went
// wrong (the runtime never reads rows it did not get).
tflm_train::Status ReadRows(void* context, int32_t first_row, int32_t num_rows, int8_t* dest,
                            int32_t row_bytes, tflm_train::ErrorMessage* err) {
  const tt_session* s = static_cast<const tt_session*>(context);
  const size_t wanted = static_cast<size_t>(num_rows) * static_cast<size_t>(row_bytes);
  tt_input_request request{first_row, num_rows, static_cast<size_t>(row_bytes), dest,
                           first_row, wanted};
  const int32_t code = s->source(s->source_user, &request);
  const long last = static_cast<long>(first_row + num_rows - 1);
  TT_ENSURE(err, code == 0, tflm_train::Status::kInputSource,
            "the input source failed with code %ld for input rows %ld..%ld",
            static_cast<long>(code), static_cast<long>(first_row), last);
  TT_ENSURE(err, request.delivered_row == first_row, tflm_train::Status::kInputSource,
            "the input source delivered row %ld when row %ld was requested (rows are asked "
            "for in increasing order, each once)", static_cast<long>(request.delivered_row),
            static_cast<long>(first_row));
  TT_ENSURE(err, request.delivered_bytes == wanted, tflm_train::Status::kInputSource,
            "the input source delivered %lu of the %lu bytes of input rows %ld..%ld (a short "
            "read)", static_cast<unsigned long>(request.delivered_bytes),
            static_cast<unsigned long>(wanted), static_cast<long>(first_row), last);
  return tflm_train::Status::kOk;
}
}  // namespace

extern "C" {

static_assert(sizeof(tt_session) <= TT_SESSION_BYTES, "raise TT_SESSION_BYTES in c_api.h");

size_t tt_session_size(void) { return sizeof(tt_session); }

int32_t tt_open(void* storage, size_t storage_size, const uint8_t* model, size_t model_size,
                uint8_t* arena, size_t arena_size, uint32_t seed, tt_session** out) {
  if (storage == nullptr || storage_size < sizeof(tt_session) ||
      (reinterpret_cast<uintptr_t>(storage) % alignof(tt_session)) != 0 || out == nullptr) {
    return static_cast<int32_t>(tflm_train::Status::kInvalidArgument);
  }
  tt_session* s = new (storage) tt_session();
  s->source = nullptr;
  s->source_user = nullptr;
  *out = s;
  return static_cast<int32_t>(S(s)->Open(model, model_size, arena, arena_size, seed));
}

const char* tt_error(const tt_session* s) { return s ? S(s)->error() : "null session"; }

size_t tt_arena_required(const tt_session* s) { return s ? S(s)->arena_required() : 0; }

int8_t* tt_input(tt_session* s, size_t* bytes) {
  return s && S(s)->is_open() ? S(s)->input(bytes) : nullptr;
}

const int8_t* tt_output(const tt_session* s, size_t* bytes) {
  return s && S(s)->is_open() ? S(s)->output(bytes) : nullptr;
}

int32_t tt_invoke(tt_session* s) {
  if (!s) return static_cast<int32_t>(tflm_train::Status::kInvalidArgument);
  return static_cast<int32_t>(S(s)->Invoke());
}

int32_t tt_train_step(tt_session* s, int32_t label, float learning_rate, int32_t rounding,
                      float* loss) {
  if (!s || (rounding != TT_ROUND_NEAREST && rounding != TT_ROUND_STOCHASTIC)) {
    return static_cast<int32_t>(tflm_train::Status::kInvalidArgument);
  }
  const tflm_train::TrainOptions options{learning_rate,
                                         static_cast<tflm_train::RoundingMode>(rounding)};
  return static_cast<int32_t>(S(s)->TrainStep(label, options, loss));
}

int32_t tt_train(tt_session* s, int32_t label, const tt_train_options* options, float* loss) {
  if (!s || !options ||
      (options->rounding != TT_ROUND_NEAREST && options->rounding != TT_ROUND_STOCHASTIC)) {
    return static_cast<int32_t>(tflm_train::Status::kInvalidArgument);
  }
  tflm_train::TrainOptions o{options->learning_rate,
                             static_cast<tflm_train::RoundingMode>(options->rounding)};
  o.batch_size = options->batch_size;
  o.sample_in_batch = options->sample_in_batch;
  o.target = options->target;
  return static_cast<int32_t>(S(s)->TrainStep(label, o, loss));
}

float tt_learning_rate(const tt_lr_schedule* schedule, int32_t step) {
  if (!schedule) return 0.0f;
  const tflm_train::LrSchedule lr{schedule->base, schedule->warmup_steps, schedule->total_steps,
                                  schedule->final_fraction};
  return tflm_train::ScheduledLearningRate(lr, step);
}

const uint8_t* tt_tensor_data(const tt_session* s, int32_t tensor, size_t* bytes) {
  return s ? S(s)->tensor_data(tensor, bytes) : nullptr;
}

int32_t tt_num_layers(const tt_session* s) {
  return s && S(s)->is_open() ? S(s)->program().header().n_layers : 0;
}

int32_t tt_layer_tensors(const tt_session* s, int32_t i, int32_t* weight, int32_t* bias) {
  if (!s || !S(s)->is_open() || i < 0 || i >= S(s)->program().header().n_layers) {
    return static_cast<int32_t>(tflm_train::Status::kInvalidArgument);
  }
  const tflm_train::LayerInfo l = S(s)->program().layer(i);
  *weight = tflm_train::TrainedWeight(l);
  *bias = l.bias_tensor;
  return 0;
}

int32_t tt_invoke_op(tt_session* s, int32_t op) {
  if (!s || !S(s)->is_open() || op < 0 ||
      static_cast<uint32_t>(op) >= S(s)->subgraph().num_operators()) {
    return static_cast<int32_t>(tflm_train::Status::kInvalidArgument);
  }
  if (S(s)->program().folded(op)) {  // computed at convert time: never prepared
    return static_cast<int32_t>(tflm_train::Status::kUnsupported);
  }
  // The same dispatch as a forward instruction of the program (Session::Run).
  Session* session = S(s);
  const tflm_train::OpContext ctx{session, op, session->subgraph().op(static_cast<uint32_t>(op)),
                                  session->op_state(op), session->op_channel_data(op)};
  // Only ops whose tensors exist whole: an op inside a streamed chain reads and writes row
  // windows that the chain instruction alone provides (its output has no arena slot).
  for (uint32_t k = 0; k < ctx.op.outputs().size(); ++k) {
    if (session->program().model_offset(ctx.output_id(k)) < 0) {
      return static_cast<int32_t>(tflm_train::Status::kUnsupported);
    }
  }
  for (uint32_t k = 0; k < ctx.op.inputs().size(); ++k) {
    size_t bytes = 0;
    if (ctx.input_id(k) >= 0 && session->tensor_data(ctx.input_id(k), &bytes) == nullptr) {
      return static_cast<int32_t>(tflm_train::Status::kUnsupported);
    }
  }
  ctx.state->registration->eval(ctx);
  return 0;
}

int32_t tt_num_ops(const tt_session* s) {
  return s && S(s)->is_open() ? static_cast<int32_t>(S(s)->subgraph().num_operators()) : 0;
}

void tt_set_instruction_hook(tt_session* s, tt_instruction_hook hook, void* user) {
  if (s != nullptr) S(s)->set_instruction_hook(hook, user);
}

int32_t tt_set_input_source(tt_session* s, tt_input_source source, void* user) {
  if (s == nullptr) return static_cast<int32_t>(tflm_train::Status::kInvalidArgument);
  s->source = source;
  s->source_user = user;
  S(s)->set_input_source(source != nullptr ? Session::InputSource{ReadRows, s}
                                           : Session::InputSource{nullptr, nullptr});
  return 0;
}

int32_t tt_input_streamed(const tt_session* s, int32_t* rows, size_t* row_bytes) {
  if (s == nullptr || !S(s)->is_open()) return 0;
  int32_t r = 0, bytes = 0;
  S(s)->input_rows(&r, &bytes);
  if (rows != nullptr) *rows = r;
  if (row_bytes != nullptr) *row_bytes = static_cast<size_t>(bytes);
  return S(s)->input_streamed() ? 1 : 0;
}

// ---- Checkpoints (checkpoint.h) and the simulated flash (flash_sim.h) ----

struct tt_sim_flash {
  tflm_train::SimFlash flash;
};

namespace {
int32_t Report(tflm_train::CheckpointStatus status, const tflm_train::CheckpointInfo& info,
               const tflm_train::ErrorMessage& err, tt_checkpoint_report* report) {
  if (report != nullptr) {
    report->slot = info.slot;
    report->sequence = info.sequence;
    report->step = info.step;
    report->payload_bytes = info.payload_bytes;
    report->model_id = info.model_id;
    // The whole buffer is copied from err (never from a shorter literal): on success err
    // holds the empty message it was constructed with.
    if (status == tflm_train::CheckpointStatus::kOk) {
      report->message[0] = '\0';
    } else {
      memcpy(report->message, err.text, sizeof(report->message));
      report->message[sizeof(report->message) - 1] = '\0';
    }
  }
  return static_cast<int32_t>(status);
}
static_assert(sizeof(tt_checkpoint_report{}.message) == tflm_train::ErrorMessage::kCapacity,
              "report message holds a whole error message");
}  // namespace

int32_t tt_checkpoint_save(const tt_session* s, const struct tt_flash* flash, uint32_t step,
                           tt_checkpoint_report* report) {
  tflm_train::ErrorMessage err;
  tflm_train::CheckpointInfo info;
  if (s == nullptr) {
    err.Set(tflm_train::Status::kInvalidArgument, "checkpoint: null session");
    return Report(tflm_train::CheckpointStatus::kInvalidArgument, info, err, report);
  }
  const auto st = tflm_train::SaveCheckpoint(*S(s), flash, step, &info, &err);
  return Report(st, info, err, report);
}

int32_t tt_checkpoint_restore(tt_session* s, const struct tt_flash* flash,
                              tt_checkpoint_report* report) {
  tflm_train::ErrorMessage err;
  tflm_train::CheckpointInfo info;
  const auto st = tflm_train::RestoreCheckpoint(s ? S(s) : nullptr, flash, &info, &err);
  return Report(st, info, err, report);
}

int32_t tt_checkpoint_erase(const struct tt_flash* flash, tt_checkpoint_report* report) {
  tflm_train::ErrorMessage err;
  const auto st = tflm_train::EraseCheckpoints(flash, &err);
  return Report(st, tflm_train::CheckpointInfo(), err, report);
}

uint32_t tt_checkpoint_model_id(const tt_session* s) {
  return s ? tflm_train::CheckpointModelId(*S(s)) : 0;
}

int32_t tt_checkpoint_slot_state(const struct tt_flash* flash, int32_t slot, uint32_t* sequence) {
  if (tflm_train::CheckFlashGeometry(flash, nullptr) != tflm_train::CheckpointStatus::kOk ||
      slot < 0 || slot >= tflm_train::kCheckpointSlots) {
    return -1;
  }
  tflm_train::CheckpointHeader h;
  const tflm_train::SlotState state = tflm_train::InspectSlot(*flash, slot, &h);
  if (sequence != nullptr) *sequence = h.sequence;
  return static_cast<int32_t>(state);
}

size_t tt_sim_flash_size(void) { return sizeof(tt_sim_flash); }

int32_t tt_sim_flash_init(void* storage, size_t storage_size, uint8_t* memory, uint32_t size,
                          uint32_t page_size, uint32_t write_size, tt_sim_flash** out) {
  if (storage == nullptr || storage_size < sizeof(tt_sim_flash) || out == nullptr ||
      (reinterpret_cast<uintptr_t>(storage) % alignof(tt_sim_flash)) != 0) {
    return static_cast<int32_t>(tflm_train::Status::kInvalidArgument);
  }
  tt_sim_flash* f = new (storage) tt_sim_flash();
  if (!tflm_train::SimFlashInit(&f->flash, memory, size, page_size, write_size)) {
    return static_cast<int32_t>(tflm_train::Status::kInvalidArgument);
  }
  *out = f;
  return 0;
}

const struct tt_flash* tt_sim_flash_device(tt_sim_flash* f) {
  return f ? &f->flash.device : nullptr;
}

void tt_sim_flash_cut_at(tt_sim_flash* f, int64_t operation, uint32_t seed) {
  if (f) tflm_train::SimFlashCutAt(&f->flash, operation, seed);
}

void tt_sim_flash_power_on(tt_sim_flash* f) {
  if (f) tflm_train::SimFlashPowerOn(&f->flash);
}

uint64_t tt_sim_flash_operations(const tt_sim_flash* f) { return f ? f->flash.operations : 0; }

int32_t tt_sim_flash_powered(const tt_sim_flash* f) { return f && f->flash.powered ? 1 : 0; }

}  // extern "C"
