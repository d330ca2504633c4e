// Status codes and a fixed-size error message buffer: no heap, no exceptions. Every failing check
// writes a sentence that names the problem (which tensor, which op, which offset) for the user.
#ifndef TFLM_TRAIN_RUNTIME_STATUS_H_
#define TFLM_TRAIN_RUNTIME_STATUS_H_

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>

namespace tflm_train {

enum class Status : int32_t {
  kOk = 0,
  kInvalidModel = 1,   // malformed, truncated or hostile flatbuffer
  kUnsupported = 2,    // valid model using an op/type/option we do not implement
  kOutOfMemory = 3,    // arena too small for the plan
  kInvalidArgument = 4,
  kInternal = 5,
  kInputSource = 6,    // the input source failed, delivered too few bytes or the wrong row
};

struct ErrorMessage {
  static constexpr size_t kCapacity = 256;
  char text[kCapacity] = {0};

  Status Set(Status status, const char* format, ...) __attribute__((format(printf, 3, 4))) {
    va_list args;
    va_start(args, format);
    vsnprintf(text, kCapacity, format, args);
    va_end(args);
    return status;
  }
};

}  // namespace tflm_train

// Return early with a message when a condition does not hold (TF_LITE_ENSURE style).
#define TT_ENSURE(err, cond, status, ...)        \
  do {                                           \
    if (!(cond)) return (err)->Set(status, __VA_ARGS__); \
  } while (0)

#define TT_RETURN_IF_ERROR(expr)                      \
  do {                                                \
    ::tflm_train::Status tt_status_ = (expr);         \
    if (tt_status_ != ::tflm_train::Status::kOk) return tt_status_; \
  } while (0)

#endif  // TFLM_TRAIN_RUNTIME_STATUS_H_
