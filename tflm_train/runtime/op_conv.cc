// CONV_2D: forward int8 (kernels/conv.h) and its backward hooks (kernels/training/conv_grad.h).
#include "kernels/conv.h"
#include "kernels/training/conv_grad.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const int32_t op = ctx.index;
  TT_RETURN_IF_ERROR(CheckWeightedOpOperands(ctx, "CONV_2D", "filter", err));
  const TensorInfo in = ctx.input(0), filter = ctx.input(1), out = ctx.output(0);
  TT_ENSURE(err, filter.type == tflite::kInt8 && in.shape.size() == 4 &&
                     filter.shape.size() == 4 && out.shape.size() == 4,
            Status::kUnsupported, "op %ld (CONV_2D): needs 4-D int8 input, filter and output",
            static_cast<long>(op));
  const Dims in_d = ToDims(in), f_d = ToDims(filter), out_d = ToDims(out);
  TT_ENSURE(err, f_d.c == in_d.c && f_d.n == out_d.c && in_d.n == out_d.n,
            Status::kUnsupported,
            "op %ld (CONV_2D): filter %ldx%ldx%ldx%ld does not match input channels %ld / output "
            "channels %ld (grouped convolution is not supported)",
            static_cast<long>(op), static_cast<long>(f_d.n), static_cast<long>(f_d.h),
            static_cast<long>(f_d.w), static_cast<long>(f_d.c), static_cast<long>(in_d.c),
            static_cast<long>(out_d.c));
  Conv2DOptions opts;
  TT_ENSURE(err, ctx.op.GetOptions(&opts), Status::kInvalidModel,
            "op %ld (CONV_2D): options of another op type", static_cast<long>(op));
  FusedActivation act;
  TT_RETURN_IF_ERROR(ToActivation(opts.fused_activation_function, op, &act, err));
  WeightQuant wq;
  TT_RETURN_IF_ERROR(PrepareWeights(ctx, "CONV_2D", out_d.c, &wq, err));
  int32_t out_h = 0, out_w = 0;
  const bool ok = ConvPrepare(
      in.quantization.scale[0], static_cast<int32_t>(in.quantization.zero_point[0]),
      wq.scales, wq.num_scales, out.quantization.scale[0],
      static_cast<int32_t>(out.quantization.zero_point[0]),
      in_d, f_d, Tile{opts.stride_h, opts.stride_w},
      Tile{opts.dilation_h_factor, opts.dilation_w_factor}, static_cast<Padding>(opts.padding),
      act, &ctx.state->conv, nullptr, nullptr, &out_h, &out_w);
  TT_ENSURE(err, ok && out_h == out_d.h && out_w == out_d.w, Status::kInvalidModel,
            "op %ld (CONV_2D): parameters rejected or output %ldx%ld does not match the "
            "computed %ldx%ld", static_cast<long>(op), static_cast<long>(out_d.h),
            static_cast<long>(out_d.w), static_cast<long>(out_h), static_cast<long>(out_w));
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const Dims out_d = ToDims(ctx.output(0));
  // A whole-tensor conv runs near the top of the stack (one instruction, no row recursion), so
  // its kernels' scratch stays here; streamed convs take theirs from the chain's arena scratch.
  alignas(8) int8_t scratch[kConvInt8RowsMaxBufferSize];
  ConvInt8Rows(ctx.state->conv, PerChannelQuant{ctx.channel_data, ctx.channel_data + out_d.c},
               ToDims(ctx.input(0)), reinterpret_cast<const int8_t*>(ctx.input_data(0)),
               ToDims(ctx.input(1)), ctx.session->filter_rows(ctx.index), OptionalBias(ctx),
               out_d, reinterpret_cast<int8_t*>(ctx.output_data(0)), scratch);
}

void InputGrad(const OpContext& ctx, const float* grad_out, const float* filter_scales,
               float* grad_in) {
  ConvInputGradRows(ctx.state->conv, ToDims(ctx.output(0)), grad_out, ToDims(ctx.input(1)),
                    ctx.session->filter_rows(ctx.index), filter_scales, ToDims(ctx.input(0)),
                    grad_in);
}

void WeightGrad(const OpContext& ctx, const float* grad_out, int32_t channel, float* grad) {
  ConvFilterGrad(ctx.state->conv, ToDims(ctx.input(0)),
                 reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                 ctx.input(0).quantization.scale[0], ToDims(ctx.output(0)), grad_out,
                 ToDims(ctx.input(1)), channel, channel + 1, grad);
}

int32_t WeightGradElements(const OpContext& ctx) {
  const Dims f = ToDims(ctx.input(1));
  return f.h * f.w * f.c;
}

ChannelSlice WeightSlice(const OpContext& ctx, int32_t channel) {
  const Dims f = ToDims(ctx.input(1));
  return ChannelSlice{1, f.n, f.h * f.w * f.c, channel, channel + 1};
}

}  // namespace

extern const OpRegistration kConv2DRegistration = {
    tflite::kConv2D, "CONV_2D", Prepare, Eval, InputGrad, WeightGrad, WeightGradElements,
    WeightSlice};

}  // namespace tflm_train
