// A training session: one model, one caller-provided arena, no heap. Open() verifies the model
// and its training program, then prepares every op (TFLM's Prepare); Invoke() runs inference
// (subgraph 0); TrainStep() runs forward, the pruned backward and the in-place updates.
#ifndef TFLM_TRAIN_RUNTIME_SESSION_H_
#define TFLM_TRAIN_RUNTIME_SESSION_H_

#include <cstddef>
#include <cstdint>

#include "kernels/training/sgd_update.h"
#include "tflm_train/runtime/op_state.h"
#include "tflm_train/runtime/program.h"
#include "tflm_train/runtime/status.h"
#include "tflm_train/runtime/tflite_model.h"

namespace tflm_train {

struct OpContext;

// One training sample. With optimizer state (momentum or mini-batches, chosen at convert time)
// samples 0..batch_size-1 of a mini-batch are summed and one update is applied after the last;
// without it batch_size must be 1 and every sample updates at once.
struct TrainOptions {
  float learning_rate;
  RoundingMode rounding;
  int32_t batch_size = 1;
  int32_t sample_in_batch = 0;
  const float* target = nullptr;  // num_classes real targets, for an MSE-loss program
};

class Session {
 public:
  // model must stay alive and unchanged, and be 16-byte aligned; the arena must hold at least
  // the planned arena_bytes (arena_required() after a failed Open tells how many).
  Status Open(const uint8_t* model, size_t model_size, uint8_t* arena, size_t arena_size,
              uint32_t seed);
  Status Invoke();
  // label: class for cross-entropy programs (ignored for MSE, which reads options.target).
  Status TrainStep(int32_t label, const TrainOptions& options, float* loss);
  bool mse_loss() const { return mse_loss_; }

  int8_t* input(size_t* bytes);
  const int8_t* output(size_t* bytes) const;
  // Data of a subgraph-0 tensor (arena copy for trained tensors, flash otherwise). For a
  // partially trained weight tensor: only its SRAM part (trained_bytes, head_channels).
  const uint8_t* tensor_data(int32_t tensor, size_t* bytes) const;
  // Bytes of a tensor's SRAM copy: a weight tensor whose first k of C output channels train
  // keeps only those channels in SRAM (the rest is read from flash); others are whole.
  int64_t trained_bytes(int32_t tensor) const;
  // Output-channel rows of conv/FC op `op`'s filter (input 1) wherever each row lives.
  FilterRows filter_rows(int32_t op) const;
  // Depthwise op `op`'s filter (input 1) wherever each channel lives.
  DepthwiseFilter depthwise_filter(int32_t op) const;
  size_t arena_required() const { return arena_required_; }
  const Program& program() const { return program_; }
  const char* error() const { return error_.text; }
  bool is_open() const { return open_; }
  // State of the stochastic-rounding generator (xorshift32, never 0), saved in checkpoints.
  uint32_t rounding_state() const { return rng_state_; }
  void set_rounding_state(uint32_t state) { rng_state_ = state != 0 ? state : rng_state_; }
  // Called before each program instruction runs (index, opcode, first argument) and once after
  // the last with index -1: lets a board time every instruction (bench/mcu --profile) without
  // a profiler. One pointer test per instruction when unset.
  using InstructionHook = void (*)(void* user, int32_t index, int32_t opcode, int32_t arg0);
  void set_instruction_hook(InstructionHook hook, void* user) {
    hook_ = hook;
    hook_user_ = user;
  }
  // Where the model input's rows come from (c_api.h tt_set_input_source): `read` fills rows
  // [first_row, first_row + num_rows) of row_bytes each into dest, or returns an error status
  // with the reason in err. A program converted with an input source (flag INPUT_SOURCE)
  // never stores its input: its first STREAM_CHAIN asks for the rows as it needs them. A
  // program that stores its input whole gets every row at the start of each run instead.
  struct InputSource {
    Status (*read)(void* context, int32_t first_row, int32_t num_rows, int8_t* dest,
                   int32_t row_bytes, ErrorMessage* err);
    void* context;
  };
  void set_input_source(const InputSource& source) { source_ = source; }
  const InputSource& input_source() const { return source_; }
  bool input_streamed() const { return (program_.header().flags & kFlagInputSource) != 0; }
  // Rows of the model input (dimension 1 of a tensor of rank >= 3, else 1) and bytes per row.
  void input_rows(int32_t* rows, int32_t* row_bytes) const;

  // --- used by op registrations ---
  const SubgraphView& subgraph() const { return subgraph_; }
  // Name and shape signature left empty (SubgraphView::tensor_runtime_fields).
  TensorInfo tensor(int32_t t) const {
    return subgraph_.tensor_runtime_fields(static_cast<uint32_t>(t));
  }
  int32_t builtin_code(int32_t op) const;  // op of subgraph 0 (a valid index)
  uint8_t* data(int32_t t) const;  // model or extra tensor id
  int64_t model_tensor_bytes(int32_t t) const;
  // Leading output channels of weight tensor t held in SRAM, or -1 when t is not a trained
  // weight tensor split that way. Conv/FC: the k trained rows [k, ...]. Depthwise: the k trained
  // channels rounded up to a multiple of 4 (at most all C), laid out [1, kh, kw, that count]:
  // the kernels take four adjacent channels from one place (types.h DepthwiseFilter).
  int32_t head_channels(int32_t t) const;
  // The layer that trains some but not all output channels of weight tensor t, or -1.
  int32_t partial_weight_layer(int32_t t) const;
  // head_channels of the weight tensor that `layer` (a partial_weight_layer, or -1) trains.
  int32_t head_channels_of_layer(int32_t layer) const;
  // Input k of `op` is a RESHAPE's shape input computed by ops folded at convert time: it has
  // no storage, and RESHAPE (like TFLM's) takes its shape from its output tensor instead.
  bool FoldedShapeInput(const OperatorView& op, uint32_t k) const;
  OpState* op_state(int32_t op) const {
    return reinterpret_cast<OpState*>(arena_ + program_.op_state_offset(op));
  }
  // Op `op`'s per-channel requantisation words in the program (flash), or null; the op's
  // Prepare checks their count and values before any kernel reads them.
  const int32_t* op_channel_data(int32_t op) const;

 private:
  Status CheckTensors();
  Status CheckOpStates(int32_t* states_end);
  Status CheckPersistentLayout();
  Status PrepareOps();
  Status CheckInstructions();
  Status CopyTrainedTensors();
  Status Run(int32_t first, int32_t count, int32_t label, const TrainOptions* options,
             float* loss);
  Status FillInputFromSource();
  // Range k of the trained area: layer k / 4's weight tensor, bias tensor, weight state or bias
  // state; false if that range does not exist. `id` names the storage (a tensor shared by two
  // layers is one range; states are never shared).
  struct TrainedRangeOut {
    int32_t offset;
    int64_t bytes;
    int32_t id;
  };
  bool trained_range(int32_t k, TrainedRangeOut* out) const;

  ModelView model_;
  SubgraphView subgraph_;
  Program program_;
  uint8_t* arena_ = nullptr;
  size_t arena_size_ = 0;
  size_t arena_required_ = 0;
  int32_t trained_start_ = 0;  // lowest persistent offset holding a trained tensor
  uint32_t rng_state_ = 1;
  InstructionHook hook_ = nullptr;
  void* hook_user_ = nullptr;
  InputSource source_ = {nullptr, nullptr};
  bool open_ = false;
  bool mse_loss_ = false;
  ErrorMessage error_;
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_SESSION_H_
