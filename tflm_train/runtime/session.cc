#include "tflm_train/runtime/session.h"

#include <cmath>
#include <cstring>

#include "kernels/training/activation_grad.h"
#include "kernels/training/bias_grad.h"
#include "kernels/training/conv_grad.h"
#include "kernels/training/depthwise_conv_grad.h"
#include "kernels/training/grad_accumulate.h"
#include "kernels/training/mean_squared_error.h"
#include "kernels/training/softmax_cross_entropy.h"
#include "tflm_train/runtime/ops.h"
#include "tflm_train/runtime/stream_chain.h"

namespace tflm_train {
namespace {

constexpr float kProbabilityEps = 1e-7f;

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
        // A tensor inside a streamed chain exists only as row windows in the chain's scratch.
        if (program_.model_offset(t) >= 0 || IsStreamIntermediate(*this, t)) continue;
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
Status Session::CheckPersistentLayout() {
  ErrorMessage* err = &error_;
  const ProgramHeader& h = program_.header();
  const int32_t states_end = h.n_ops * kOpStateBytes;
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
      TT_ENSURE(err, off >= 0 && off + bytes <= h.persistent_bytes && buf.data != nullptr &&
                         buf.size == model_tensor_bytes(t) && bytes >= 0,
                Status::kInvalidModel,
                "layer %ld: trained tensor %ld needs constant data and a persistent arena slot",
                static_cast<long>(i), static_cast<long>(t));
      memcpy(arena_ + off, buf.data, static_cast<size_t>(bytes));
    }
  }
  return Status::kOk;
}

Status Session::PrepareOps() {
  ErrorMessage* err = &error_;
  for (uint32_t i = 0; i < subgraph_.num_operators(); ++i) {
    const OperatorView op = subgraph_.op(i);
    const OperatorCodeInfo code = model_.operator_code(op.opcode_index());
    const OpRegistration* reg = FindRegistration(code.builtin_code);
    TT_ENSURE(err, reg != nullptr, Status::kUnsupported,
              "op %lu: builtin operator %ld is not supported by this runtime",
              static_cast<unsigned long>(i), static_cast<long>(code.builtin_code));
    OpState* state = op_state(static_cast<int32_t>(i));
    memset(state, 0, sizeof(OpState));
    state->registration = reg;
    OpContext ctx{this, static_cast<int32_t>(i), op, state,
                  op_channel_data(static_cast<int32_t>(i))};
    TT_RETURN_IF_ERROR(reg->prepare(ctx, err));
  }
  return Status::kOk;
}

