#include "tflm_train/runtime/session.h"

#include <cmath>
#include <cstring>

#include "tflm_train/runtime/instruction_table.h"
#include "tflm_train/runtime/ops.h"
#include "tflm_train/runtime/stream_chain.h"

namespace tflm_train {
namespace {

// Whether op `op` of the model keeps its weights' output channels on the last axis (depthwise)
// rather than the first (conv, FC).
bool ChannelsLast(const ModelView& model, const OperatorView& op) {
  return model.operator_code(op.opcode_index()).builtin_code == tflite::kDepthwiseConv2D;
}

int32_t TypeSize(int8_t type) {
  switch (type) {
    case tflite::kInt8:
    case tflite::kUInt8:
    case tflite::kBool:
      return 1;
    case tflite::kInt16:
      return 2;
    case tflite::kInt32:
    case tflite::kFloat32:
      return 4;
    case tflite::kInt64:
      return 8;
    default:
      return 0;
  }
}

}  // namespace

int64_t Session::model_tensor_bytes(int32_t t) const {
  const TensorInfo info = tensor(t);
  int64_t n = TypeSize(info.type);
  for (uint32_t i = 0; i < info.shape.size(); ++i) {
    const int32_t d = info.shape[i];
    if (d < 0 || d > (1 << 24)) return -1;
    n *= d;
    if (n > (int64_t{1} << 31)) return -1;
  }
  return TypeSize(info.type) == 0 ? -1 : n;
}

uint8_t* Session::data(int32_t t) const {
  const ProgramHeader& h = program_.header();
  if (t < 0) return nullptr;
  if (t < h.n_model_tensors) {
    const int32_t off = program_.model_offset(t);
    if (off >= 0) return arena_ + off;
    const TensorInfo info = tensor(t);
    const BufferInfo buf = model_.buffer(info.buffer);
    // Constant data stays in flash; kernels only read it (checked: never an op output).
    return const_cast<uint8_t*>(buf.data);
  }
  if (t - h.n_model_tensors < h.n_extra) return arena_ + program_.extra(t - h.n_model_tensors).offset;
  return nullptr;
}

const int32_t* Session::op_channel_data(int32_t op) const {
  return program_.ChannelData(op, 0);
}

Status Session::Open(const uint8_t* model, size_t model_size, uint8_t* arena, size_t arena_size,
                     uint32_t seed) {
  open_ = false;
  arena_required_ = 0;
  ErrorMessage* err = &error_;
  TT_ENSURE(err, model != nullptr && arena != nullptr, Status::kInvalidArgument,
            "model and arena must not be null");
  TT_ENSURE(err, (reinterpret_cast<uintptr_t>(model) & 15) == 0, Status::kInvalidArgument,
            "the model buffer must be 16-byte aligned (int32 biases and scales are read in place)");
  TT_ENSURE(err, (reinterpret_cast<uintptr_t>(arena) & 15) == 0, Status::kInvalidArgument,
            "the arena must be 16-byte aligned");
  TT_RETURN_IF_ERROR(LoadModel(model, model_size, &model_, err));
  TT_ENSURE(err, model_.num_subgraphs() >= 1, Status::kInvalidModel, "the model has no subgraphs");
  subgraph_ = model_.subgraph(0);
  const int32_t meta = model_.FindMetadata(kProgramMetadataName);
  TT_ENSURE(err, meta >= 0, Status::kInvalidArgument,
            "no training program in this model (metadata '%s' missing): convert it with "
            "`tflm-train convert` first", kProgramMetadataName);
  const BufferInfo blob = model_.buffer(static_cast<uint32_t>(meta));
  TT_RETURN_IF_ERROR(program_.Load(blob.data, blob.size,
                                   static_cast<int32_t>(subgraph_.num_tensors()),
                                   static_cast<int32_t>(subgraph_.num_operators()), err));
  const ProgramHeader& h = program_.header();
  arena_required_ = static_cast<size_t>(h.arena_bytes);
  TT_ENSURE(err, arena_size >= arena_required_, Status::kOutOfMemory,
            "arena of %lu bytes is smaller than the planned %lu bytes",
            static_cast<unsigned long>(arena_size), static_cast<unsigned long>(arena_required_));
  arena_ = arena;
  arena_size_ = arena_size;
  rng_state_ = seed == 0 ? 0x9E3779B9u : seed;  // xorshift state must be non-zero
  TT_RETURN_IF_ERROR(CheckTensors());
  TT_RETURN_IF_ERROR(CheckInputSourceFlag(*this, err));
  TT_RETURN_IF_ERROR(CheckPersistentLayout());
  TT_RETURN_IF_ERROR(CopyTrainedTensors());
  TT_RETURN_IF_ERROR(PrepareOps());
  TT_RETURN_IF_ERROR(CheckInstructions());
  open_ = true;
  return Status::kOk;
}

Status Session::CheckTensors() {
  ErrorMessage* err = &error_;
  const ProgramHeader& h = program_.header();
  for (int32_t t = 0; t < h.n_model_tensors; ++t) {
    const int32_t off = program_.model_offset(t);
    if (off < 0) continue;
    // What the plan stores: a partially trained weight keeps only its trained rows in SRAM.
    const int64_t bytes = trained_bytes(t);
    TT_ENSURE(err, bytes >= 0 && off + bytes <= h.arena_bytes && (off & 3) == 0,
              Status::kInvalidModel, "tensor %ld: planned arena range does not fit the arena",
              static_cast<long>(t));
  }
  // Every tensor an op touches must have storage of at least its declared size; outputs must be
  // in the arena (flash is read-only).
  for (uint32_t i = 0; i < subgraph_.num_operators(); ++i) {
    const OperatorView op = subgraph_.op(i);
    if (program_.folded(static_cast<int32_t>(i))) continue;  // never runs
    for (int pass = 0; pass < 2; ++pass) {
      const fb::ScalarArray<int32_t> ids = pass == 0 ? op.inputs() : op.outputs();
      for (uint32_t k = 0; k < ids.size(); ++k) {
        const int32_t t = ids[k];
        if (t < 0 && pass == 0) continue;
        TT_ENSURE(err, t >= 0 && t < h.n_model_tensors, Status::kInvalidModel,
                  "op %lu: tensor index %ld out of range", static_cast<unsigned long>(i),
                  static_cast<long>(t));
        const int64_t bytes = model_tensor_bytes(t);
        TT_ENSURE(err, bytes >= 0, Status::kUnsupported,
                  "op %lu: tensor %ld has an unsupported type or shape",
                  static_cast<unsigned long>(i), static_cast<long>(t));
        // A tensor inside a streamed chain exists only as row windows in the chain's scratch,
        // and a source-fed input only as the first chain's window of input rows.
        // The conv output of a MEAN_HEAD_FORWARD exists only as its channel-group buffer.
        if (program_.model_offset(t) >= 0 || IsStreamIntermediate(*this, t) ||
            IsSourceFedInput(*this, t) || IsGroupedHeadOutput(*this, t)) {
          continue;
        }
        if (pass == 0 && FoldedShapeInput(op, k)) continue;
        TT_ENSURE(err, pass == 0, Status::kInvalidModel,
                  "op %lu: output tensor %ld has no arena storage in the plan",
                  static_cast<unsigned long>(i), static_cast<long>(t));
        const BufferInfo buf = model_.buffer(tensor(t).buffer);
        TT_ENSURE(err, buf.data != nullptr && buf.size == bytes, Status::kInvalidModel,
                  "op %lu: input tensor %ld is neither planned in the arena nor constant data "
                  "of %ld bytes", static_cast<unsigned long>(i), static_cast<long>(t),
                  static_cast<long>(bytes));
        TT_ENSURE(err, buf.aligned(4), Status::kInvalidModel,
                  "tensor %ld: constant data is not 4-byte aligned", static_cast<long>(t));
      }
    }
  }
  return Status::kOk;
}

bool Session::trained_range(int32_t k, TrainedRangeOut* out) const {
  const LayerInfo l = program_.layer(k / 4);
  const int32_t kind = k % 4;
  if (kind < 2) {
    const int32_t t = kind == 0 ? TrainedWeight(l) : l.bias_tensor;
    if (t < 0) return false;
    *out = {program_.model_offset(t), trained_bytes(t), t};
    return true;
  }
  const int32_t off = kind == 2 ? l.weight_state : l.bias_state;
  if (off < 0) return false;
  const int64_t w = model_tensor_bytes(l.weight_tensor);
  const int64_t per_channel = w < 0 ? -1 : w / l.out_channels;
  *out = {off, kind == 2 ? 4 * per_channel * l.weight_channels : 4 * int64_t{l.out_channels},
          -1 - k};
  return true;
}

// The persistent region holds, in order: op states, then the trained area: trained tensors and
// optimizer state (disjoint); per-channel requantisation data stays in flash. Everything else
// lives in the activation region above it. Checking this keeps a hostile plan from making one op's prepared
// data, a weight or a velocity overwrite another.
// Op states lie back to back from offset 0 in op order, each as large as its kind needs
// (OpStateBytesOf), so no two overlap; *states_end is where the last one ends.
Status Session::CheckOpStates(int32_t* states_end) {
  ErrorMessage* err = &error_;
  const ProgramHeader& h = program_.header();
  int32_t end = 0;
  for (uint32_t i = 0; i < subgraph_.num_operators(); ++i) {
    const int32_t s = program_.op_state_offset(static_cast<int32_t>(i));
    if (s < 0) continue;  // folded
    const OperatorCodeInfo code = model_.operator_code(subgraph_.op(i).opcode_index());
    // an op this runtime lacks has no state size: say that, as PrepareOps would
    TT_ENSURE(err, FindRegistration(code.builtin_code) != nullptr, Status::kUnsupported,
              "op %lu: builtin operator %ld is not supported by this runtime",
              static_cast<unsigned long>(i), static_cast<long>(code.builtin_code));
    const int32_t bytes = OpStateBytesOf(code.builtin_code);
    TT_ENSURE(err, s >= end && int64_t{s} + bytes <= h.persistent_bytes, Status::kInvalidModel,
              "training program: op %lu's state at %ld overlaps another or leaves the "
              "persistent region (%ld bytes needed)",
              static_cast<unsigned long>(i), static_cast<long>(s), static_cast<long>(bytes));
    end = s + bytes;
  }
  *states_end = end;
  return Status::kOk;
}

Status Session::CheckPersistentLayout() {
  ErrorMessage* err = &error_;
  const ProgramHeader& h = program_.header();
  int32_t states_end = 0;
  TT_RETURN_IF_ERROR(CheckOpStates(&states_end));
  trained_start_ = h.persistent_bytes;
  const int32_t n_ranges = 4 * h.n_layers;
  for (int32_t k = 0; k < n_ranges; ++k) {
    TrainedRangeOut r;
    if (!trained_range(k, &r)) continue;
    TT_ENSURE(err, r.offset >= states_end && r.bytes >= 0 && (r.offset & 3) == 0 &&
                       r.offset + r.bytes <= h.persistent_bytes,
              Status::kInvalidModel,
              "training program: trained tensor or optimizer state %ld of layer %ld is not "
              "inside the persistent region", static_cast<long>(k % 4), static_cast<long>(k / 4));
    if (r.offset < trained_start_) trained_start_ = r.offset;
    for (int32_t j = 0; j < k; ++j) {
      TrainedRangeOut o;
      if (!trained_range(j, &o) || o.id == r.id) continue;
      TT_ENSURE(err, o.offset + o.bytes <= r.offset || r.offset + r.bytes <= o.offset,
                Status::kInvalidModel,
                "training program: trained data of layers %ld and %ld overlap",
                static_cast<long>(j / 4), static_cast<long>(k / 4));
    }
  }
  for (int32_t t = 0; t < h.n_model_tensors; ++t) {
    const int32_t off = program_.model_offset(t);
    if (off < 0 || off >= h.persistent_bytes) continue;
    bool trained = false;
    for (int32_t i = 0; i < h.n_layers && !trained; ++i) {
      const LayerInfo l = program_.layer(i);
      trained = t == TrainedWeight(l) || t == l.bias_tensor;
    }
    TT_ENSURE(err, trained, Status::kInvalidModel,
              "training program: tensor %ld is planned inside the persistent region",
              static_cast<long>(t));
  }
  return Status::kOk;
}

Status Session::CopyTrainedTensors() {
  ErrorMessage* err = &error_;
  const ProgramHeader& h = program_.header();
  for (int32_t i = 0; i < h.n_layers; ++i) {
    const LayerInfo l = program_.layer(i);
    const int32_t ids[2] = {TrainedWeight(l), l.bias_tensor};
    for (int32_t t : ids) {
      if (t < 0) continue;
      const int32_t off = program_.model_offset(t);
      const int64_t bytes = trained_bytes(t);
      const BufferInfo buf = model_.buffer(tensor(t).buffer);
      // bytes <= the tensor's: a layer record claiming more channels than the tensor has
      // would otherwise copy from past its data.
      TT_ENSURE(err, off >= 0 && off + bytes <= h.persistent_bytes && buf.data != nullptr &&
                         buf.size == model_tensor_bytes(t) && bytes >= 0 &&
                         bytes <= static_cast<int64_t>(buf.size),
                Status::kInvalidModel,
                "layer %ld: trained tensor %ld needs constant data, a persistent arena slot "
                "and the output channels the layer trains",
                static_cast<long>(i), static_cast<long>(t));
      const int32_t head = t == l.weight_tensor ? head_channels(t) : -1;
      const OperatorView op = subgraph_.op(static_cast<uint32_t>(l.op_index));
      if (head >= 0 && ChannelsLast(model_, op)) {
        // A depthwise filter's trained channels lead every tap: gathered tap by tap (bytes >= 0
        // above: a last axis of channels >= head exists).
        const TensorInfo info = tensor(t);
        const int32_t channels = info.shape[info.shape.size() - 1];
        const int64_t taps = model_tensor_bytes(t) / channels;
        for (int64_t k = 0; k < taps; ++k) {
          memcpy(arena_ + off + k * head, buf.data + k * channels, static_cast<size_t>(head));
        }
      } else {
        memcpy(arena_ + off, buf.data, static_cast<size_t>(bytes));
      }
    }
  }
  return Status::kOk;
}

Status Session::PrepareOps() {
  ErrorMessage* err = &error_;
  for (uint32_t i = 0; i < subgraph_.num_operators(); ++i) {
    if (program_.folded(static_cast<int32_t>(i))) continue;
    const OperatorView op = subgraph_.op(i);
    const OperatorCodeInfo code = model_.operator_code(op.opcode_index());
    const OpRegistration* reg = FindRegistration(code.builtin_code);
    TT_ENSURE(err, reg != nullptr, Status::kUnsupported,
              "op %lu: builtin operator %ld is not supported by this runtime",
              static_cast<unsigned long>(i), static_cast<long>(code.builtin_code));
    OpState* state = op_state(static_cast<int32_t>(i));
    memset(state, 0, static_cast<size_t>(OpStateBytesOf(code.builtin_code)));
    state->registration = reg;
    OpContext ctx{this, static_cast<int32_t>(i), op, state,
                  op_channel_data(static_cast<int32_t>(i))};
    TT_RETURN_IF_ERROR(reg->prepare(ctx, err));
  }
  return Status::kOk;
}

Status Session::CheckInstructions() {
  int32_t cursor = 0;
  Instruction ins;
  mse_loss_ = false;
  for (int32_t n = 0; program_.Next(&cursor, &ins); ++n) {
    TT_RETURN_IF_ERROR(CheckInstruction(CheckContext{this, &program_, n, &error_}, ins));
    if (ins.opcode == Opcode::kLossMse) mse_loss_ = true;
  }
  return Status::kOk;
}

Status Session::Invoke() {
  TT_ENSURE(&error_, open_, Status::kInvalidArgument, "session is not open");
  return Run(0, program_.header().n_forward, -1, nullptr, nullptr);
}

Status Session::TrainStep(int32_t label, const TrainOptions& options, float* loss) {
  const ProgramHeader& h = program_.header();
  TT_ENSURE(&error_, open_, Status::kInvalidArgument, "session is not open");
  TT_ENSURE(&error_, h.n_instructions > h.n_forward, Status::kInvalidArgument,
            "this model was converted for inference only: its program has no training step");
  // A NaN or infinite rate or target would turn every later update into NaN steps, which the
  // update rounds to nothing: training would stop silently.
  TT_ENSURE(&error_, std::isfinite(options.learning_rate) && options.learning_rate >= 0.0f,
            Status::kInvalidArgument, "the learning rate must be finite and not negative");
  if (mse_loss_) {
    TT_ENSURE(&error_, options.target != nullptr, Status::kInvalidArgument,
              "this model trains with an MSE loss: pass %ld real targets",
              static_cast<long>(h.num_classes));
    for (int32_t i = 0; i < h.num_classes; ++i) {
      TT_ENSURE(&error_, std::isfinite(options.target[i]), Status::kInvalidArgument,
                "MSE target %ld is not a finite number", static_cast<long>(i));
    }
  } else {
    TT_ENSURE(&error_, label >= 0 && label < h.num_classes, Status::kInvalidArgument,
              "label %ld is outside the model's %ld classes", static_cast<long>(label),
              static_cast<long>(h.num_classes));
  }
  TT_ENSURE(&error_, options.batch_size >= 1 && options.sample_in_batch >= 0 &&
                         options.sample_in_batch < options.batch_size,
            Status::kInvalidArgument, "sample %ld of a mini-batch of %ld is out of range",
            static_cast<long>(options.sample_in_batch), static_cast<long>(options.batch_size));
  TT_ENSURE(&error_, options.batch_size == 1 || program_.has_optimizer_state(),
            Status::kInvalidArgument,
            "mini-batches of %ld need gradient sums in SRAM: convert with "
            "optimizer=SGD(mini_batch=True)", static_cast<long>(options.batch_size));
  return Run(0, h.n_instructions, label, &options, loss);
}

void Session::input_rows(int32_t* rows, int32_t* row_bytes) const {
  const int32_t t = program_.header().input_tensor;
  const TensorInfo info = tensor(t);
  const int64_t bytes = model_tensor_bytes(t);
  *rows = info.shape.size() >= 3 && info.shape[1] > 0 ? info.shape[1] : 1;
  *row_bytes = bytes > 0 ? static_cast<int32_t>(bytes / *rows) : 0;
}

Status Session::FillInputFromSource() {
  int32_t rows = 0, row_bytes = 0;
  input_rows(&rows, &row_bytes);
  return source_.read(source_.context, 0, rows, reinterpret_cast<int8_t*>(data(
                          program_.header().input_tensor)), row_bytes, &error_);
}

Status Session::Run(int32_t first, int32_t count, int32_t label, const TrainOptions* options,
                    float* loss) {
  if (first == 0 && input_streamed()) {
    TT_ENSURE(&error_, source_.read != nullptr, Status::kInvalidArgument,
              "this program reads its input row by row from an input source (converted with "
              "input_source=True) and stores no input tensor: call tt_set_input_source first");
  } else if (first == 0 && source_.read != nullptr) {
    TT_RETURN_IF_ERROR(FillInputFromSource());
  }
  int32_t cursor = 0;
  Instruction ins;
  float step_loss = 0.0f;
  const RunContext run{this, &program_, Optimizer{this, arena_, options, &rng_state_}, label,
                       &step_loss, &error_};
  for (int32_t n = 0; n < first + count && program_.Next(&cursor, &ins); ++n) {
    if (n < first) continue;
    if (hook_ != nullptr) hook_(hook_user_, n, static_cast<int32_t>(ins.opcode), ins.args[0]);
    TT_RETURN_IF_ERROR(RunInstruction(run, ins));
  }
  if (hook_ != nullptr) hook_(hook_user_, -1, -1, -1);
  if (loss != nullptr) *loss = step_loss;
  return Status::kOk;
}

int8_t* Session::input(size_t* bytes) {
  const int32_t t = program_.header().input_tensor;
  if (input_streamed()) {  // no storage: the rows come from the input source
    if (bytes) *bytes = 0;
    return nullptr;
  }
  if (bytes) *bytes = static_cast<size_t>(model_tensor_bytes(t));
  return reinterpret_cast<int8_t*>(data(t));
}

const int8_t* Session::output(size_t* bytes) const {
  const int32_t t = program_.header().output_tensor;
  if (bytes) *bytes = static_cast<size_t>(model_tensor_bytes(t));
  return reinterpret_cast<const int8_t*>(data(t));
}

int32_t Session::builtin_code(int32_t op) const {
  return model_.operator_code(subgraph_.op(static_cast<uint32_t>(op)).opcode_index()).builtin_code;
}

bool Session::FoldedShapeInput(const OperatorView& op, uint32_t k) const {
  if (k != 1 || k >= op.inputs().size() ||
      model_.operator_code(op.opcode_index()).builtin_code != tflite::kReshape) {
    return false;
  }
  const int32_t t = op.inputs()[k];
  for (uint32_t i = 0; i < subgraph_.num_operators(); ++i) {
    if (!program_.folded(static_cast<int32_t>(i))) continue;
    const fb::ScalarArray<int32_t> outs = subgraph_.op(i).outputs();
    for (uint32_t j = 0; j < outs.size(); ++j) {
      if (outs[j] == t) return true;
    }
  }
  return false;
}

int32_t Session::partial_weight_layer(int32_t t) const {
  const ProgramHeader& h = program_.header();
  for (int32_t i = 0; i < h.n_layers; ++i) {
    const LayerInfo l = program_.layer(i);
    if (TrainedWeight(l) == t) return l.weight_channels < l.out_channels ? i : -1;
  }
  return -1;
}

int32_t Session::head_channels(int32_t t) const {
  return head_channels_of_layer(partial_weight_layer(t));
}

int32_t Session::head_channels_of_layer(int32_t layer) const {
  if (layer < 0) return -1;
  const LayerInfo l = program_.layer(layer);
  // From the model, not the registration: the layout checks run before ops are prepared.
  const OperatorView op = subgraph_.op(static_cast<uint32_t>(l.op_index));
  const int32_t code = model_.operator_code(op.opcode_index()).builtin_code;
  if (code == tflite::kConv2D || code == tflite::kFullyConnected) return l.weight_channels;
  if (code != tflite::kDepthwiseConv2D) return -1;
  const int32_t four = (l.weight_channels + 3) & ~3;
  return four < l.out_channels ? four : -1;
}

int64_t Session::trained_bytes(int32_t t) const {
  const int64_t whole = model_tensor_bytes(t);
  const int32_t layer = partial_weight_layer(t);
  const int32_t head = head_channels_of_layer(layer);
  if (head < 0 || whole < 0) return whole;
  const TensorInfo info = tensor(t);
  const OperatorView op = subgraph_.op(static_cast<uint32_t>(program_.layer(layer).op_index));
  const size_t axis = ChannelsLast(model_, op) ? info.shape.size() - 1 : 0;
  const int64_t channels = info.shape.size() > 0 ? info.shape[axis] : 0;
  return channels > 0 ? whole / channels * head : -1;
}

FilterRows Session::filter_rows(int32_t op) const {
  const int32_t w = subgraph_.op(static_cast<uint32_t>(op)).inputs()[1];
  const TensorInfo info = tensor(w);
  const int32_t out_channels = info.shape.size() > 0 ? info.shape[0] : 1;
  const int32_t row_size = static_cast<int32_t>(model_tensor_bytes(w) / out_channels);
  const int8_t* base = reinterpret_cast<const int8_t*>(model_.buffer(info.buffer).data);
  const int8_t* where = reinterpret_cast<const int8_t*>(data(w));
  const int32_t rows = head_channels(w);
  if (rows < 0) return WholeFilter(where, row_size);  // frozen (flash) or whole in SRAM
  return FilterRows{base, where, rows, row_size};
}

DepthwiseFilter Session::depthwise_filter(int32_t op) const {
  const int32_t w = subgraph_.op(static_cast<uint32_t>(op)).inputs()[1];
  const TensorInfo info = tensor(w);
  const int32_t channels = info.shape.size() == 4 ? info.shape[3] : 1;
  const int8_t* where = reinterpret_cast<const int8_t*>(data(w));
  const int32_t head = head_channels(w);
  if (head < 0) return WholeDepthwiseFilter(where, channels);  // frozen (flash) or whole in SRAM
  const int8_t* base = reinterpret_cast<const int8_t*>(model_.buffer(info.buffer).data);
  return DepthwiseFilter{base, channels, where, head, head};
}

const uint8_t* Session::tensor_data(int32_t t, size_t* bytes) const {
  if (!open_ || t < 0 || t >= program_.header().n_model_tensors) return nullptr;
  const int64_t n = program_.model_offset(t) >= 0 ? trained_bytes(t) : model_tensor_bytes(t);
  if (bytes) *bytes = n < 0 ? 0 : static_cast<size_t>(n);
  return data(t);
}

}  // namespace tflm_train
