// TRANSPOSE int8: a constant permutation of up to 5 dimensions (TFLM's Prepare limits), bytes
// moved unchanged. Also the first op of NCHW (PyTorch-style) models.
#include "kernels/transpose.h"
#include "kernels/training/transpose_grad.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const long op = ctx.index;
  TT_ENSURE(err, ctx.op.inputs().size() == 2 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (TRANSPOSE): needs input, perm and 1 output", op);
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  TT_RETURN_IF_ERROR(CheckInt8Operand(in, "TRANSPOSE", "input", ctx.index, err));
  TT_RETURN_IF_ERROR(CheckInt8Operand(out, "TRANSPOSE", "output", ctx.index, err));
  const int32_t rank = static_cast<int32_t>(in.shape.size());
  TT_ENSURE(err, rank >= 1 && rank <= kTransposeMaxDims && out.shape.size() == in.shape.size(),
            Status::kUnsupported,
            "op %ld (TRANSPOSE): input and output must have the same rank, 1 to 5", op);
  TT_ENSURE(err, ctx.input_id(1) >= 0 && IsConstantInput(ctx, 1), Status::kUnsupported,
            "op %ld (TRANSPOSE): perm must be constant data in the model", op);
  TT_RETURN_IF_ERROR(CheckConstant(*ctx.session, ctx.input_id(1), tflite::kInt32, rank,
                                   "perm (int32, one per dimension)", ctx.index, err));
  const int32_t* perm = reinterpret_cast<const int32_t*>(ctx.input_data(1));
  TransposeState& s = ctx.state->transpose;
  s.rank = rank;
  int32_t seen = 0;
  for (int32_t d = 0; d < rank; ++d) {
    TT_ENSURE(err, perm[d] >= 0 && perm[d] < rank && (seen & (1 << perm[d])) == 0,
              Status::kInvalidModel, "op %ld (TRANSPOSE): perm is not a permutation of 0..%ld",
              op, static_cast<long>(rank - 1));
    seen |= 1 << perm[d];
    s.perm[d] = perm[d];
    s.input_shape[d] = in.shape[d];
  }
  for (int32_t d = 0; d < rank; ++d) {
    TT_ENSURE(err, out.shape[d] == in.shape[perm[d]], Status::kInvalidModel,
              "op %ld (TRANSPOSE): output dimension %ld is %ld, the permuted input has %ld", op,
              static_cast<long>(d), static_cast<long>(out.shape[d]),
              static_cast<long>(in.shape[perm[d]]));
  }
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const TransposeState& s = ctx.state->transpose;
  TransposeInt8(s.rank, s.input_shape, s.perm, reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

void InputGrad(const OpContext& ctx, const float* grad_out, const float*, float* grad_in) {
  const TransposeState& s = ctx.state->transpose;
  TransposeGrad(s.rank, s.input_shape, s.perm, grad_out, grad_in);
}

}  // namespace

extern const OpRegistration kTransposeRegistration = {
    tflite::kTranspose, "TRANSPOSE", Prepare, Eval, InputGrad, nullptr, nullptr, nullptr};

}  // namespace tflm_train
