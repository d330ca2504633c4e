// EXPAND_DIMS int8: inserts a dimension of size 1 at a constant axis, same bytes. Like RESHAPE,
// the converter shares the gradient buffer across it, so it needs no backward hook.
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const long op = ctx.index;
  TT_ENSURE(err, ctx.op.inputs().size() == 2 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (EXPAND_DIMS): needs input, axis and 1 output", op);
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  TT_RETURN_IF_ERROR(CheckInt8Operand(in, "EXPAND_DIMS", "input", ctx.index, err));
  TT_RETURN_IF_ERROR(CheckInt8Operand(out, "EXPAND_DIMS", "output", ctx.index, err));
  TT_ENSURE(err, ctx.input_id(1) >= 0 && IsConstantInput(ctx, 1), Status::kUnsupported,
            "op %ld (EXPAND_DIMS): axis must be constant data in the model", op);
  TT_RETURN_IF_ERROR(CheckConstant(*ctx.session, ctx.input_id(1), tflite::kInt32, 1,
                                   "axis (one int32)", ctx.index, err));
  TT_ENSURE(err, ctx.input(1).shape.size() <= 1, Status::kInvalidModel,
            "op %ld (EXPAND_DIMS): axis must be a scalar or have one element", op);
  const int32_t rank = static_cast<int32_t>(in.shape.size());
  int32_t axis = *reinterpret_cast<const int32_t*>(ctx.input_data(1));
  if (axis < 0) axis += rank + 1;
  TT_ENSURE(err, axis >= 0 && axis <= rank, Status::kInvalidModel,
            "op %ld (EXPAND_DIMS): axis is outside the input's %ld dimensions", op,
            static_cast<long>(rank));
  TT_ENSURE(err, static_cast<int32_t>(out.shape.size()) == rank + 1, Status::kInvalidModel,
            "op %ld (EXPAND_DIMS): output rank must be the input's plus 1", op);
  for (int32_t d = 0; d <= rank; ++d) {
    const int32_t expected = d < axis ? in.shape[d] : (d == axis ? 1 : in.shape[d - 1]);
    TT_ENSURE(err, out.shape[d] == expected, Status::kInvalidModel,
              "op %ld (EXPAND_DIMS): output dimension %ld is %ld, expected %ld", op,
              static_cast<long>(d), static_cast<long>(out.shape[d]),
              static_cast<long>(expected));
  }
  return Status::kOk;
}

}  // namespace

extern const OpRegistration kExpandDimsRegistration = {
    tflite::kExpandDims, "EXPAND_DIMS", Prepare, EvalSameBytes, nullptr, nullptr, nullptr, nullptr};

}  // namespace tflm_train
