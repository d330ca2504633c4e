// MEAN_HEAD_FORWARD: a CONV_2D and the spatial MEAN that alone reads its output, run by groups
// of output channels so the conv output never exists whole (head_forward.cc).
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_MEAN_HEAD_FORWARD_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_MEAN_HEAD_FORWARD_H_

#include "tflm_train/runtime/fused_backward.h"
#include "tflm_train/runtime/instruction.h"
#include "tflm_train/runtime/stream_chain.h"

namespace tflm_train {

struct MeanHeadForwardInstruction {
  using A = MeanHeadForwardArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const char* const kName = "MEAN_HEAD_FORWARD";  // for the message
    const int32_t* a = ins.args;
    const int32_t conv = a[A::kConv], mean = a[A::kMean];
    if (!(IsForward<A>(c, ins) && IsOpOf(c, conv, tflite::kConv2D) &&
          IsOpOf(c, mean, tflite::kMean))) {
      return InstructionMismatch(c, ins, kName);
    }
    const OpContext cc = c.op(conv), mc = c.op(mean);
    const Dims out_d = ToDims(cc.output(0));
    const int64_t positions = int64_t{out_d.n} * out_d.h * out_d.w;
    const int64_t group = ExtraElements(*c.program, a[A::kGroup]);
    const bool ok =
        // the MEAN reads the conv output and nothing is planned for it: the groups replace it
        mc.input_id(0) == cc.output_id(0) && out_d.n == 1 &&
        c.program->model_offset(cc.output_id(0)) == -1 &&
        OpInputReadable(*c.session, conv, 0) && IsInt8ModelTensor(c, mc.output_id(0)) &&
        c.program->model_offset(mc.output_id(0)) >= 0 &&
        // whole channels at every position
        ExtraTensorFits(*c.program, a[A::kGroup], DType::kInt8, positions) &&
        group % positions == 0 &&
        (a[A::kMask] == -1 || MaskOf(c, a[A::kMask], cc.output_id(0)));
    return ok ? Status::kOk : InstructionMismatch(c, ins, kName);
  }
  static Status Run(const RunContext& r, const Instruction& ins) {
    MeanHeadForward(r.session, ins.args, r.options() != nullptr);
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_MEAN_HEAD_FORWARD_H_
