// MEAN_HEAD_BACKWARD: the backward of a CONV_2D whose output only feeds a spatial MEAN, by
// groups of output channels (head_backward.cc).
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_MEAN_HEAD_BACKWARD_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_MEAN_HEAD_BACKWARD_H_

#include "tflm_train/runtime/fused_backward.h"
#include "tflm_train/runtime/instruction.h"
#include "tflm_train/runtime/stream_chain.h"

namespace tflm_train {

struct MeanHeadBackwardInstruction {
  using A = MeanHeadBackwardArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const char* const kName = "MEAN_HEAD_BACKWARD";  // for the message
    const int32_t* a = ins.args;
    const int32_t conv = a[A::kConv], g_in = a[A::kGIn], temp = a[A::kTemp];
    if (!(IsBackward<A>(c, ins) && IsOpOf(c, conv, tflite::kConv2D))) {
      return InstructionMismatch(c, ins, kName);
    }
    const OpContext ctx = c.op(conv);
    const Dims out_d = ToDims(ctx.output(0)), f_d = ToDims(ctx.input(1));
    const int64_t positions = int64_t{out_d.n} * out_d.h * out_d.w;
    const int64_t in_elements = Elements(ctx.input(0));
    const bool weights = TrainsWeights(c, a[A::kLayer]);
    // the group buffer holds whole output channels at every position
    const bool ok =
        ExtraFloat(*c.program, a[A::kGMean], int64_t{out_d.n} * out_d.c) &&
        ExtraFloat(*c.program, a[A::kGroup], positions) &&
        (a[A::kMask] == -1 || ExtraBits(*c.program, a[A::kMask], positions * out_d.c)) &&
        (g_in == -1 || ExtraFloat(*c.program, g_in, in_elements)) &&
        (!weights || ExtraFloat(*c.program, temp, int64_t{f_d.h} * f_d.w * f_d.c)) &&
        (g_in == -1 || InFloatPool(c, a[A::kScales], out_d.c)) &&
        OptionalLayerFits(c, a[A::kLayer], conv) &&
        (!weights || OpInputReadable(*c.session, conv, 0)) && out_d.c == f_d.n;
    return ok ? Status::kOk : InstructionMismatch(c, ins, kName);
  }
  static Status Run(const RunContext& r, const Instruction& ins) {
    MeanHeadBackward(r.optimizer, ins.args);
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_MEAN_HEAD_BACKWARD_H_
