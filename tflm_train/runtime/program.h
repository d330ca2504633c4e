// Verified view of the training program the converter stores in the extended .tflite
// (metadata entry "tflm_train"; format described in converter/program.py). Load() checks every
// count, offset and index against the blob and the model before anything uses them.
#ifndef TFLM_TRAIN_RUNTIME_PROGRAM_H_
#define TFLM_TRAIN_RUNTIME_PROGRAM_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tflm_train/runtime/status.h"

namespace tflm_train {

constexpr char kProgramMetadataName[] = "tflm_train";
constexpr int32_t kProgramMagic = 0x4E525454;  // "TTRN"
constexpr int32_t kProgramVersion = 3;
constexpr int32_t kProgramHeaderWords = 26;
constexpr int32_t kLayerWords = 10;
// Bytes the converter reserves per op for OpState (op_state.h static_asserts it fits).
constexpr int32_t kOpStateBytes = 64;

// Must equal converter/program.py Opcode (tests/test_program_format.py checks it).
enum class Opcode : int32_t {
  kForward = 1,
  kLossSoftmaxCe = 2,
  kLossLogitsCe = 3,
  kActivationGrad = 4,
  kInputGrad = 5,
  kBiasUpdate = 6,
  kWeightUpdate = 7,
  kLossMse = 8,
  kGradAccumulate = 9,
  kGradCopy = 10,
  kInputGradAt = 11,
  kSaveMask = 12,
  kMaskGrad = 13,
  kMeanHeadBackward = 14,
  kDepthwiseGradInPlace = 15,
  kBottleneckBackward = 17,
  // Ops [first, first + count) row by row (stream_chain.h); 16 keeps clear of the backward
  // opcodes added above it.
  kStreamChain = 16,
};

enum class DType : int32_t { kFloat32 = 0, kInt8 = 1, kInt32 = 2 };

enum ProgramFlags : int32_t { kFlagQas = 1, kFlagLossFromSoftmax = 2, kFlagOptimizerState = 4 };

struct ProgramHeader {
  int32_t magic, version, total_words, n_model_tensors, n_extra, n_ops, n_layers,
      n_instructions, n_forward, n_floats, off_model, off_extra, off_ops, off_layers,
      off_instructions, off_floats, persistent_bytes, arena_bytes, input_tensor, output_tensor,
      num_classes, flags, instruction_words, momentum_bits;
  // Per-channel requantisation words (multipliers then shifts per op), read in place from flash.
  int32_t off_channel_data, channel_data_words;
};
static_assert(sizeof(ProgramHeader) == kProgramHeaderWords * 4, "header layout");

struct ExtraTensorInfo {
  DType dtype;
  int32_t elements;
  int32_t offset;
};

struct LayerInfo {
  int32_t op_index, weight_tensor, bias_tensor, out_channels, weight_channels, update_bias,
      weight_factors, bias_factors;
  // Persistent offsets of the layer's optimizer state (float velocity / mini-batch sums), or -1:
  // weight_channels x (weight elements per channel) floats, and out_channels floats.
  int32_t weight_state, bias_state;
};

// The weight tensor a layer keeps in SRAM, or -1: a layer that trains only its bias reads its
// weights from flash.
inline int32_t TrainedWeight(const LayerInfo& l) {
  return l.weight_channels > 0 ? l.weight_tensor : -1;
}

struct Instruction {
  Opcode opcode;
  int32_t num_args;
  int32_t args[16];
};
constexpr int32_t kMaxInstructionArgs = 16;

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
  int32_t op_state_offset(int32_t op) const { return Word(header_.off_ops + 2 * op); }
  // Word offset of op `op`'s per-channel data in the channel-data section, or -1.
  int32_t op_channel_offset(int32_t op) const { return Word(header_.off_ops + 2 * op + 1); }
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
