// DEPTHWISE_CONV_2D: forward int8 and backward hooks; filter [1, kh, kw, Cin * multiplier].
#include "kernels/depthwise_conv.h"
#include "kernels/training/depthwise_conv_grad.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const int32_t op = ctx.index;
  TT_RETURN_IF_ERROR(CheckWeightedOpOperands(ctx, "DEPTHWISE_CONV_2D", "filter", err));
  const TensorInfo in = ctx.input(0), filter = ctx.input(1), out = ctx.output(0);
  TT_ENSURE(err, filter.type == tflite::kInt8 && in.shape.size() == 4 &&
                     filter.shape.size() == 4 && out.shape.size() == 4,
            Status::kUnsupported,
            "op %ld (DEPTHWISE_CONV_2D): needs 4-D int8 input, filter and output",
            static_cast<long>(op));
  const Dims in_d = ToDims(in), f_d = ToDims(filter), out_d = ToDims(out);
  // The multiplier comes from the file: the channel product is checked in 64 bits, since an int
  // product could wrap to the filter's channel count and let a hostile model through.
  DepthwiseConv2DOptions opts;
  TT_ENSURE(err, ctx.op.GetOptions(&opts), Status::kInvalidModel,
            "op %ld (DEPTHWISE_CONV_2D): options of another op type", static_cast<long>(op));
  TT_ENSURE(err, f_d.n == 1 && in_d.c > 0 && opts.depth_multiplier > 0 &&
                     static_cast<int64_t>(f_d.c) ==
                         static_cast<int64_t>(in_d.c) * opts.depth_multiplier &&
                     out_d.c == f_d.c &&
                     in_d.n == out_d.n,
            Status::kInvalidModel,
            "op %ld (DEPTHWISE_CONV_2D): filter channels %ld != input channels %ld x depth "
            "multiplier %ld, or output channels differ", static_cast<long>(op),
            static_cast<long>(f_d.c), static_cast<long>(in_d.c),
            static_cast<long>(opts.depth_multiplier));
  FusedActivation act;
  TT_RETURN_IF_ERROR(ToActivation(opts.fused_activation_function, op, &act, err));
  WeightQuant wq;
  TT_RETURN_IF_ERROR(PrepareWeights(ctx, "DEPTHWISE_CONV_2D", out_d.c, &wq, err));
  int32_t out_h = 0, out_w = 0;
  const bool ok = DepthwiseConvPrepare(
      in.quantization.scale[0], static_cast<int32_t>(in.quantization.zero_point[0]),
      wq.scales, wq.num_scales, out.quantization.scale[0],
      static_cast<int32_t>(out.quantization.zero_point[0]),
      in_d, f_d, opts.depth_multiplier, Tile{opts.stride_h, opts.stride_w},
      Tile{opts.dilation_h_factor, opts.dilation_w_factor}, static_cast<Padding>(opts.padding),
      act, &ctx.state->depthwise, nullptr, nullptr, &out_h, &out_w);
  TT_ENSURE(err, ok && out_h == out_d.h && out_w == out_d.w, Status::kInvalidModel,
            "op %ld (DEPTHWISE_CONV_2D): parameters rejected or output %ldx%ld does not match "
            "the computed %ldx%ld", static_cast<long>(op), static_cast<long>(out_d.h),
            static_cast<long>(out_d.w), static_cast<long>(out_h), static_cast<long>(out_w));
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const Dims out_d = ToDims(ctx.output(0));
  // A whole-tensor depthwise runs near the top of the stack (one instruction, no row
  // recursion), so its kernel's scratch stays here; streamed ones use the chain's arena scratch.
  alignas(8) int8_t scratch[kDepthwiseConvInt8MaxBufferSize];
  DepthwiseConvInt8(ctx.state->depthwise,
                    PerChannelQuant{ctx.channel_data, ctx.channel_data + out_d.c},
                    ToDims(ctx.input(0)), reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                    ToDims(ctx.input(1)), ctx.session->depthwise_filter(ctx.index),
                    OptionalBias(ctx), out_d, reinterpret_cast<int8_t*>(ctx.output_data(0)),
                    scratch);
}

void InputGrad(const OpContext& ctx, const float* grad_out, const float* filter_scales,
               float* grad_in) {
  DepthwiseConvInputGrad(ctx.state->depthwise, ToDims(ctx.output(0)), grad_out,
                         ToDims(ctx.input(1)), ctx.session->depthwise_filter(ctx.index),
                         filter_scales, ToDims(ctx.input(0)), grad_in);
}

void WeightGrad(const OpContext& ctx, const float* grad_out, int32_t channel, float* grad) {
  DepthwiseConvFilterGrad(ctx.state->depthwise, ToDims(ctx.input(0)),
                          reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                          ctx.input(0).quantization.scale[0], ToDims(ctx.output(0)), grad_out,
                          ToDims(ctx.input(1)), channel, channel + 1, grad);
}

int32_t WeightGradElements(const OpContext& ctx) {
  const Dims f = ToDims(ctx.input(1));
  return f.h * f.w;
}

// Channels are the last filter axis: [kh*kw outer, C channels, 1 inner].
ChannelSlice WeightSlice(const OpContext& ctx, int32_t channel) {
  const Dims f = ToDims(ctx.input(1));
  return ChannelSlice{f.h * f.w, f.c, 1, channel, channel + 1};
}

}  // namespace

extern const OpRegistration kDepthwiseConv2DRegistration = {
    tflite::kDepthwiseConv2D, "DEPTHWISE_CONV_2D", Prepare, Eval, InputGrad, WeightGrad,
    WeightGradElements, WeightSlice};

}  // namespace tflm_train
