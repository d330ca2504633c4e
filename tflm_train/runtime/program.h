// Verified view of the training program the converter stores in the extended .tflite
// (metadata entry "tflm_train"; the format is defined in converter/program_format.py, its names
// generated into program_format.h). Load() checks every count, offset and index against the
// blob and the model before anything uses them.
#ifndef TFLM_TRAIN_RUNTIME_PROGRAM_H_
#define TFLM_TRAIN_RUNTIME_PROGRAM_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tflm_train/runtime/program_format.h"
#include "tflm_train/runtime/status.h"

namespace tflm_train {

struct ExtraTensorInfo {
  DType dtype;
  int32_t elements;
  int32_t offset;
};

// The weight tensor a layer keeps in SRAM, or -1: a layer that trains only its bias reads its
// weights from flash.
inline int32_t TrainedWeight(const LayerInfo& l) {
  return l.weight_channels > 0 ? l.weight_tensor : -1;
}

struct Instruction {
  Opcode opcode;
  int32_t num_args;
  int32_t args[kMaxInstructionArgs];
};

class Program {
 public:
  // Structural verification of the blob: sizes, section bounds, counts, arena ranges.
  // n_model_tensors / n_ops must equal subgraph 0's; semantic checks that need tensor shapes are
  // done by the session when it prepares each instruction.
  Status Load(const uint8_t* blob, size_t size, int32_t n_model_tensors, int32_t n_ops,
              ErrorMessage* err);

  const ProgramHeader& header() const { return header_; }
  bool has_optimizer_state() const { return (header_.flags & kFlagOptimizerState) != 0; }
  float momentum() const {
    float m;
    memcpy(&m, &header_.momentum_bits, 4);
    return m;
  }
  int32_t model_offset(int32_t tensor) const { return Word(header_.off_model + tensor); }
  ExtraTensorInfo extra(int32_t i) const;
  int32_t op_state_offset(int32_t op) const {
    return Word(header_.off_ops + kOpRecordWords * op + kOpRecordStateOffset);
  }
  // An op folded at convert time: no prepared state, no instruction may name it.
  bool folded(int32_t op) const { return op_state_offset(op) < 0; }
  // Word offset of op `op`'s per-channel data in the channel-data section, or -1.
  int32_t op_channel_offset(int32_t op) const {
    return Word(header_.off_ops + kOpRecordWords * op + kOpRecordChannelData);
  }
  // The op's `words` per-channel words in place (the blob is 4-byte aligned), or null when the
  // op has none or they do not fit the section.
  const int32_t* ChannelData(int32_t op, int32_t words) const;
  LayerInfo layer(int32_t i) const;
  float Float(int32_t i) const;
  // Start word of the factor arrays, for kernels that want a float pointer (blob is aligned).
  const float* FloatPointer(int32_t i) const {
    return reinterpret_cast<const float*>(blob_ + 4 * (header_.off_floats + i));
  }
  // Instructions are decoded sequentially; cursor starts at 0 and is advanced by Next().
  bool Next(int32_t* cursor, Instruction* out) const;

 private:
  int32_t Word(int32_t i) const {
    int32_t v;
    memcpy(&v, blob_ + 4 * i, 4);
    return v;
  }
  const uint8_t* blob_ = nullptr;
  ProgramHeader header_ = {};
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_PROGRAM_H_
