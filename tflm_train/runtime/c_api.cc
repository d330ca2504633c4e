#include "tflm_train/runtime/c_api.h"

#include <new>

#include "tflm_train/runtime/ops.h"
#include "tflm_train/runtime/session.h"

using tflm_train::Session;

struct tt_session {
  Session session;
};

namespace {
Session* S(tt_session* s) { return &s->session; }
const Session* S(const tt_session* s) { return &s->session; }
}  // namespace

extern "C" {

size_t tt_session_size(void) { return sizeof(tt_session); }

int32_t tt_open(void* storage, size_t storage_size, const uint8_t* model, size_t model_size,
                uint8_t* arena, size_t arena_size, uint32_t seed, tt_session** out) {
  if (storage == nullptr || storage_size < sizeof(tt_session) ||
      (reinterpret_cast<uintptr_t>(storage) % alignof(tt_session)) != 0 || out == nullptr) {
    return static_cast<int32_t>(tflm_train::Status::kInvalidArgument);
  }
  tt_session* s = new (storage) tt_session();
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
  *weight = l.weight_tensor;
  *bias = l.bias_tensor;
  return 0;
}

int32_t tt_invoke_op(tt_session* s, int32_t op) {
  if (!s || !S(s)->is_open() || op < 0 ||
      static_cast<uint32_t>(op) >= S(s)->subgraph().num_operators()) {
    return static_cast<int32_t>(tflm_train::Status::kInvalidArgument);
  }
  // The same dispatch as a forward instruction of the program (Session::Run).
  Session* session = S(s);
  const tflm_train::OpContext ctx{session, op, session->subgraph().op(static_cast<uint32_t>(op)),
                                  session->op_state(op), session->op_channel_data(op)};
  ctx.state->registration->eval(ctx);
  return 0;
}

int32_t tt_num_ops(const tt_session* s) {
  return s && S(s)->is_open() ? static_cast<int32_t>(S(s)->subgraph().num_operators()) : 0;
}

}  // extern "C"
