// STRIDED_SLICE int8 with constant begin/end/strides, up to 4 dimensions, as TFLM: begin, end
// and shrink-axis masks apply; the ellipsis and new-axis masks and `offset` are ignored, as
// TFLM's Prepare ignores them. int32 slices run only folded (converter/shape_fold.py).
#include "kernels/strided_slice.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const long op = ctx.index;
  TT_ENSURE(err, ctx.op.inputs().size() == 4 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel,
            "op %ld (STRIDED_SLICE): needs input, begin, end, strides and 1 output", op);
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  TT_RETURN_IF_ERROR(CheckInt8Operand(in, "STRIDED_SLICE", "input", ctx.index, err));
  TT_RETURN_IF_ERROR(CheckInt8Operand(out, "STRIDED_SLICE", "output", ctx.index, err));
  const int32_t rank = static_cast<int32_t>(in.shape.size());
  TT_ENSURE(err, rank >= 1 && rank <= kStridedSliceMaxDims, Status::kUnsupported,
            "op %ld (STRIDED_SLICE): input of rank %ld; 1 to 4 are supported", op,
            static_cast<long>(rank));
  const char* what[3] = {"begin (int32, one per dimension)", "end (int32, one per dimension)",
                         "strides (int32, one per dimension)"};
  const int32_t* v[3];
  for (uint32_t k = 1; k <= 3; ++k) {
    TT_ENSURE(err, ctx.input_id(k) >= 0 && IsConstantInput(ctx, k), Status::kUnsupported,
              "op %ld (STRIDED_SLICE): %s must be constant data in the model", op, what[k - 1]);
    TT_RETURN_IF_ERROR(
        CheckConstant(*ctx.session, ctx.input_id(k), tflite::kInt32, rank, what[k - 1],
                      ctx.index, err));
    v[k - 1] = reinterpret_cast<const int32_t*>(ctx.input_data(k));
  }
  StridedSliceOptions o;
  TT_ENSURE(err, ctx.op.GetOptions(&o), Status::kInvalidModel,
            "op %ld (STRIDED_SLICE): options of another op", op);
  StridedSliceState& s = ctx.state->strided_slice;
  s.rank = rank;
  uint32_t out_d = 0;
  for (int32_t d = 0; d < rank; ++d) {
    TT_ENSURE(err, v[2][d] != 0, Status::kInvalidModel,
              "op %ld (STRIDED_SLICE): stride of dimension %ld is 0", op, static_cast<long>(d));
    const bool shrink = (o.shrink_axis_mask >> d) & 1;
    s.axes[d] = ResolveSliceAxis(in.shape[d], v[0][d], v[1][d], v[2][d],
                                 (o.begin_mask >> d) & 1, (o.end_mask >> d) & 1, shrink);
    const int32_t length = SliceAxisLength(s.axes[d]);
    if (shrink) {
      TT_ENSURE(err, length == 1 && s.axes[d].start < in.shape[d], Status::kInvalidModel,
                "op %ld (STRIDED_SLICE): shrunk dimension %ld has no element at its begin", op,
                static_cast<long>(d));
      continue;
    }
    TT_ENSURE(err, out_d < out.shape.size() && out.shape[out_d] == length,
              Status::kInvalidModel,
              "op %ld (STRIDED_SLICE): the output shape does not match the slice (dimension "
              "%ld gives %ld elements)", op, static_cast<long>(d), static_cast<long>(length));
    ++out_d;
  }
  TT_ENSURE(err, out_d == out.shape.size(), Status::kInvalidModel,
            "op %ld (STRIDED_SLICE): output rank %lu, the slice gives %lu", op,
            static_cast<unsigned long>(out.shape.size()), static_cast<unsigned long>(out_d));
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const StridedSliceState& s = ctx.state->strided_slice;
  int32_t shape[kStridedSliceMaxDims];
  const TensorInfo in = ctx.input(0);
  for (int32_t d = 0; d < s.rank; ++d) shape[d] = in.shape[d];
  StridedSliceInt8(s.rank, shape, s.axes, reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                   reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

}  // namespace

extern const OpRegistration kStridedSliceRegistration = {
    tflite::kStridedSlice, "STRIDED_SLICE", Prepare, Eval, nullptr, nullptr, nullptr, nullptr};

}  // namespace tflm_train
