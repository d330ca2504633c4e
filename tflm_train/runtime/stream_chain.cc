#include "tflm_train/runtime/stream_chain.h"

#include "kernels/conv.h"
#include "kernels/depthwise_conv.h"
#include "tflm_train/runtime/instruction.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

// The instruction's op range, if its arguments describe one inside the subgraph.
bool ChainRange(const Session& s, const Instruction& ins, int32_t* first, int32_t* count) {
  if (ins.opcode != Opcode::kStreamChain || ins.num_args != kStreamChainArgs) return false;
  const int32_t n_ops = s.program().header().n_ops;
  *first = ins.args[0];
  *count = ins.args[1];
  if (!(*first >= 0 && *count >= 2 && *count <= kMaxStreamStages && *first < n_ops &&
        *count <= n_ops - *first)) {
    return false;
  }
  for (int32_t op = *first; op < *first + *count; ++op) {
    if (s.program().folded(op)) return false;
  }
  return true;
}

// Storage a kernel may read, for a tensor some op reads: an arena slot, or constant data
// (CheckTensors verified its size for every op input that is not a chain intermediate).
bool Readable(const Session& s, int32_t t) {
  if (t < 0 || t >= s.program().header().n_model_tensors) return false;
  if (s.program().model_offset(t) >= 0) return true;
  return s.data(t) != nullptr && !IsStreamIntermediate(s, t);
}

bool Writable(const Session& s, int32_t t) {
  return t >= 0 && t < s.program().header().n_model_tensors && s.program().model_offset(t) >= 0;
}

// Tensor t is op `producer`'s only output, appears in exactly one input slot of the whole
// subgraph (in op `consumer`) and is neither the program's input nor its output.
bool ExclusiveLink(const Session& s, int32_t t, int32_t producer, int32_t consumer) {
  const ProgramHeader& h = s.program().header();
  if (t < 0 || t == h.input_tensor || t == h.output_tensor) return false;
  const OperatorView p = s.subgraph().op(static_cast<uint32_t>(producer));
  if (p.outputs().size() != 1 || p.outputs()[0] != t) return false;
  int32_t reads = 0, writes = 0;
  bool read_by_consumer = false;
  for (uint32_t i = 0; i < s.subgraph().num_operators(); ++i) {
    const OperatorView op = s.subgraph().op(i);
    for (uint32_t k = 0; k < op.inputs().size(); ++k) {
      if (op.inputs()[k] != t) continue;
      ++reads;
      read_by_consumer = static_cast<int32_t>(i) == consumer;
    }
    for (uint32_t k = 0; k < op.outputs().size(); ++k) writes += op.outputs()[k] == t ? 1 : 0;
  }
  return reads == 1 && writes == 1 && read_by_consumer;
}