Status Session::CheckInstructions() {
  ErrorMessage* err = &error_;
  const ProgramHeader& h = program_.header();
  const int32_t n_tensors = h.n_model_tensors + h.n_extra;
  auto extra_float = [&](int32_t t, int64_t elements) {
    if (t < h.n_model_tensors || t >= n_tensors) return false;
    const ExtraTensorInfo e = program_.extra(t - h.n_model_tensors);
    return e.dtype == DType::kFloat32 && e.elements >= elements;
  };
  auto extra_bits = [&](int32_t t, int64_t elements) {  // int8 bytes holding 1 bit per element
    if (t < h.n_model_tensors || t >= n_tensors) return false;
    const ExtraTensorInfo e = program_.extra(t - h.n_model_tensors);
    return e.dtype == DType::kInt8 && e.elements >= (elements + 7) / 8;
  };
  auto model_elements = [&](int32_t t) -> int64_t {
    if (t < 0 || t >= h.n_model_tensors) return -1;
    return model_tensor_bytes(t);  // int8 tensors: bytes == elements
  };
  int32_t cursor = 0;
  Instruction ins;
  mse_loss_ = false;
  for (int32_t n = 0; program_.Next(&cursor, &ins); ++n) {
    const int32_t* a = ins.args;
    bool ok = false;
    switch (ins.opcode) {
      case Opcode::kForward:
        ok = ins.num_args == 1 && a[0] >= 0 && a[0] < h.n_ops && n < h.n_forward &&
             ForwardTensorsStored(*this, a[0]);
        break;
      case Opcode::kStreamChain:
        ok = n < h.n_forward;
        if (ok) TT_RETURN_IF_ERROR(CheckStreamChain(*this, ins, err));
        break;
      case Opcode::kLossSoftmaxCe:
      case Opcode::kLossLogitsCe:
      case Opcode::kLossMse:
        ok = ins.num_args == 2 && n >= h.n_forward && a[0] == h.output_tensor &&
             tensor(a[0]).type == tflite::kInt8 && model_elements(a[0]) == h.num_classes &&
             extra_float(a[1], h.num_classes);
        if (ins.opcode == Opcode::kLossMse) mse_loss_ = true;
        break;
      case Opcode::kGradAccumulate:
      case Opcode::kGradCopy:
        ok = ins.num_args == 2 && n >= h.n_forward && extra_float(a[0], 1) &&
             extra_float(a[1], 1) &&
             program_.extra(a[0] - h.n_model_tensors).elements ==
                 program_.extra(a[1] - h.n_model_tensors).elements;
        break;
      case Opcode::kActivationGrad:
        ok = ins.num_args == 4 && n >= h.n_forward && tensor_in_range(a[1], h) &&
             tensor(a[1]).type == tflite::kInt8 && extra_float(a[0], model_elements(a[1])) &&
             program_.model_offset(a[1]) >= 0;
        break;
      case Opcode::kInputGrad: {
        ok = ins.num_args == 4 && n >= h.n_forward && a[0] >= 0 && a[0] < h.n_ops;
        if (!ok) break;
        const OperatorView op = subgraph_.op(static_cast<uint32_t>(a[0]));
        const OpState* state = op_state(a[0]);
        const TensorInfo out = tensor(op.outputs()[0]);
        const int32_t channels = out.shape.size() > 0 ? out.shape[out.shape.size() - 1] : 0;
        // Trainable ops read per-channel weight scales from the float pool.
        const bool needs_scales = state->registration->weight_grad != nullptr;
        ok = state->registration->input_grad != nullptr &&
             extra_float(a[1], model_elements(op.outputs()[0])) &&
             extra_float(a[2], model_elements(op.inputs()[0])) &&
             (needs_scales ? (a[3] >= 0 && a[3] + channels <= h.n_floats) : a[3] == -1) &&
             // max pooling finds the argmax again in its forward input, which a streamed
             // chain may have left without storage
             (state->registration->builtin_code != tflite::kMaxPool2D ||
              OpInputReadable(*this, a[0], 0));
        break;
      }
      case Opcode::kSaveMask:
        ok = ins.num_args == 4 && n < h.n_forward && tensor_in_range(a[0], h) &&
             tensor(a[0]).type == tflite::kInt8 && program_.model_offset(a[0]) >= 0 &&
             extra_bits(a[1], model_elements(a[0]));
        break;
      case Opcode::kMaskGrad:
        ok = ins.num_args == 5 && n >= h.n_forward && tensor_in_range(a[2], h) &&
             tensor(a[2]).type == tflite::kInt8 && extra_float(a[0], model_elements(a[2])) &&
             extra_bits(a[1], model_elements(a[2]));
        break;
      case Opcode::kMeanHeadBackward:
        TT_RETURN_IF_ERROR(CheckMeanHeadBackward(ins, n));
        ok = true;
        break;
      case Opcode::kBottleneckBackward:
        TT_RETURN_IF_ERROR(CheckBottleneckBackward(ins, n));
        ok = true;
        break;
      case Opcode::kDepthwiseGradInPlace: {
        ok = ins.num_args == 5 && n >= h.n_forward && a[0] >= 0 && a[0] < h.n_ops &&
             op_state(a[0])->registration->builtin_code == tflite::kDepthwiseConv2D && a[4] > 0;
        if (!ok) break;
        OpContext ctx{this, a[0], subgraph_.op(static_cast<uint32_t>(a[0])), op_state(a[0]),
                      op_channel_data(a[0])};
        const Dims in_d = ToDims(ctx.input(0)), out_d = ToDims(ctx.output(0));
        const Dims f_d = ToDims(ctx.input(1));
        ok = in_d.n == out_d.n && in_d.h == out_d.h && in_d.w == out_d.w && in_d.c == out_d.c &&
             f_d.c == out_d.c && a[4] <= out_d.c &&
             extra_float(a[1], model_elements(ctx.output_id(0))) &&
             extra_float(a[2], DepthwiseInPlaceScratchFloats(out_d, a[4])) &&
             a[3] >= 0 && a[3] + out_d.c <= h.n_floats;
        break;
      }
      case Opcode::kInputGradAt: {
        ok = ins.num_args == 4 && n >= h.n_forward && a[0] >= 0 && a[0] < h.n_ops;
        if (!ok) break;
        const OperatorView op = subgraph_.op(static_cast<uint32_t>(a[0]));
        ok = op_state(a[0])->registration->input_grad_at != nullptr && a[3] >= 0 &&
             static_cast<uint32_t>(a[3]) < op.inputs().size() && op.inputs()[a[3]] >= 0 &&
             extra_float(a[1], model_elements(op.outputs()[0])) &&
             extra_float(a[2], model_elements(op.inputs()[a[3]]));
        break;
      }
      case Opcode::kBiasUpdate:
      case Opcode::kWeightUpdate: {
        const bool bias = ins.opcode == Opcode::kBiasUpdate;
        ok = ins.num_args == (bias ? 3 : 4) && n >= h.n_forward && LayerFits(a[2], a[0], bias);
        if (!ok) break;
        const OperatorView op = subgraph_.op(static_cast<uint32_t>(a[0]));
        OpContext ctx{this, a[0], op, op_state(a[0]), op_channel_data(a[0])};
        ok = extra_float(a[1], model_elements(op.outputs()[0]));
        if (!bias) {
          ok = ok && program_.layer(a[2]).weight_channels > 0 &&
               extra_float(a[3], ctx.state->registration->weight_grad_elements(ctx)) &&
               OpInputReadable(*this, a[0], 0);  // the gradient reads the op's input
        }
        break;
      }
    }
    TT_ENSURE(err, ok, Status::kInvalidModel,
              "training program: instruction %ld (opcode %ld) does not match the model",
              static_cast<long>(n), static_cast<long>(ins.opcode));
  }
  return Status::kOk;
}

