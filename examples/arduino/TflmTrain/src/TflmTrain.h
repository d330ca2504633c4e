// TflmTrain: on-device training for TensorFlow Lite Micro int8 models, for Arduino sketches.
//
// A thin C++ class over the tflm-train runtime's C API (tflm_train/runtime/c_api.h). The model
// is an *extended* .tflite written by `tflm-train convert`: it infers exactly like the int8
// model it came from and also carries the training program. Everything lives in memory the
// sketch owns (the model in flash, one arena in RAM, the session inside this object): no heap.
//
//   alignas(16) static uint8_t arena[64 * 1024];   // >= arenaRequired(), the model's plan
//   TflmTrain trainer;
//   trainer.begin(model, model_len, arena, sizeof(arena));
//   memcpy(trainer.input(), sample, trainer.inputBytes());   // int8, model input layout
//   trainer.trainStep(label, 0.02f);                          // train on that sample
// or, so that the whole sample never sits in RAM, an input source that delivers rows on demand
// (a camera's lines, a sensor's frames; c_api.h tt_input_request):
//   trainer.setInputSource(readRows, &camera);                // before predict / trainStep
//   int cls = trainer.predict();                              // argmax of the model output
//   trainer.save();                                           // checkpoint to flash
#ifndef TFLM_TRAIN_ARDUINO_TFLMTRAIN_H_
#define TFLM_TRAIN_ARDUINO_TFLMTRAIN_H_

#include <stddef.h>
#include <stdint.h>

#include "tflm_train/runtime/c_api.h"

struct tt_flash;

// The board's checkpoint flash (tflm_train/runtime/flash.h), used by save() / restore() when
// they get no device. The library's own definition is weak and returns nullptr (no flash
// known); the sketch (or a board layer linked as objects, not from an archive: a linker does
// not pull an archive member to replace a weak definition) defines it to hand over its region.
const tt_flash* TflmTrainCheckpointFlash();

class TflmTrain {
 public:
  // Bytes reserved for the runtime's session object (checked against tt_session_size() in
  // begin(), so a runtime that outgrows it fails with a message instead of corrupting RAM).
  static constexpr size_t kSessionBytes = TT_SESSION_BYTES;

  enum Rounding { kRoundNearest = TT_ROUND_NEAREST, kRoundStochastic = TT_ROUND_STOCHASTIC };

  // Verifies the model and plans the arena. model and arena must be 16-byte aligned; the model
  // must stay valid (flash) for the object's lifetime. seed drives stochastic rounding.
  // Returns false on any problem; errorMessage() says what it was.
  bool begin(const uint8_t* model, size_t model_len, uint8_t* arena, size_t arena_len,
             uint32_t seed = 1);
  bool ready() const { return session_ != nullptr; }
  const char* errorMessage() const;  // why the last failing call failed
  // Arena bytes the model's plan needs (known after begin(), also after a too-small arena).
  size_t arenaRequired() const;

  // The model's int8 input buffer; fill it before predict() / trainStep(). Null for a model
  // converted with an input source (inputStreamed()): it stores no input, use setInputSource.
  int8_t* input();
  size_t inputBytes() const { return input_bytes_; }
  // Rows of the input come from `source` (tt_set_input_source) at every predict() /
  // trainStep(): on demand, a few at a time, for a model converted with an input source; all
  // at once into input() otherwise. Null removes it.
  bool setInputSource(tt_input_source source, void* user);
  bool inputStreamed() const { return session_ != nullptr && tt_input_streamed(session_, 0, 0); }
  // int8 output of the last predict() (also of the forward pass of the last trainStep()).
  const int8_t* output() const;
  size_t numClasses() const { return output_bytes_; }

  // Runs inference on input(); returns the index of the largest output (first one on ties),
  // or -1 on error.
  int predict();
  // Mini-batch size for models converted with optimizer state (tflm-train convert --momentum
  // / --mini-batch): trainStep() sums the gradients of `n` samples and the weights change on
  // every n-th call. Models without optimizer state need 1 (the default): they update at once.
  void setBatchSize(int n) { batch_size_ = n > 0 ? n : 1; }
  int batchSize() const { return batch_size_; }

  // One training sample on input() with class `label`; loss (may be null) receives the
  // cross-entropy of the forward pass before any update.
  bool trainStep(int label, float learning_rate, float* loss = nullptr,
                 Rounding rounding = kRoundStochastic);
  uint32_t steps() const { return steps_; }  // samples trained on (restore() sets it)

  // FNV-1a hash of every trained tensor's bytes (layer order, weights then bias): lets a host
  // that replays the same steps check that the board holds exactly the same weights.
  uint32_t weightsChecksum() const;

  // Checkpoints (tflm_train/runtime/checkpoint.h): save() writes the trained weights, their
  // optimizer state (momentum, a half-summed mini-batch) and steps() to the older of two flash
  // slots, so a power cut never loses the last good one; restore() loads the newest valid
  // checkpoint of this model and sets steps() from it, so training continues where it was
  // saved (nothing changes if it fails). flash == nullptr: TflmTrainCheckpointFlash().
  bool save(const tt_flash* flash = nullptr);
  bool restore(const tt_flash* flash = nullptr);
  // Slot, sequence and step of the last save/restore (also its message on failure).
  const tt_checkpoint_report& lastCheckpoint() const { return report_; }

  // The underlying C API session, for calls this class does not wrap.
  tt_session* session() { return session_; }

 private:
  bool fail(const char* message);       // begin() failed: the session is unusable
  bool fail_keep(const char* message);  // a call failed: the session stays usable

  alignas(8) uint8_t storage_[kSessionBytes];
  tt_session* opened_ = nullptr;   // set by tt_open even when it fails (keeps the message)
  tt_session* session_ = nullptr;  // only once the session is usable
  const char* error_ = nullptr;
  size_t input_bytes_ = 0;
  size_t output_bytes_ = 0;
  uint32_t steps_ = 0;
  int batch_size_ = 1;
  tt_checkpoint_report report_ = {};
};

#endif  // TFLM_TRAIN_ARDUINO_TFLMTRAIN_H_