// The kernel stage of op `op` (prepared) whose streamed input is tensor `streamed`; the other
// ADD operand is returned in *other (-1 otherwise). False if the op cannot be streamed so.
bool BuildStage(const Session& s, int32_t op, int32_t streamed, StreamStage* st, int32_t* other) {
  const OperatorView v = s.subgraph().op(static_cast<uint32_t>(op));
  OpState* state = s.op_state(op);
  *other = -1;
  *st = StreamStage{};
  if (v.outputs().size() != 1 || v.inputs().size() < 1) return false;
  const int32_t out = v.outputs()[0];
  const TensorInfo out_t = s.tensor(out);
  if (out_t.type != tflite::kInt8 || s.tensor(streamed).type != tflite::kInt8) return false;
  st->input_dims = ToDims(s.tensor(streamed));
  st->output_dims = ToDims(out_t);
  const int32_t* channel = s.op_channel_data(op);
  switch (state->registration->builtin_code) {
    case tflite::kConv2D:
    case tflite::kDepthwiseConv2D: {
      if (v.inputs()[0] != streamed || v.inputs().size() < 2 || channel == nullptr) return false;
      const bool conv = state->registration->builtin_code == tflite::kConv2D;
      st->op = conv ? StreamOp::kConv : StreamOp::kDepthwise;
      if (conv) {
        st->conv = &state->conv;
      } else {
        st->depthwise = &state->depthwise;
      }
      st->weights.quant = PerChannelQuant{channel, channel + st->output_dims.c};
      st->weights.filter_dims = ToDims(s.tensor(v.inputs()[1]));
      // A filter split between SRAM and flash (partial-channel update) is never streamed.
      if (s.head_channels(v.inputs()[1]) >= 0) return false;
      st->weights.filter = reinterpret_cast<const int8_t*>(s.data(v.inputs()[1]));
      OpContext ctx{const_cast<Session*>(&s), op, v, state, channel};
      st->weights.bias = OptionalBias(ctx);
      return true;
    }
    case tflite::kAveragePool2D:
    case tflite::kMaxPool2D:
      if (v.inputs()[0] != streamed) return false;
      st->op = state->registration->builtin_code == tflite::kMaxPool2D ? StreamOp::kMaxPool
                                                                       : StreamOp::kAveragePool;
      st->pool = &state->pool;
      return true;
    case tflite::kPad:
    case tflite::kPadV2:
      if (v.inputs()[0] != streamed) return false;
      st->op = StreamOp::kPad;
      for (int32_t d = 0; d < 4; ++d) {
        st->pad.before[d] = state->pad.before[d];
        st->pad.after[d] = state->pad.after[d];
      }
      st->pad.value = static_cast<int8_t>(state->pad.value);
      return true;
    case tflite::kAdd: {
      if (v.inputs().size() != 2 || state->add.broadcast != 0) return false;
      const int32_t a = v.inputs()[0], b = v.inputs()[1];
      if ((a == streamed) == (b == streamed)) return false;  // exactly one streamed operand
      *other = a == streamed ? b : a;
      const Dims od = ToDims(s.tensor(*other));
      if (s.tensor(*other).type != tflite::kInt8 || od.n != st->output_dims.n ||
          od.h != st->output_dims.h || od.w != st->output_dims.w || od.c != st->output_dims.c) {
        return false;
      }
      st->op = StreamOp::kAdd;
      st->add = &state->add.params;
      st->operand.other = reinterpret_cast<const int8_t*>(s.data(*other));
      st->operand.stream_is_input1 = a == streamed;
      return true;
    }
    default:
      return false;
  }
}

// All stages of a chain, or false with the reason in *why. `verify` adds the storage and
// exclusivity checks (done once when the program is loaded, not on every run).
bool BuildChain(const Session& s, int32_t first, int32_t count, bool verify, StreamStage* stages,
                const char** why) {
  int32_t streamed = s.subgraph().op(static_cast<uint32_t>(first)).inputs().size() > 0
                         ? s.subgraph().op(static_cast<uint32_t>(first)).inputs()[0]
                         : -1;
  if (verify && !Readable(s, streamed) && !IsSourceFedInput(s, streamed)) {
    *why = "the chain input has no storage";
    return false;
  }
  for (int32_t k = 0; k < count; ++k) {
    const int32_t op = first + k;
    int32_t other = -1;
    if (!BuildStage(s, op, streamed, &stages[k], &other)) {
      *why = "an op cannot be streamed (kind, operands or shapes)";
      return false;
    }
    if (k == 0 && stages[k].op == StreamOp::kAdd) {
      *why = "a chain cannot start with ADD";
      return false;
    }
    if (!verify) {
      streamed = s.subgraph().op(static_cast<uint32_t>(op)).outputs()[0];
      continue;
    }
    if (other >= 0 && !Readable(s, other)) {
      *why = "an ADD operand outside the chain has no storage";
      return false;
    }
    const int32_t out = s.subgraph().op(static_cast<uint32_t>(op)).outputs()[0];
    if (k + 1 < count && !ExclusiveLink(s, out, op, op + 1)) {
      *why = "a tensor inside the chain is used outside it";
      return false;
    }
    if (k + 1 == count && !Writable(s, out)) {
      *why = "the chain output has no arena storage";
      return false;
    }
    streamed = out;
  }
  if (verify && !RowStreamCheck(stages, count)) {
    *why = "the ops' shapes do not form a row-streamable chain";
    return false;
  }
  return true;
}

}  // namespace

