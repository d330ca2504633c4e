// RESIZE_NEAREST_NEIGHBOR int8 on 4-D NHWC tensors with a constant size, align_corners and
// half_pixel_centers as TFLM computes them (kernels/resize_nearest_neighbor.cc).
#include "kernels/resize_nearest_neighbor.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const long op = ctx.index;
  const char* name = "RESIZE_NEAREST_NEIGHBOR";
  TT_ENSURE(err, ctx.op.inputs().size() == 2 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (%s): needs input, size and 1 output", op, name);
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  TT_RETURN_IF_ERROR(CheckInt8Operand(in, name, "input", ctx.index, err));
  TT_RETURN_IF_ERROR(CheckInt8Operand(out, name, "output", ctx.index, err));
  TT_ENSURE(err, in.shape.size() == 4 && out.shape.size() == 4, Status::kUnsupported,
            "op %ld (%s): input and output must be 4-D", op, name);
  // An empty input would make every source index -1 (TFLM would read before the tensor).
  TT_ENSURE(err, in.shape[1] > 0 && in.shape[2] > 0, Status::kInvalidModel,
            "op %ld (%s): the input has no rows or columns", op, name);
  TT_ENSURE(err, ctx.input_id(1) >= 0 && IsConstantInput(ctx, 1), Status::kUnsupported,
            "op %ld (%s): size must be constant data in the model", op, name);
  TT_RETURN_IF_ERROR(CheckConstant(*ctx.session, ctx.input_id(1), tflite::kInt32, 2,
                                   "size (two int32)", ctx.index, err));
  TT_ENSURE(err, ctx.input(1).shape.size() == 1, Status::kInvalidModel,
            "op %ld (%s): size must be 1-D", op, name);
  const int32_t* size = reinterpret_cast<const int32_t*>(ctx.input_data(1));
  // TFLM takes the output height and width from `size`: the output tensor must agree.
  TT_ENSURE(err, out.shape[0] == in.shape[0] && out.shape[3] == in.shape[3] &&
                     out.shape[1] == size[0] && out.shape[2] == size[1],
            Status::kInvalidModel,
            "op %ld (%s): output shape differs from the input's batch and depth with the "
            "given size", op, name);
  ResizeNearestNeighborOptions o;
  TT_ENSURE(err, ctx.op.GetOptions(&o), Status::kInvalidModel,
            "op %ld (%s): options of another op", op, name);
  ctx.state->resize.align_corners = o.align_corners ? 1 : 0;
  ctx.state->resize.half_pixel_centers = o.half_pixel_centers ? 1 : 0;
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const ResizeState& s = ctx.state->resize;
  ResizeNearestNeighborInt8(ToDims(ctx.input(0)), reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                            ToDims(ctx.output(0)), s.align_corners != 0, s.half_pixel_centers != 0,
                            reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

}  // namespace

extern const OpRegistration kResizeNearestNeighborRegistration = {
    tflite::kResizeNearestNeighbor, "RESIZE_NEAREST_NEIGHBOR", Prepare, Eval, nullptr, nullptr,
    nullptr, nullptr};

}  // namespace tflm_train
