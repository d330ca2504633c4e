// FORWARD: one subgraph-0 op, whole tensors (its registration's eval).
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_FORWARD_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_FORWARD_H_

#include "tflm_train/runtime/instruction.h"
#include "tflm_train/runtime/stream_chain.h"

namespace tflm_train {

struct ForwardInstruction {
  using A = ForwardArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const int32_t* a = ins.args;
    const bool ok = IsForward<A>(c, ins) && IsOp(*c.program, a[A::kOp]) &&
                    ForwardTensorsStored(*c.session, a[A::kOp]);
    return ok ? Status::kOk : InstructionMismatch(c, ins);
  }
  static Status Run(const RunContext& r, const Instruction& ins) {
    const OpContext ctx = r.op(ins.args[A::kOp]);
    ctx.state->registration->eval(ctx);
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_FORWARD_H_