bool IsStreamIntermediate(const Session& s, int32_t tensor) {
  const ProgramHeader& h = s.program().header();
  int32_t cursor = 0;
  Instruction ins;
  for (int32_t n = 0; n < h.n_forward && s.program().Next(&cursor, &ins); ++n) {
    int32_t first = 0, count = 0;
    if (!ChainRange(s, ins, &first, &count)) continue;
    for (int32_t op = first; op + 1 < first + count; ++op) {
      const OperatorView v = s.subgraph().op(static_cast<uint32_t>(op));
      if (v.outputs().size() == 1 && v.outputs()[0] == tensor) {
        return ExclusiveLink(s, tensor, op, op + 1);
      }
    }
  }
  return false;
}

Status CheckStreamChain(const Session& s, const Instruction& ins, ErrorMessage* err) {
  int32_t first = 0, count = 0;
  TT_ENSURE(err, ChainRange(s, ins, &first, &count), Status::kInvalidModel,
            "training program: STREAM_CHAIN needs a first op, 2..%ld ops inside the subgraph and "
            "a scratch tensor", static_cast<long>(kMaxStreamStages));
  StreamStage stages[kMaxStreamStages];
  const char* why = "";
  TT_ENSURE(err, BuildChain(s, first, count, true, stages, &why), Status::kInvalidModel,
            "training program: STREAM_CHAIN of ops %ld..%ld: %s", static_cast<long>(first),
            static_cast<long>(first + count - 1), why);
  const ProgramHeader& h = s.program().header();
  const int32_t scratch = ins.args[2];
  TT_ENSURE(err, scratch >= h.n_model_tensors && scratch < h.n_model_tensors + h.n_extra,
            Status::kInvalidModel, "training program: STREAM_CHAIN scratch %ld is not an extra "
            "tensor", static_cast<long>(scratch));
  const ExtraTensorInfo e = s.program().extra(scratch - h.n_model_tensors);
  const int32_t head_input = s.subgraph().op(static_cast<uint32_t>(first)).inputs()[0];
  const bool fed = IsSourceFedInput(s, head_input);
  const int64_t needed = int64_t{RowStreamBufferSize(stages, count)} +
                         (fed ? RowStreamSourceWindowBytes(stages[0]) : 0);
  TT_ENSURE(err, e.dtype == DType::kInt8 && e.elements >= needed, Status::kInvalidModel,
            "training program: STREAM_CHAIN of ops %ld..%ld needs %ld bytes of int8 row "
            "windows, the plan gives %ld", static_cast<long>(first),
            static_cast<long>(first + count - 1), static_cast<long>(needed),
            static_cast<long>(e.elements));
  return Status::kOk;
}

bool ForwardTensorsStored(const Session& s, int32_t op) {
  const OperatorView v = s.subgraph().op(static_cast<uint32_t>(op));
  for (uint32_t k = 0; k < v.inputs().size(); ++k) {
    if (v.inputs()[k] >= 0 && !Readable(s, v.inputs()[k]) && !s.FoldedShapeInput(v, k)) {
      return false;
    }
  }
  for (uint32_t k = 0; k < v.outputs().size(); ++k) {
    if (!Writable(s, v.outputs()[k])) return false;
  }
  return true;
}

bool OpInputReadable(const Session& s, int32_t op, int32_t input) {
  const OperatorView v = s.subgraph().op(static_cast<uint32_t>(op));
  return input >= 0 && static_cast<uint32_t>(input) < v.inputs().size() &&
         Readable(s, v.inputs()[input]);
}

bool IsSourceFedInput(const Session& s, int32_t tensor) {
  const ProgramHeader& h = s.program().header();
  if ((h.flags & kFlagInputSource) == 0 || tensor != h.input_tensor || tensor < 0 ||
      s.program().model_offset(tensor) >= 0) {
    return false;
  }
  int32_t reader = -1, reads = 0;
  for (uint32_t i = 0; i < s.subgraph().num_operators(); ++i) {
    const fb::ScalarArray<int32_t> ins = s.subgraph().op(i).inputs();
    for (uint32_t k = 0; k < ins.size(); ++k) {
      if (ins[k] != tensor) continue;
      ++reads;
      reader = k == 0 ? static_cast<int32_t>(i) : -1;
    }
  }
  if (reads != 1 || reader < 0) return false;
  int32_t cursor = 0;
  Instruction ins;
  for (int32_t n = 0; n < h.n_forward && s.program().Next(&cursor, &ins); ++n) {
    int32_t first = 0, count = 0;
    if (ChainRange(s, ins, &first, &count) && first == reader) return true;
  }
  return false;
}

