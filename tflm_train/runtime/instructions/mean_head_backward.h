// MEAN_HEAD_BACKWARD: the backward of a CONV_2D whose output only feeds a spatial MEAN, by
// groups of output channels (head_backward.cc).
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_MEAN_HEAD_BACKWARD_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_MEAN_HEAD_BACKWARD_H_

#include "kernels/training/conv_grad.h"
#include "tflm_train/runtime/fused_backward.h"
#include "tflm_train/runtime/instruction.h"
#include "tflm_train/runtime/stream_chain.h"

namespace tflm_train {

struct MeanHeadBackwardInstruction {
  using A = MeanHeadBackwardArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const Session& s = *c.session;
    const Program& program = *c.program;
    const ProgramHeader& h = c.header();
    const int32_t* a = ins.args;
    bool ok = ins.num_args == A::kCount && !c.in_forward() && IsOp(program, a[0]) &&
              a[6] >= -1 && a[6] < h.n_layers &&
              s.op_state(a[0])->registration->builtin_code == tflite::kConv2D;
    if (ok) {
      const OpContext ctx = c.op(a[0]);
      const Dims out_d = ToDims(ctx.output(0)), f_d = ToDims(ctx.input(1));
      const int64_t positions = int64_t{out_d.n} * out_d.h * out_d.w;
      const int64_t in_elements = Elements(ctx.input(0));
      const bool weights = a[6] >= 0 && program.layer(a[6]).weight_channels > 0;
      const bool group_ok = a[2] >= h.n_model_tensors && a[2] < h.n_model_tensors + h.n_extra;
      const int64_t group =
          group_ok && positions > 0 ? program.extra(a[2] - h.n_model_tensors).elements / positions
                                    : 0;
      ok = ExtraTensorFits(program, a[1], DType::kFloat32, int64_t{out_d.n} * out_d.c) &&
           ExtraTensorFits(program, a[2], DType::kFloat32, positions) &&
           (a[3] == -1 || ExtraBits(program, a[3], positions * out_d.c)) &&
           (a[4] == -1 || ExtraTensorFits(program, a[4], DType::kFloat32, in_elements)) &&
           (!weights || ExtraFloat(program, a[5], int64_t{f_d.h} * f_d.w * f_d.c)) &&
           // groups after the first add their input-gradient share, or sum it through temp
           (a[4] == -1 || group >= out_d.c ||
            ConvInputGradAdds(ctx.state->conv, f_d, ToDims(ctx.input(0)), out_d) ||
            ExtraTensorFits(program, a[5], DType::kFloat32, in_elements)) &&
           (a[4] == -1 || (a[7] >= 0 && a[7] + out_d.c <= h.n_floats)) &&
           (a[6] == -1 || LayerFits(s, a[6], a[0], program.layer(a[6]).update_bias != 0)) &&
           (!weights || OpInputReadable(s, a[0], 0)) && out_d.c == f_d.n;
    }
    TT_ENSURE(c.err, ok, Status::kInvalidModel,
              "training program: instruction %ld (MEAN_HEAD_BACKWARD) does not match the model",
              static_cast<long>(c.index));
    return Status::kOk;
  }
  static Status Run(const RunContext& r, const Instruction& ins) {
    MeanHeadBackward(r.optimizer, ins.args);
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_MEAN_HEAD_BACKWARD_H_