bool Session::tensor_in_range(int32_t t, const ProgramHeader& h) const {
  return t >= 0 && t < h.n_model_tensors;
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

Status Session::Run(int32_t first, int32_t count, int32_t label, const TrainOptions* options,
                    float* loss) {
  int32_t cursor = 0;
  Instruction ins;
  float step_loss = 0.0f;
  for (int32_t n = 0; n < first + count && program_.Next(&cursor, &ins); ++n) {
    if (n < first) continue;
    const int32_t* a = ins.args;
    if (hook_ != nullptr) hook_(hook_user_, n, static_cast<int32_t>(ins.opcode), a[0]);
    switch (ins.opcode) {
      case Opcode::kForward: {
        OpContext ctx{this, a[0], subgraph_.op(static_cast<uint32_t>(a[0])), op_state(a[0]),
                      op_channel_data(a[0])};
        ctx.state->registration->eval(ctx);
        break;
      }
      case Opcode::kStreamChain:
        TT_ENSURE(&error_, RunStreamChain(*this, ins), Status::kInternal,
                  "STREAM_CHAIN of ops %ld..: a pooling window had no input element",
                  static_cast<long>(a[0]));
        break;
      case Opcode::kLossSoftmaxCe: {
        const TensorInfo probs = tensor(a[0]);
        SoftmaxCrossEntropyFromProbs(program_.header().num_classes,
                                     reinterpret_cast<const int8_t*>(data(a[0])),
                                     probs.quantization.scale[0],
                                     static_cast<int32_t>(probs.quantization.zero_point[0]),
                                     label, kProbabilityEps,
                                     reinterpret_cast<float*>(data(a[1])), &step_loss);
        break;
      }
      case Opcode::kLossLogitsCe: {
        const TensorInfo logits = tensor(a[0]);
        SoftmaxCrossEntropyFromInt8Logits(program_.header().num_classes,
                                          reinterpret_cast<const int8_t*>(data(a[0])),
                                          logits.quantization.scale[0], label,
                                          reinterpret_cast<float*>(data(a[1])), &step_loss);
        break;
      }
      case Opcode::kLossMse: {
        const TensorInfo out = tensor(a[0]);
        MeanSquaredErrorInt8(program_.header().num_classes,
                             reinterpret_cast<const int8_t*>(data(a[0])),
                             out.quantization.scale[0],
                             static_cast<int32_t>(out.quantization.zero_point[0]),
                             options->target, reinterpret_cast<float*>(data(a[1])), &step_loss);
        break;
      }
      case Opcode::kGradAccumulate:
      case Opcode::kGradCopy: {
        const int32_t n_elements = static_cast<int32_t>(ExtraElements(a[0]));
        const float* src = reinterpret_cast<const float*>(data(a[0]));
        float* dst = reinterpret_cast<float*>(data(a[1]));
        if (ins.opcode == Opcode::kGradCopy) {
          memcpy(dst, src, sizeof(float) * static_cast<size_t>(n_elements));
        } else {
          GradAccumulate(n_elements, src, dst);
        }
        break;
      }
      case Opcode::kActivationGrad: {
        float* grad = reinterpret_cast<float*>(data(a[0]));
        ActivationGrad(static_cast<int32_t>(model_tensor_bytes(a[1])),
                       reinterpret_cast<const int8_t*>(data(a[1])), a[2], a[3], grad, grad);
        break;
      }
      case Opcode::kInputGrad: {
        OpContext ctx{this, a[0], subgraph_.op(static_cast<uint32_t>(a[0])), op_state(a[0]),
                      op_channel_data(a[0])};
        ctx.state->registration->input_grad(
            ctx, reinterpret_cast<const float*>(data(a[1])),
            a[3] >= 0 ? program_.FloatPointer(a[3]) : nullptr,
            reinterpret_cast<float*>(data(a[2])));
        break;
      }
      case Opcode::kSaveMask:
        if (options == nullptr) break;  // inference: nothing will read the mask
        ActivationMaskSave(static_cast<int32_t>(model_tensor_bytes(a[0])),
                           reinterpret_cast<const int8_t*>(data(a[0])), a[2], a[3], data(a[1]));
        break;
      case Opcode::kMaskGrad: {
        float* grad = reinterpret_cast<float*>(data(a[0]));
        ActivationGradFromMask(static_cast<int32_t>(model_tensor_bytes(a[2])), data(a[1]), grad,
                               grad);
        break;
      }
      case Opcode::kInputGradAt: {
        OpContext ctx{this, a[0], subgraph_.op(static_cast<uint32_t>(a[0])), op_state(a[0]),
                      op_channel_data(a[0])};
        ctx.state->registration->input_grad_at(ctx, reinterpret_cast<const float*>(data(a[1])),
                                               a[3], reinterpret_cast<float*>(data(a[2])));
        break;
      }
      case Opcode::kBiasUpdate: {
        const LayerInfo l = program_.layer(a[2]);
        const int32_t positions = static_cast<int32_t>(
            model_tensor_bytes(subgraph_.op(static_cast<uint32_t>(a[0])).outputs()[0]) /
            l.out_channels);
        UpdateBias(l, reinterpret_cast<const float*>(data(a[1])), positions, l.out_channels, 0,
                   0, l.out_channels, *options);
        break;
      }
      case Opcode::kMeanHeadBackward:
        MeanHeadBackward(a, *options);
        break;
      case Opcode::kBottleneckBackward:
        BottleneckBackward(a, *options);
        break;
      case Opcode::kDepthwiseGradInPlace: {
        OpContext ctx{this, a[0], subgraph_.op(static_cast<uint32_t>(a[0])), op_state(a[0]),
                      op_channel_data(a[0])};
        DepthwiseConvInputGradInPlace(ctx.state->depthwise, ToDims(ctx.output(0)),
                                      ToDims(ctx.input(1)),
                                      reinterpret_cast<const int8_t*>(ctx.input_data(1)),
                                      program_.FloatPointer(a[3]), a[4],
                                      reinterpret_cast<float*>(data(a[2])),
                                      reinterpret_cast<float*>(data(a[1])));
        break;
      }
      case Opcode::kWeightUpdate:
        UpdateWeights(program_.layer(a[2]), a[0], reinterpret_cast<const float*>(data(a[1])),
                      reinterpret_cast<float*>(data(a[3])), *options);
        break;
    }
  }
  if (hook_ != nullptr) hook_(hook_user_, -1, -1, -1);
  if (loss != nullptr) *loss = step_loss;
  return Status::kOk;
}

const float* Session::OptimizerGradient(float* g, int32_t count, float* state,
                                        const TrainOptions& options) const {
  if (state == nullptr) return g;
  if (options.sample_in_batch == 0) {
    // A new mini-batch: the velocity decays once (or starts from zero for plain SGD).
    const float mu = program_.momentum();
    if (mu == 0.0f) {
      for (int32_t i = 0; i < count; ++i) state[i] = 0.0f;
    } else {
      GradScale(count, mu, state);
    }
  }
  if (options.batch_size > 1) GradScale(count, 1.0f / static_cast<float>(options.batch_size), g);
  GradAccumulate(count, g, state);
  return options.sample_in_batch == options.batch_size - 1 ? state : nullptr;
}

void Session::UpdateBias(const LayerInfo& l, const float* grad, int32_t positions,
                         int32_t stride, int32_t c_offset, int32_t c_begin, int32_t c_end,
                         const TrainOptions& options) {
  int32_t* bias = reinterpret_cast<int32_t*>(data(l.bias_tensor));
  float* state = l.bias_state >= 0 ? reinterpret_cast<float*>(arena_ + l.bias_state) : nullptr;
  const SgdParams sgd{options.learning_rate, 0.0f, options.rounding};
  // A few channels at a time: one pass sums their positions, then the optimizer and the update
  // run over them in channel order (elementwise, the same as one channel at a time).
  constexpr int32_t kChunk = 8;
  float sums[kChunk];
  for (int32_t c0 = c_begin; c0 < c_end; c0 += kChunk) {
    const int32_t end = c_end - c0 < kChunk ? c_end : c0 + kChunk;
    BiasGrad(positions, stride, grad, c0 - c_offset, end - c_offset, sums);
    const float* apply = OptimizerGradient(sums, end - c0, state ? state + c0 : nullptr, options);
    if (apply == nullptr) continue;
    SgdUpdateInt32(sgd, ChannelSlice{1, l.out_channels, 1, c0, end}, apply,
                   program_.FloatPointer(l.bias_factors), nullptr, &rng_state_, bias);
  }
}

void Session::UpdateWeightChannel(const LayerInfo& l, const OpContext& ctx, int32_t c,
                                  float* scratch, const TrainOptions& options) {
  const OpRegistration* reg = ctx.state->registration;
  const int32_t per_channel = reg->weight_grad_elements(ctx);
  float* state = l.weight_state >= 0 ? reinterpret_cast<float*>(arena_ + l.weight_state) +
                                           static_cast<size_t>(c) * per_channel
                                     : nullptr;
  const float* apply = OptimizerGradient(scratch, per_channel, state, options);
  if (apply == nullptr) return;
  const SgdParams sgd{options.learning_rate, 0.0f, options.rounding};
  SgdUpdateInt8(sgd, reg->weight_slice(ctx, c), apply, program_.FloatPointer(l.weight_factors),
                nullptr, &rng_state_, reinterpret_cast<int8_t*>(data(l.weight_tensor)));
}

void Session::UpdateWeights(const LayerInfo& l, int32_t op, const float* grad_out, float* scratch,
                            const TrainOptions& options) {
  OpContext ctx{this, op, subgraph_.op(static_cast<uint32_t>(op)), op_state(op),
                op_channel_data(op)};
  // One channel at a time: its gradient is consumed (applied or summed) before the next one is
  // computed, so the scratch holds a single channel.
  for (int32_t c = 0; c < l.weight_channels; ++c) {
    ctx.state->registration->weight_grad(ctx, grad_out, c, scratch);
    UpdateWeightChannel(l, ctx, c, scratch, options);
  }
}

// The backward pass of a CONV_2D whose output feeds only a spatial MEAN (the classifier head
// of MobileNet-like models). Its output gradient is the MEAN gradient broadcast over H*W
// (divided by H*W, as MeanGrad does) and masked by the fused activation; it is built one group
// of output channels at a time into `group` ([positions, G] floats) and consumed at once: bias
// update, weight updates of the group's channels, and the group's share of the input gradient
// (summed over groups). The broadcast gradient of the whole MEAN input never exists.
void Session::MeanHeadBackward(const int32_t* a, const TrainOptions& options) {
  const int32_t conv = a[0];
  OpContext ctx{this, conv, subgraph_.op(static_cast<uint32_t>(conv)), op_state(conv),
                op_channel_data(conv)};
  const Dims in_d = ToDims(ctx.input(0)), out_d = ToDims(ctx.output(0));
  const Dims f_d = ToDims(ctx.input(1));
  const int32_t positions = out_d.n * out_d.h * out_d.w, channels = out_d.c;
  const int32_t group = static_cast<int32_t>(ExtraElements(a[2]) / positions);
  const float count = static_cast<float>(out_d.h * out_d.w);
  const float* g_mean = reinterpret_cast<const float*>(data(a[1]));
  const uint8_t* mask = a[3] >= 0 ? data(a[3]) : nullptr;
  float* buf = reinterpret_cast<float*>(data(a[2]));
  float* g_in = a[4] >= 0 ? reinterpret_cast<float*>(data(a[4])) : nullptr;
  float* temp = a[5] >= 0 ? reinterpret_cast<float*>(data(a[5])) : nullptr;
  const FilterRows filter = filter_rows(conv);
  LayerInfo l = {};
  if (a[6] >= 0) l = program_.layer(a[6]);
  for (int32_t c0 = 0; c0 < channels; c0 += group) {
    const int32_t g = channels - c0 < group ? channels - c0 : group;
    for (int32_t p = 0; p < positions; ++p) {
      const float* gm = g_mean + (p / (out_d.h * out_d.w)) * channels + c0;
      for (int32_t j = 0; j < g; ++j) buf[p * g + j] = gm[j] / count;
    }
    ActivationGradFromMaskGroup(positions, channels, c0, g, mask, buf);
    const Dims group_out{out_d.n, out_d.h, out_d.w, g};
    // The input gradient reads the filter, so it comes before this group's weights move.
    // Later groups add their share to g_in (through temp where the product cannot add).
    if (g_in != nullptr) {
      ConvInputGradGroupShare(ctx.state->conv, group_out, buf, Dims{g, f_d.h, f_d.w, f_d.c},
                              filter.from(c0), program_.FloatPointer(a[7]) + c0, in_d, c0 == 0,
                              g_in, temp);
    }
    if (a[6] >= 0) {
      if (l.update_bias) UpdateBias(l, buf, positions, g, c0, c0, c0 + g, options);
      const int32_t w_end = l.weight_channels < c0 + g ? l.weight_channels : c0 + g;
      UpdateConvFilterBlocks(l, ctx, in_d, reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                             group_out, buf, c0, w_end, temp, ExtraElements(a[5]), options);
    }
  }
}

bool Session::LayerFits(int32_t layer, int32_t op_index, bool bias) const {
  const ProgramHeader& h = program_.header();
  if (layer < 0 || layer >= h.n_layers || op_index < 0 || op_index >= h.n_ops) return false;
  const LayerInfo l = program_.layer(layer);
  if (l.op_index != op_index) return false;
  const OperatorView op = subgraph_.op(static_cast<uint32_t>(op_index));
  OpContext ctx{const_cast<Session*>(this), op_index, op, op_state(op_index),
                op_channel_data(op_index)};
  const OpRegistration* reg = ctx.state->registration;
  const int64_t out_elements = model_tensor_bytes(op.outputs()[0]);  // int8: bytes == elements
  bool ok = reg->weight_grad != nullptr && op.inputs().size() > 1 &&
            l.weight_tensor == op.inputs()[1] && out_elements > 0 &&
            out_elements % l.out_channels == 0 &&
            reg->weight_slice(ctx, 0).channels == l.out_channels;
  if (bias) {
    ok = ok && l.bias_tensor >= 0 && op.inputs().size() > 2 && l.bias_tensor == op.inputs()[2] &&
         model_tensor_bytes(l.bias_tensor) == 4 * int64_t{l.out_channels};
  }
  return ok;
}

bool Session::ExtraTensorFits(int32_t t, DType type, int64_t elements) const {
  const ProgramHeader& h = program_.header();
  if (t < h.n_model_tensors || t >= h.n_model_tensors + h.n_extra) return false;
  const ExtraTensorInfo e = program_.extra(t - h.n_model_tensors);
  return e.dtype == type && e.elements >= elements;
}

int64_t Session::ExtraElements(int32_t t) const {
  const ProgramHeader& h = program_.header();
  if (t < h.n_model_tensors || t >= h.n_model_tensors + h.n_extra) return 0;
  return program_.extra(t - h.n_model_tensors).elements;
}

Status Session::CheckMeanHeadBackward(const Instruction& ins, int32_t n) {
  const ProgramHeader& h = program_.header();
  const int32_t* a = ins.args;
  bool ok = ins.num_args == 8 && n >= h.n_forward && a[0] >= 0 && a[0] < h.n_ops &&
            a[6] >= -1 && a[6] < h.n_layers &&
            op_state(a[0])->registration->builtin_code == tflite::kConv2D;
  if (ok) {
    OpContext ctx{this, a[0], subgraph_.op(static_cast<uint32_t>(a[0])), op_state(a[0]),
                  op_channel_data(a[0])};
    const Dims out_d = ToDims(ctx.output(0)), f_d = ToDims(ctx.input(1));
    const int64_t positions = int64_t{out_d.n} * out_d.h * out_d.w;
    const int64_t in_elements = Elements(ctx.input(0));
    const bool weights = a[6] >= 0 && program_.layer(a[6]).weight_channels > 0;
    const bool group_ok = a[2] >= h.n_model_tensors && a[2] < h.n_model_tensors + h.n_extra;
    const int64_t group =
        group_ok && positions > 0 ? program_.extra(a[2] - h.n_model_tensors).elements / positions
                                  : 0;
    ok = ExtraTensorFits(a[1], DType::kFloat32, int64_t{out_d.n} * out_d.c) &&
         ExtraTensorFits(a[2], DType::kFloat32, positions) &&
         (a[3] == -1 || ExtraTensorFits(a[3], DType::kInt8, (positions * out_d.c + 7) / 8)) &&
         (a[4] == -1 || ExtraTensorFits(a[4], DType::kFloat32, in_elements)) &&
         (!weights || ExtraTensorFits(a[5], DType::kFloat32, int64_t{f_d.h} * f_d.w * f_d.c)) &&
         // groups after the first add their input-gradient share, or sum it through temp
         (a[4] == -1 || group >= out_d.c ||
          ConvInputGradAdds(ctx.state->conv, f_d, ToDims(ctx.input(0)), out_d) ||
          ExtraTensorFits(a[5], DType::kFloat32, in_elements)) &&
         (a[4] == -1 || (a[7] >= 0 && a[7] + out_d.c <= h.n_floats)) &&
         (a[6] == -1 || LayerFits(a[6], a[0], program_.layer(a[6]).update_bias != 0)) &&
         (!weights || OpInputReadable(*this, a[0], 0)) && out_d.c == f_d.n;
  }
  TT_ENSURE(&error_, ok, Status::kInvalidModel,
            "training program: instruction %ld (MEAN_HEAD_BACKWARD) does not match the model",
            static_cast<long>(n));
  return Status::kOk;
}

int8_t* Session::input(size_t* bytes) {
  const int32_t t = program_.header().input_tensor;
  if (bytes) *bytes = static_cast<size_t>(model_tensor_bytes(t));
  return reinterpret_cast<int8_t*>(data(t));
}

const int8_t* Session::output(size_t* bytes) const {
  const int32_t t = program_.header().output_tensor;
  if (bytes) *bytes = static_cast<size_t>(model_tensor_bytes(t));
  return reinterpret_cast<const int8_t*>(data(t));
}

int32_t Session::head_rows(int32_t t) const {
  const ProgramHeader& h = program_.header();
  for (int32_t i = 0; i < h.n_layers; ++i) {
    const LayerInfo l = program_.layer(i);
    if (TrainedWeight(l) != t) continue;
    // From the model, not the registration: the layout checks run before ops are prepared.
    const OperatorView op = subgraph_.op(static_cast<uint32_t>(l.op_index));
    const int32_t code = model_.operator_code(op.opcode_index()).builtin_code;
    const bool rows = code == tflite::kConv2D || code == tflite::kFullyConnected;
    return rows && l.weight_channels < l.out_channels ? l.weight_channels : -1;
  }
  return -1;
}

int64_t Session::trained_bytes(int32_t t) const {
  const int64_t whole = model_tensor_bytes(t);
  const int32_t rows = head_rows(t);
  if (rows < 0 || whole < 0) return whole;
  const int64_t out_channels = tensor(t).shape.size() > 0 ? tensor(t).shape[0] : 0;
  return out_channels > 0 ? whole / out_channels * rows : -1;
}

FilterRows Session::filter_rows(int32_t op) const {
  const int32_t w = subgraph_.op(static_cast<uint32_t>(op)).inputs()[1];
  const TensorInfo info = tensor(w);
  const int32_t out_channels = info.shape.size() > 0 ? info.shape[0] : 1;
  const int32_t row_size = static_cast<int32_t>(model_tensor_bytes(w) / out_channels);
  const int8_t* base = reinterpret_cast<const int8_t*>(model_.buffer(info.buffer).data);
  const int8_t* where = reinterpret_cast<const int8_t*>(data(w));
  const int32_t rows = head_rows(w);
  if (rows < 0) return WholeFilter(where, row_size);  // frozen (flash) or whole in SRAM
  return FilterRows{base, where, rows, row_size};
}

const uint8_t* Session::tensor_data(int32_t t, size_t* bytes) const {
  if (!open_ || t < 0 || t >= program_.header().n_model_tensors) return nullptr;
  const int64_t n = program_.model_offset(t) >= 0 ? trained_bytes(t) : model_tensor_bytes(t);
  if (bytes) *bytes = n < 0 ? 0 : static_cast<size_t>(n);
  return data(t);
}

}  // namespace tflm_train
