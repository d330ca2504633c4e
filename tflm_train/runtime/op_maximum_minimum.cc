// MAXIMUM and MINIMUM int8 -> int8: the stored values compared as they are (TFLM rescales
// nothing); equal shapes or NumPy-style broadcast up to 5-D (TFLM's MaximumMinimumBroadcastSlow).
#include "kernels/maximum_minimum.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

constexpr int32_t kMaxRank = 5;

// Eval recomputes the broadcast from the shapes: no state.
Status PrepareMaximum(OpContext& ctx, ErrorMessage* err) {
  int32_t broadcast = 0;
  return PrepareBinary(ctx, "MAXIMUM", kMaxRank, &broadcast, err);
}

Status PrepareMinimum(OpContext& ctx, ErrorMessage* err) {
  int32_t broadcast = 0;
  return PrepareBinary(ctx, "MINIMUM", kMaxRank, &broadcast, err);
}

void EvalMaximum(const OpContext& ctx) {
  MaximumInt8(BinaryBroadcast(ctx), reinterpret_cast<const int8_t*>(ctx.input_data(0)),
              reinterpret_cast<const int8_t*>(ctx.input_data(1)),
              reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

void EvalMinimum(const OpContext& ctx) {
  MinimumInt8(BinaryBroadcast(ctx), reinterpret_cast<const int8_t*>(ctx.input_data(0)),
              reinterpret_cast<const int8_t*>(ctx.input_data(1)),
              reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

}  // namespace

extern const OpRegistration kMaximumRegistration = {
    tflite::kMaximum, "MAXIMUM", PrepareMaximum, EvalMaximum, nullptr, nullptr, nullptr, nullptr};
extern const OpRegistration kMinimumRegistration = {
    tflite::kMinimum, "MINIMUM", PrepareMinimum, EvalMinimum, nullptr, nullptr, nullptr, nullptr};

}  // namespace tflm_train
