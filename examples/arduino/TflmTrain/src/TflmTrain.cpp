#include "TflmTrain.h"

namespace {
const char kNoFlash[] = "no checkpoint flash on this board (define TflmTrainCheckpointFlash)";
}  // namespace

// Weak: the library cannot know where a board keeps its flash; see TflmTrain.h.
__attribute__((weak)) const tt_flash* TflmTrainCheckpointFlash() { return nullptr; }

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
  report_ = tt_checkpoint_report{};
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
  int32_t rows = 0;
  size_t row_bytes = 0;
  const bool streamed = tt_input_streamed(s, &rows, &row_bytes) != 0;
  input_bytes_ = static_cast<size_t>(rows) * row_bytes;
  if ((!streamed && tt_input(s, &row_bytes) == nullptr) || tt_output(s, &out_bytes) == nullptr) {
    return fail("model has no int8 input or output");
  }
  output_bytes_ = out_bytes;
  session_ = s;
  return true;
}

bool TflmTrain::fail_keep(const char* message) {
  error_ = message;
  return false;
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

bool TflmTrain::setInputSource(tt_input_source source, void* user) {
  if (!session_) return fail_keep("begin() did not succeed");
  tt_set_input_source(session_, source, user);
  return true;
}

const int8_t* TflmTrain::output() const {
  size_t n = 0;
  return session_ ? tt_output(session_, &n) : nullptr;
}

int TflmTrain::predict() {
  if (!session_) {
    fail_keep("begin() did not succeed");
    return -1;
  }
  if (tt_invoke(session_) != 0) {
    fail_keep(tt_error(session_));
    return -1;
  }
  const int8_t* out = output();
  int best = 0;
  for (size_t i = 1; i < output_bytes_; ++i) {
    if (out[i] > out[best]) best = static_cast<int>(i);
  }
  return best;
}

bool TflmTrain::trainStep(int label, float learning_rate, float* loss, Rounding rounding) {
  if (!session_) return fail_keep("begin() did not succeed");
  tt_train_options o = {};
  o.learning_rate = learning_rate;
  o.rounding = rounding;
  o.batch_size = batch_size_;
  o.sample_in_batch = static_cast<int32_t>(steps_ % static_cast<uint32_t>(batch_size_));
  o.target = nullptr;
  float l = 0.0f;
  if (tt_train(session_, label, &o, &l) != 0) return fail_keep(tt_error(session_));
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

bool TflmTrain::save(const tt_flash* flash) {
  if (!session_) return fail_keep("begin() did not succeed");
  if (!flash) flash = TflmTrainCheckpointFlash();
  if (!flash) return fail_keep(kNoFlash);
  if (tt_checkpoint_save(session_, flash, steps_, &report_) != 0) return fail_keep(report_.message);
  return true;
}

bool TflmTrain::restore(const tt_flash* flash) {
  if (!session_) return fail_keep("begin() did not succeed");
  if (!flash) flash = TflmTrainCheckpointFlash();
  if (!flash) return fail_keep(kNoFlash);
  if (tt_checkpoint_restore(session_, flash, &report_) != 0) return fail_keep(report_.message);
  steps_ = report_.step;
  return true;
}
