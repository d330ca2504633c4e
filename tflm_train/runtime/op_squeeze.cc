// SQUEEZE int8: drops dimensions of size 1, same bytes. Like RESHAPE, the converter shares the
// gradient buffer across it, so it needs no backward hook.
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const long op = ctx.index;
  TT_ENSURE(err, ctx.op.inputs().size() == 1 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (SQUEEZE): needs 1 input and 1 output", op);
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  TT_RETURN_IF_ERROR(CheckInt8Operand(in, "SQUEEZE", "input", ctx.index, err));
  TT_RETURN_IF_ERROR(CheckInt8Operand(out, "SQUEEZE", "output", ctx.index, err));
  SqueezeOptions o;
  TT_ENSURE(err, ctx.op.GetOptions(&o), Status::kInvalidModel,
            "op %ld (SQUEEZE): options of another op", op);
  const int32_t rank = static_cast<int32_t>(in.shape.size());
  TT_ENSURE(err, rank <= 8, Status::kUnsupported, "op %ld (SQUEEZE): more than 8 dimensions",
            op);
  bool squeeze[8] = {};
  for (uint32_t k = 0; k < o.squeeze_dims.size(); ++k) {
    const int32_t d = o.squeeze_dims[k] < 0 ? o.squeeze_dims[k] + rank : o.squeeze_dims[k];
    TT_ENSURE(err, d >= 0 && d < rank && in.shape[d] == 1, Status::kInvalidModel,
              "op %ld (SQUEEZE): squeeze dimension %ld is not an input dimension of size 1", op,
              static_cast<long>(o.squeeze_dims[k]));
    squeeze[d] = true;
  }
  // The output keeps the other dimensions in order (all dimensions of size 1 go when no
  // dimension is named).
  uint32_t out_d = 0;
  for (int32_t d = 0; d < rank; ++d) {
    const bool drop = o.squeeze_dims.size() == 0 ? in.shape[d] == 1 : squeeze[d];
    if (drop) continue;
    TT_ENSURE(err, out_d < out.shape.size() && out.shape[out_d] == in.shape[d],
              Status::kInvalidModel, "op %ld (SQUEEZE): output shape does not match", op);
    ++out_d;
  }
  TT_ENSURE(err, out_d == out.shape.size(), Status::kInvalidModel,
            "op %ld (SQUEEZE): output shape does not match", op);
  return Status::kOk;
}

}  // namespace

extern const OpRegistration kSqueezeRegistration = {
    tflite::kSqueeze, "SQUEEZE", Prepare, EvalSameBytes, nullptr, nullptr, nullptr, nullptr};

}  // namespace tflm_train
