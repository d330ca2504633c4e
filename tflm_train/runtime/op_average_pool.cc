// AVERAGE_POOL_2D: forward int8 and its input gradient.
#include "kernels/average_pool.h"
#include "kernels/training/average_pool_grad.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const int32_t op = ctx.index;
  TT_ENSURE(err, ctx.op.inputs().size() == 1 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (AVERAGE_POOL_2D): needs 1 input and 1 output",
            static_cast<long>(op));
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  TT_RETURN_IF_ERROR(CheckInt8Quantized(in, "AVERAGE_POOL_2D input", op, err));
  TT_RETURN_IF_ERROR(CheckInt8Quantized(out, "AVERAGE_POOL_2D output", op, err));
  TT_ENSURE(err, in.shape.size() == 4 && out.shape.size() == 4, Status::kUnsupported,
            "op %ld (AVERAGE_POOL_2D): needs 4-D tensors", static_cast<long>(op));
  TT_ENSURE(err, in.quantization.scale[0] == out.quantization.scale[0] &&
                     in.quantization.zero_point[0] == out.quantization.zero_point[0],
            Status::kUnsupported,
            "op %ld (AVERAGE_POOL_2D): input and output quantisation must be equal",
            static_cast<long>(op));
  Pool2DOptions opts;
  TT_ENSURE(err, ctx.op.GetOptions(&opts), Status::kInvalidModel,
            "op %ld (AVERAGE_POOL_2D): options of another op type", static_cast<long>(op));
  FusedActivation act;
  TT_RETURN_IF_ERROR(ToActivation(opts.fused_activation_function, op, &act, err));
  const Dims in_d = ToDims(in), out_d = ToDims(out);
  TT_ENSURE(err, in_d.n == out_d.n && in_d.c == out_d.c && opts.stride_h > 0 &&
                     opts.stride_w > 0 && opts.filter_height > 0 && opts.filter_width > 0,
            Status::kInvalidModel, "op %ld (AVERAGE_POOL_2D): bad shapes or window",
            static_cast<long>(op));
  int32_t out_h = 0, out_w = 0;
  PoolPrepare(out.quantization.scale[0], static_cast<int32_t>(out.quantization.zero_point[0]),
              in_d.h, in_d.w, Tile{opts.filter_height, opts.filter_width},
              Tile{opts.stride_h, opts.stride_w}, static_cast<Padding>(opts.padding), act,
              &ctx.state->pool, &out_h, &out_w);
  TT_ENSURE(err, out_h == out_d.h && out_w == out_d.w, Status::kInvalidModel,
            "op %ld (AVERAGE_POOL_2D): output %ldx%ld does not match the computed %ldx%ld",
            static_cast<long>(op), static_cast<long>(out_d.h), static_cast<long>(out_d.w),
            static_cast<long>(out_h), static_cast<long>(out_w));
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  AveragePoolInt8(ctx.state->pool, ToDims(ctx.input(0)),
                  reinterpret_cast<const int8_t*>(ctx.input_data(0)), ToDims(ctx.output(0)),
                  reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

void InputGrad(const OpContext& ctx, const float* grad_out, const float*, float* grad_in) {
  AveragePoolGrad(ctx.state->pool, ToDims(ctx.output(0)), grad_out, ToDims(ctx.input(0)),
                  grad_in);
}

}  // namespace

extern const OpRegistration kAveragePool2DRegistration = {
    tflite::kAveragePool2D, "AVERAGE_POOL_2D", Prepare, Eval, InputGrad, nullptr, nullptr,
    nullptr};

}  // namespace tflm_train
