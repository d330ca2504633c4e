// DEPTHWISE_GRAD_IN_PLACE: a same-shape depthwise conv's input gradient written over its output
// gradient, by channel groups through a scratch.
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_DEPTHWISE_GRAD_IN_PLACE_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_DEPTHWISE_GRAD_IN_PLACE_H_

#include "kernels/training/depthwise_conv_grad.h"
#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

struct DepthwiseGradInPlaceInstruction {
  using A = DepthwiseGradInPlaceArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const int32_t* a = ins.args;
    const int32_t group = a[A::kChannelGroup];
    bool ok = IsBackward<A>(c, ins) && IsOpOf(c, a[A::kOp], tflite::kDepthwiseConv2D) &&
              group > 0;
    if (ok) {
      const OpContext ctx = c.op(a[A::kOp]);
      const Dims in_d = ToDims(ctx.input(0)), out_d = ToDims(ctx.output(0));
      const Dims f_d = ToDims(ctx.input(1));
      ok = in_d.n == out_d.n && in_d.h == out_d.h && in_d.w == out_d.w && in_d.c == out_d.c &&
           f_d.c == out_d.c && group <= out_d.c &&
           GradientOf(c, a[A::kGrad], ctx.output_id(0)) &&
           ExtraFloat(*c.program, a[A::kScratch], DepthwiseInPlaceScratchFloats(out_d, group)) &&
           InFloatPool(c, a[A::kWeightScales], out_d.c);
    }
    return ok ? Status::kOk : InstructionMismatch(c, ins);
  }
  // Out of line, as GCC chose before the filter came from Session::depthwise_filter: inlined
  // into the interpreter loop (instruction_table.h) it grew the loop's frame, which every
  // instruction's stack path starts from, by 128 B (M4).
  [[gnu::noinline]] static Status Run(const RunContext& r, const Instruction& ins) {
    const int32_t* a = ins.args;
    const OpContext ctx = r.op(a[A::kOp]);
    DepthwiseConvInputGradInPlace(ctx.state->depthwise, ToDims(ctx.output(0)),
                                  ToDims(ctx.input(1)),
                                  r.session->depthwise_filter(a[A::kOp]),
                                  r.program->FloatPointer(a[A::kWeightScales]),
                                  a[A::kChannelGroup], r.data<float>(a[A::kScratch]),
                                  r.data<float>(a[A::kGrad]));
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_DEPTHWISE_GRAD_IN_PLACE_H_
