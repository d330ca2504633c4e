#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

Status InstructionMismatch(const CheckContext& c, const Instruction& ins, const char* name) {
  if (name != nullptr) {
    return c.err->Set(Status::kInvalidModel,
                      "training program: instruction %ld (%s) does not match the model",
                      static_cast<long>(c.index), name);
  }
  return c.err->Set(Status::kInvalidModel,
                    "training program: instruction %ld (opcode %ld) does not match the model",
                    static_cast<long>(c.index), static_cast<long>(ins.opcode));
}

bool ExtraTensorFits(const Program& program, int32_t t, DType type, int64_t elements) {
  const ProgramHeader& h = program.header();
  if (t < h.n_model_tensors || t >= h.n_model_tensors + h.n_extra) return false;
  const ExtraTensorInfo e = program.extra(t - h.n_model_tensors);
  return e.dtype == type && e.elements >= elements;
}

int32_t SavedChannelsOf(const Program& program, int32_t src, int32_t* channels) {
  int32_t cursor = 0;
  Instruction ins;
  for (int32_t n = 0; n < program.header().n_forward && program.Next(&cursor, &ins); ++n) {
    using A = SaveChannelsArgs;
    if (ins.opcode == Opcode::kSaveChannels && ins.num_args == A::kCount &&
        ins.args[A::kSrc] == src) {
      *channels = ins.args[A::kChannels];
      return ins.args[A::kDst];
    }
  }
  return -1;
}

int64_t ModelElements(const Session& session, int32_t t) {
  if (!IsModelTensor(session.program(), t)) return -1;
  return session.model_tensor_bytes(t);  // int8 tensors: bytes == elements
}

bool LayerFits(const Session& session, int32_t layer, int32_t op_index, bool bias) {
  const Program& program = session.program();
  const ProgramHeader& h = program.header();
  if (layer < 0 || layer >= h.n_layers || !IsOp(program, op_index)) return false;
  const LayerInfo l = program.layer(layer);
  if (l.op_index != op_index) return false;
  const OperatorView op = session.subgraph().op(static_cast<uint32_t>(op_index));
  OpContext ctx{const_cast<Session*>(&session), op_index, op, session.op_state(op_index),
                session.op_channel_data(op_index)};
  const OpRegistration* reg = ctx.state->registration;
  const int64_t out_elements = session.model_tensor_bytes(op.outputs()[0]);
  bool ok = reg->weight_grad != nullptr && op.inputs().size() > 1 &&
            l.weight_tensor == op.inputs()[1] && out_elements > 0 &&
            out_elements % l.out_channels == 0 &&
            reg->weight_slice(ctx, 0).channels == l.out_channels;
  if (bias) {
    ok = ok && l.bias_tensor >= 0 && op.inputs().size() > 2 && l.bias_tensor == op.inputs()[2] &&
         session.model_tensor_bytes(l.bias_tensor) == 4 * int64_t{l.out_channels};
  }
  return ok;
}

}  // namespace tflm_train
