// BOTTLENECK_BACKWARD: an inverted-bottleneck block's backward (1x1 expand conv X -> depthwise
// D -> 1x1 project conv P) by groups of expanded channels (block_backward.cc).
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_BOTTLENECK_BACKWARD_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_BOTTLENECK_BACKWARD_H_

#include "kernels/training/conv_grad.h"
#include "tflm_train/runtime/fused_backward.h"
#include "tflm_train/runtime/instruction.h"
#include "tflm_train/runtime/stream_chain.h"

namespace tflm_train {

struct BottleneckBackwardInstruction {
  using A = BottleneckBackwardArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const Session& s = *c.session;
    const Program& program = *c.program;
    const ProgramHeader& h = c.header();
    const int32_t* a = ins.args;
    auto code = [&](int32_t op) { return s.op_state(op)->registration->builtin_code; };
    bool ok = ins.num_args == A::kCount && !c.in_forward();
    for (int32_t i = 0; ok && i < 3; ++i) ok = IsOp(program, a[i]);
    ok = ok && code(a[0]) == tflite::kConv2D && code(a[1]) == tflite::kDepthwiseConv2D &&
         code(a[2]) == tflite::kConv2D && a[8] > 0 && a[11] >= -1 && a[11] < h.n_layers &&
         a[12] >= -1 && a[12] < h.n_layers;
    if (ok) {
      const OperatorView p = s.subgraph().op(static_cast<uint32_t>(a[0]));
      const OperatorView d = s.subgraph().op(static_cast<uint32_t>(a[1]));
      const OperatorView x = s.subgraph().op(static_cast<uint32_t>(a[2]));
      const Dims p_in = ToDims(s.tensor(p.inputs()[0])), p_out = ToDims(s.tensor(p.outputs()[0]));
      const Dims p_f = ToDims(s.tensor(p.inputs()[1]));
      const Dims e2 = ToDims(s.tensor(d.outputs()[0])), e1 = ToDims(s.tensor(d.inputs()[0]));
      const Dims d_f = ToDims(s.tensor(d.inputs()[1]));
      const Dims x_in = ToDims(s.tensor(x.inputs()[0])), x_f = ToDims(s.tensor(x.inputs()[1]));
      const ConvParams& pp = s.op_state(a[0])->conv;
      const int64_t pos2 = int64_t{e2.n} * e2.h * e2.w, pos1 = int64_t{e1.n} * e1.h * e1.w;
      const int64_t channels = e2.c, group = a[8];
      const bool x_weights = a[12] >= 0 && program.layer(a[12]).weight_channels > 0;
      const bool d_weights = a[11] >= 0 && program.layer(a[11]).weight_channels > 0;
      const int64_t x_scratch = int64_t{x_f.h} * x_f.w * x_f.c;
      const int64_t x_in_elements = int64_t{x_in.n} * x_in.h * x_in.w * x_in.c;
      // later groups add their input-gradient share straight into g_x, or sum it through temp
      const bool x_adds = ConvInputGradAdds(s.op_state(a[2])->conv, x_f, x_in, e1);
      ok = p.inputs()[0] == d.outputs()[0] && d.inputs()[0] == x.outputs()[0] &&
           p_f.h == 1 && p_f.w == 1 && pp.stride.h == 1 && pp.stride.w == 1 &&
           p_in.h == p_out.h && p_in.w == p_out.w && p_f.c == channels && e1.c == channels &&
           d_f.c == channels && x_f.n == channels && group <= channels &&
           ExtraTensorFits(program, a[3], DType::kFloat32, pos2 * p_out.c) &&
           (a[4] == -1 || (ExtraTensorFits(program, a[4], DType::kFloat32, x_in_elements) &&
                           (group >= channels || x_adds ||
                            ExtraTensorFits(program, a[7], DType::kFloat32, x_in_elements)))) &&
           ExtraTensorFits(program, a[5], DType::kFloat32, pos2 * group) &&
           ExtraTensorFits(program, a[6], DType::kFloat32, pos1 * group) &&
           (!x_weights || (a[7] >= 0 && ExtraFloat(program, a[7], x_scratch) &&
                           OpInputReadable(s, a[2], 0))) &&
           (a[9] == -1 || ExtraBits(program, a[9], pos2 * channels)) &&
           (a[10] == -1 || ExtraBits(program, a[10], pos1 * channels)) &&
           (a[11] == -1 || LayerFits(s, a[11], a[1], program.layer(a[11]).update_bias != 0)) &&
           (!d_weights || (a[7] >= 0 && OpInputReadable(s, a[1], 0) &&
                           ExtraTensorFits(program, a[7], DType::kFloat32,
                                    (pos1 * group + 3) / 4 + int64_t{d_f.h} * d_f.w))) &&
           (a[12] == -1 || LayerFits(s, a[12], a[2], program.layer(a[12]).update_bias != 0)) &&
           a[13] >= 0 && a[13] + p_out.c <= h.n_floats && a[14] >= 0 &&
           a[14] + channels <= h.n_floats &&
           (a[4] == -1 || (a[15] >= 0 && a[15] + channels <= h.n_floats));
    }
    TT_ENSURE(c.err, ok, Status::kInvalidModel,
              "training program: instruction %ld (BOTTLENECK_BACKWARD) does not match the model",
              static_cast<long>(c.index));
    return Status::kOk;
  }
  static Status Run(const RunContext& r, const Instruction& ins) {
    BottleneckBackward(r.optimizer, ins.args);
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_BOTTLENECK_BACKWARD_H_
