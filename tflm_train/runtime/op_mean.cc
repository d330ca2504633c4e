// MEAN over the spatial axes (global average pooling as the TFLite converter emits it).
#include "kernels/mean.h"
#include "kernels/training/mean_grad.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const int32_t op = ctx.index;
  TT_ENSURE(err, ctx.op.inputs().size() == 2 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (MEAN): needs input, axis and 1 output",
            static_cast<long>(op));
  const TensorInfo in = ctx.input(0), out = ctx.output(0), axis = ctx.input(1);
  TT_RETURN_IF_ERROR(CheckInt8Quantized(in, "MEAN input", op, err));
  TT_RETURN_IF_ERROR(CheckInt8Quantized(out, "MEAN output", op, err));
  TT_ENSURE(err, in.shape.size() == 4 && axis.type == tflite::kInt32 && Elements(axis) == 2,
            Status::kUnsupported,
            "op %ld (MEAN): only the mean over axes 1 and 2 of a 4-D tensor is supported",
            static_cast<long>(op));
  const int32_t* axes = reinterpret_cast<const int32_t*>(ctx.input_data(1));
  TT_ENSURE(err, (axes[0] == 1 && axes[1] == 2) || (axes[0] == 2 && axes[1] == 1),
            Status::kUnsupported,
            "op %ld (MEAN): axes (%ld, %ld) not supported; only the spatial axes (1, 2)",
            static_cast<long>(op), static_cast<long>(axes[0]), static_cast<long>(axes[1]));
  const Dims in_d = ToDims(in);
  TT_ENSURE(err, Elements(out) == in_d.n * in_d.c, Status::kInvalidModel,
            "op %ld (MEAN): output has %ld elements, expected %ld", static_cast<long>(op),
            static_cast<long>(Elements(out)), static_cast<long>(in_d.n * in_d.c));
  ctx.state->mean = MeanPrepare(in.quantization.scale[0],
                                static_cast<int32_t>(in.quantization.zero_point[0]),
                                out.quantization.scale[0],
                                static_cast<int32_t>(out.quantization.zero_point[0]),
                                in_d.h * in_d.w);
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  MeanSpatialInt8(ctx.state->mean, ToDims(ctx.input(0)),
                  reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                  reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

void InputGrad(const OpContext& ctx, const float* grad_out, const float*, float* grad_in) {
  MeanGrad(ToDims(ctx.input(0)), grad_out, grad_in);
}

}  // namespace

extern const OpRegistration kMeanRegistration = {
    tflite::kMean, "MEAN", Prepare, Eval, InputGrad, nullptr, nullptr, nullptr};

}  // namespace tflm_train