Status CheckInputSourceFlag(const Session& s, ErrorMessage* err) {
  const ProgramHeader& h = s.program().header();
  if ((h.flags & kFlagInputSource) == 0) return Status::kOk;
  TT_ENSURE(err, IsSourceFedInput(s, h.input_tensor), Status::kInvalidModel,
            "training program: flag INPUT_SOURCE needs input tensor %ld without arena storage "
            "and read only by the first op of a STREAM_CHAIN", static_cast<long>(h.input_tensor));
  return Status::kOk;
}

namespace {

// The kernel's RowSource over the session's input source; keeps the first failure.
struct SourceRead {
  const Session* session;
  ErrorMessage* err;
  int32_t row_bytes;
  Status status;
};

bool ReadSourceRows(void* user, int32_t first, int32_t count, int8_t* dest) {
  SourceRead& r = *static_cast<SourceRead*>(user);
  if (r.status != Status::kOk) return false;  // the first failure's reason stays
  const Session::InputSource& source = r.session->input_source();
  r.status = source.read(source.context, first, count, dest, r.row_bytes, r.err);
  return r.status == Status::kOk;
}

// The chain with its kernels' scratch on the stack, where the plan gives only the windows (the
// converter plans the scratch in the arena where that does not raise the arena). Not inlined,
// so that the buffer is on the stack only then.
__attribute__((noinline)) bool RowStreamWithStackScratch(const StreamStage* stages,
                                                         int32_t count, const int8_t* input,
                                                         int8_t* output, int8_t* scratch,
                                                         const RowSource* source) {
  constexpr int32_t kBytes = kConvInt8RowsMaxBufferSize > kDepthwiseConvInt8MaxBufferSize
                                 ? kConvInt8RowsMaxBufferSize
                                 : kDepthwiseConvInt8MaxBufferSize;
  alignas(8) int8_t kernel_scratch[kBytes];
  return RowStreamInt8(stages, count, input, output, scratch, source, kernel_scratch);
}

}  // namespace

Status RunStreamChain(const Session& s, const Instruction& ins, ErrorMessage* err) {
  int32_t first = 0, count = 0;
  StreamStage stages[kMaxStreamStages];
  const char* why = "";
  TT_ENSURE(err, ChainRange(s, ins, &first, &count) &&
                     BuildChain(s, first, count, false, stages, &why),
            Status::kInternal, "STREAM_CHAIN: the checked chain no longer builds");
  const OperatorView head = s.subgraph().op(static_cast<uint32_t>(first));
  const OperatorView tail = s.subgraph().op(static_cast<uint32_t>(first + count - 1));
  const bool fed = IsSourceFedInput(s, head.inputs()[0]);
  SourceRead read{&s, err, stages[0].input_dims.w * stages[0].input_dims.c, Status::kOk};
  const RowSource source{ReadSourceRows, &read};
  const RowSource* const from = fed ? &source : nullptr;
  const int8_t* input = fed ? nullptr : reinterpret_cast<const int8_t*>(s.data(head.inputs()[0]));
  int8_t* output = reinterpret_cast<int8_t*>(s.data(tail.outputs()[0]));
  int8_t* scratch = reinterpret_cast<int8_t*>(s.data(ins.args[2]));
  const int64_t planned = ExtraElements(s.program(), ins.args[2]);
  int32_t kernel_offset = 0;
  const int32_t full = RowStreamScratchBytes(stages, count, fed, &kernel_offset);
  // planned >= full also when the kernels need no scratch (full is then the windows)
  const bool ok =
      planned >= full ? RowStreamInt8(stages, count, input, output, scratch, from,
                                      scratch + kernel_offset)
                      : RowStreamWithStackScratch(stages, count, input, output, scratch, from);
  TT_RETURN_IF_ERROR(read.status);
  TT_ENSURE(err, ok, Status::kInternal,
            "STREAM_CHAIN of ops %ld..: a pooling window had no input element",
            static_cast<long>(first));
  return Status::kOk;
}

}  // namespace tflm_train
