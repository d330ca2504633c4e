// STREAM_CHAIN: frozen forward ops row by row (tflm_train/runtime/stream_chain.h).
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_STREAM_CHAIN_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_STREAM_CHAIN_H_

#include "tflm_train/runtime/instruction.h"
#include "tflm_train/runtime/stream_chain.h"

namespace tflm_train {

struct StreamChainInstruction {
  static Status Check(const CheckContext& c, const Instruction& ins) {
    if (!c.in_forward()) return InstructionMismatch(c, ins);
    return CheckStreamChain(*c.session, ins, c.err);
  }
  static Status Run(const RunContext& r, const Instruction& ins) {
    return RunStreamChain(*r.session, ins, r.err);
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_STREAM_CHAIN_H_
