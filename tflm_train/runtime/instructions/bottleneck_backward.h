// BOTTLENECK_BACKWARD: an inverted-bottleneck block's backward (1x1 expand conv X -> depthwise
// D -> 1x1 project conv P) by groups of expanded channels (block_backward.cc).
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_BOTTLENECK_BACKWARD_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_BOTTLENECK_BACKWARD_H_

#include "tflm_train/runtime/fused_backward.h"
#include "tflm_train/runtime/instruction.h"
#include "tflm_train/runtime/stream_chain.h"

namespace tflm_train {

struct BottleneckBackwardInstruction {
  using A = BottleneckBackwardArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const char* const kName = "BOTTLENECK_BACKWARD";  // for the message
    const Session& s = *c.session;
    const Program& program = *c.program;
    const int32_t* a = ins.args;
    const int32_t g_x = a[A::kGX], temp = a[A::kTemp];
    const int32_t layer_d = a[A::kLayerD], layer_x = a[A::kLayerX];
    if (!(IsBackward<A>(c, ins) && IsOpOf(c, a[A::kP], tflite::kConv2D) &&
          IsOpOf(c, a[A::kD], tflite::kDepthwiseConv2D) && IsOpOf(c, a[A::kX], tflite::kConv2D) &&
          a[A::kGroup] > 0)) {
      return InstructionMismatch(c, ins, kName);
    }
    const OpContext p = c.op(a[A::kP]), d = c.op(a[A::kD]), x = c.op(a[A::kX]);
    const Dims p_in = ToDims(p.input(0)), p_out = ToDims(p.output(0)), p_f = ToDims(p.input(1));
    const Dims e2 = ToDims(d.output(0)), e1 = ToDims(d.input(0)), d_f = ToDims(d.input(1));
    const Dims x_in = ToDims(x.input(0)), x_f = ToDims(x.input(1));
    const ConvParams& pp = p.state->conv;
    const int64_t pos2 = int64_t{e2.n} * e2.h * e2.w, pos1 = int64_t{e1.n} * e1.h * e1.w;
    const int64_t channels = e2.c, group = a[A::kGroup];
    const bool x_weights = TrainsWeights(c, layer_x), d_weights = TrainsWeights(c, layer_d);
    // D's filter gradient reads D's input for the channels D trains: the whole input, or those
    // channels saved by a SAVE_CHANNELS in the forward part.
    int32_t saved_channels = 0;
    const bool e1_saved = SavedChannelsOf(program, d.input_id(0), &saved_channels) >= 0;
    const bool e1_readable =
        e1_saved ? d_weights && saved_channels >= program.layer(layer_d).weight_channels
                 : OpInputReadable(s, a[A::kD], 0);
    const int64_t x_scratch = int64_t{x_f.h} * x_f.w * x_f.c;
    const int64_t x_in_elements = int64_t{x_in.n} * x_in.h * x_in.w * x_in.c;
    const bool ok =
        // P <- D <- X in a chain, P a stride-1 1x1 conv, the expanded channels everywhere
        p.input_id(0) == d.output_id(0) && d.input_id(0) == x.output_id(0) && p_f.h == 1 &&
        p_f.w == 1 && pp.stride.h == 1 && pp.stride.w == 1 && p_in.h == p_out.h &&
        p_in.w == p_out.w && p_f.c == channels && e1.c == channels && d_f.c == channels &&
        x_f.n == channels && group <= channels &&
        ExtraFloat(program, a[A::kGOut], pos2 * p_out.c) &&
        (g_x == -1 || ExtraFloat(program, g_x, x_in_elements)) &&
        ExtraFloat(program, a[A::kGradE2], pos2 * group) &&
        ExtraFloat(program, a[A::kGradE1], pos1 * group) &&
        (!x_weights ||
         (temp >= 0 && ExtraFloat(program, temp, x_scratch) && OpInputReadable(s, a[A::kX], 0))) &&
        (a[A::kMaskD] == -1 || ExtraBits(program, a[A::kMaskD], pos2 * channels)) &&
        (a[A::kMaskX] == -1 || ExtraBits(program, a[A::kMaskX], pos1 * channels)) &&
        OptionalLayerFits(c, layer_d, a[A::kD]) &&
        (!d_weights ||
         (temp >= 0 && e1_readable &&
          ExtraFloat(program, temp, (pos1 * group + 3) / 4 + int64_t{d_f.h} * d_f.w))) &&
        OptionalLayerFits(c, layer_x, a[A::kX]) && InFloatPool(c, a[A::kScalesP], p_out.c) &&
        InFloatPool(c, a[A::kScalesD], channels) &&
        (g_x == -1 || InFloatPool(c, a[A::kScalesX], channels));
    return ok ? Status::kOk : InstructionMismatch(c, ins, kName);
  }
  static Status Run(const RunContext& r, const Instruction& ins) {
    BottleneckBackward(r.optimizer, ins.args);
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_BOTTLENECK_BACKWARD_H_
