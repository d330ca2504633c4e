// The instruction table: opcode -> {Check, Run} of the kind in instructions/<name>.h, expanded
// from the generated opcode list (TT_PROGRAM_OPCODES), so an opcode without a kind does not
// compile. Run functions are inline and reached through one switch, the way the session's
// interpreter loop reached them before they had their own files: a table of function pointers
// would add a call to every executed instruction and change the boards' instruction counts.
// Included once, by session.cc.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTION_TABLE_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTION_TABLE_H_

#include "tflm_train/runtime/instruction.h"
#include "tflm_train/runtime/instructions/activation_grad.h"
#include "tflm_train/runtime/instructions/bias_update.h"
#include "tflm_train/runtime/instructions/bottleneck_backward.h"
#include "tflm_train/runtime/instructions/depthwise_grad_in_place.h"
#include "tflm_train/runtime/instructions/forward.h"
#include "tflm_train/runtime/instructions/grad_accumulate.h"
#include "tflm_train/runtime/instructions/grad_copy.h"
#include "tflm_train/runtime/instructions/input_grad.h"
#include "tflm_train/runtime/instructions/input_grad_at.h"
#include "tflm_train/runtime/instructions/loss_logits_ce.h"
#include "tflm_train/runtime/instructions/loss_mse.h"
#include "tflm_train/runtime/instructions/loss_softmax_ce.h"
#include "tflm_train/runtime/instructions/mask_grad.h"
#include "tflm_train/runtime/instructions/mean_head_backward.h"
#include "tflm_train/runtime/instructions/mean_head_forward.h"
#include "tflm_train/runtime/instructions/save_channels.h"
#include "tflm_train/runtime/instructions/save_mask.h"
#include "tflm_train/runtime/instructions/stream_chain.h"
#include "tflm_train/runtime/instructions/weight_update.h"

namespace tflm_train {

// Verifies one instruction against the model and the prepared ops (at Open).
inline Status CheckInstruction(const CheckContext& c, const Instruction& ins) {
  switch (ins.opcode) {
#define TT_CHECK_CASE(Name) \
  case Opcode::k##Name:     \
    return Name##Instruction::Check(c, ins);
    TT_PROGRAM_OPCODES(TT_CHECK_CASE)
#undef TT_CHECK_CASE
  }
  return InstructionMismatch(c, ins);  // an opcode this runtime does not know
}

// Runs one checked instruction. Forced inline: as an out-of-line function it cost every
// executed instruction a call and the context's loads (~15 instructions per FORWARD on the M4).
[[gnu::always_inline]] inline Status RunInstruction(const RunContext& r, const Instruction& ins) {
  switch (ins.opcode) {
#define TT_RUN_CASE(Name) \
  case Opcode::k##Name:   \
    return Name##Instruction::Run(r, ins);
    TT_PROGRAM_OPCODES(TT_RUN_CASE)
#undef TT_RUN_CASE
  }
  return Status::kOk;
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTION_TABLE_H_
