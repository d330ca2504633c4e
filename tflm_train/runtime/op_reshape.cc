// RESHAPE: same bytes, other shape (the output tensor's, as TFLM: the shape input's values are
// never read, and a chain computing them may be folded at convert time). The converter shares
// the gradient buffer across it, so it needs no backward hook.
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const int32_t op = ctx.index;
  TT_ENSURE(err, ctx.op.inputs().size() >= 1 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (RESHAPE): needs an input and 1 output",
            static_cast<long>(op));
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  TT_ENSURE(err, in.type == out.type && Elements(in) == Elements(out), Status::kInvalidModel,
            "op %ld (RESHAPE): input and output differ in type or element count",
            static_cast<long>(op));
  return Status::kOk;
}

}  // namespace

extern const OpRegistration kReshapeRegistration = {
    tflite::kReshape, "RESHAPE", Prepare, EvalSameBytes, nullptr, nullptr, nullptr, nullptr};

}  // namespace tflm_train
