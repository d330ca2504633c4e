#include "TflmTrain.h"

bool TflmTrain::fail(const char* message) {
  session_ = nullptr;
  error_ = message;
  return false;
}

bool TflmTrain::begin(const uint8_t* model, size_t model_len, uint8_t* arena, size_t arena_len,
                      uint32_t seed) {
  opened_ = nullptr;
  session_ = nullptr;
  error_ = nullptr;
  steps_ = 0;
  if (tt_session_size() > sizeof(storage_)) {
    return fail("TflmTrain::kSessionBytes is smaller than this runtime's session");
  }
  tt_session* s = nullptr;
  const int32_t rc = tt_open(storage_, sizeof(storage_), model, model_len, arena, arena_len,
                             seed, &s);
  opened_ = s;
  if (rc != 0) {
    return fail(s ? tt_error(s) : "tt_open rejected its arguments (alignment?)");
  }
  size_t out_bytes = 0;
  if (tt_input(s, &input_bytes_) == nullptr || tt_output(s, &out_bytes) == nullptr) {
    return fail("model has no int8 input or output");
  }
  output_bytes_ = out_bytes;
  session_ = s;
  return true;
}

const char* TflmTrain::errorMessage() const {
  if (error_ != nullptr) return error_;
  return opened_ ? tt_error(opened_) : "begin() was not called";
}

size_t TflmTrain::arenaRequired() const { return opened_ ? tt_arena_required(opened_) : 0; }

int8_t* TflmTrain::input() {
  size_t n = 0;
  return session_ ? tt_input(session_, &n) : nullptr;
}

const int8_t* TflmTrain::output() const {
  size_t n = 0;
  return session_ ? tt_output(session_, &n) : nullptr;
}

int TflmTrain::predict() {
  if (!session_) return -1;
  if (tt_invoke(session_) != 0) return -1;
  const int8_t* out = output();
  int best = 0;
  for (size_t i = 1; i < output_bytes_; ++i) {
    if (out[i] > out[best]) best = static_cast<int>(i);
  }
  return best;
}

bool TflmTrain::trainStep(int label, float learning_rate, float* loss, Rounding rounding) {
  if (!session_) return false;
  float l = 0.0f;
  if (tt_train_step(session_, label, learning_rate, rounding, &l) != 0) return false;
  ++steps_;
  if (loss) *loss = l;
  return true;
}

uint32_t TflmTrain::weightsChecksum() const {
  uint32_t h = 2166136261u;
  if (!session_) return h;
  for (int32_t l = 0; l < tt_num_layers(session_); ++l) {
    int32_t ids[2] = {-1, -1};
    tt_layer_tensors(session_, l, &ids[0], &ids[1]);
    for (int32_t t : ids) {
      if (t < 0) continue;
      size_t n = 0;
      const uint8_t* data = tt_tensor_data(session_, t, &n);
      for (size_t i = 0; data && i < n; ++i) h = (h ^ data[i]) * 16777619u;
    }
  }
  return h;
}
