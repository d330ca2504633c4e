// SPLIT and SPLIT_V int8: the input cut along a constant axis into the outputs, in order, bytes
// unchanged. SPLIT reads (axis, input), SPLIT_V (input, size_splits, axis); both take each
// output's share from its shape, as TFLM does, so they share Prepare and Eval.
#include "kernels/split.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const long op = ctx.index;
  const char* name = ctx.state->registration->name;
  const bool v = ctx.state->registration->builtin_code == tflite::kSplitV;
  const uint32_t input = v ? 0 : 1, axis_input = v ? 2 : 0;
  TT_ENSURE(err, ctx.op.inputs().size() == (v ? 3u : 2u) && ctx.op.outputs().size() >= 1,
            Status::kInvalidModel, "op %ld (%s): needs %s and at least 1 output", op, name,
            v ? "input, size_splits and axis" : "axis and input");
  const TensorInfo in = ctx.input(input);
  TT_RETURN_IF_ERROR(CheckInt8Operand(in, name, "input", ctx.index, err));
  TT_ENSURE(err, ctx.input_id(axis_input) >= 0 && IsConstantInput(ctx, axis_input),
            Status::kUnsupported, "op %ld (%s): axis must be constant data in the model", op,
            name);
  TT_RETURN_IF_ERROR(CheckConstant(*ctx.session, ctx.input_id(axis_input), tflite::kInt32, 1,
                                   "axis (one int32)", ctx.index, err));
  const int32_t rank = static_cast<int32_t>(in.shape.size());
  int32_t axis = *reinterpret_cast<const int32_t*>(ctx.input_data(axis_input));
  if (axis < 0) axis += rank;
  TT_ENSURE(err, axis >= 0 && axis < rank, Status::kInvalidModel,
            "op %ld (%s): axis is outside the input's %ld dimensions", op, name,
            static_cast<long>(rank));
  SplitState& s = ctx.state->split;
  s.outer = 1;
  s.inner = 1;
  s.axis = in.shape[axis];
  for (int32_t d = 0; d < axis; ++d) s.outer *= in.shape[d];
  for (int32_t d = axis + 1; d < rank; ++d) s.inner *= in.shape[d];
  int64_t total = 0;
  for (uint32_t k = 0; k < ctx.op.outputs().size(); ++k) {
    const TensorInfo out = ctx.output(k);
    TT_RETURN_IF_ERROR(CheckInt8Operand(out, name, "output", ctx.index, err));
    bool same = out.shape.size() == in.shape.size();
    for (int32_t d = 0; same && d < rank; ++d) same = d == axis || out.shape[d] == in.shape[d];
    TT_ENSURE(err, same, Status::kInvalidModel,
              "op %ld (%s): output %lu differs from the input outside the split axis", op, name,
              static_cast<unsigned long>(k));
    total += out.shape[axis];
  }
  TT_ENSURE(err, total == s.axis, Status::kInvalidModel,
            "op %ld (%s): the outputs hold %ld of the axis' %ld elements", op, name,
            static_cast<long>(total), static_cast<long>(s.axis));
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const SplitState& s = ctx.state->split;
  const bool v = ctx.state->registration->builtin_code == tflite::kSplitV;
  const int8_t* in = reinterpret_cast<const int8_t*>(ctx.input_data(v ? 0 : 1));

  int32_t first = 0;
  for (uint32_t k = 0; k < ctx.op.outputs().size(); ++k) {
    // The output's extent along the split axis: its element count over outer * inner.
    const int32_t count = Elements(ctx.output(k)) / (s.outer * s.inner);
    SplitInt8(in, s.outer, s.axis, s.inner, first, count,
              reinterpret_cast<int8_t*>(ctx.output_data(k)));
    first += count;
  }

}

}  // namespace

extern const OpRegistration kSplitRegistration = {
    tflite::kSplit, "SPLIT", Prepare, Eval, nullptr, nullptr, nullptr, nullptr};
extern const OpRegistration kSplitVRegistration = {
    tflite::kSplitV, "SPLIT_V", Prepare, Eval, nullptr, nullptr, nullptr, nullptr};

}  // namespace tflm_train
