// FULLY_CONNECTED: forward int8 (per-tensor or per-channel weights) and backward hooks.
#include "kernels/fully_connected.h"
#include "kernels/training/fully_connected_grad.h"
#include "tflm_train/runtime/channel_data.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const int32_t op = ctx.index;
  TT_RETURN_IF_ERROR(CheckWeightedOpOperands(ctx, "FULLY_CONNECTED", "weights", err));
  const TensorInfo in = ctx.input(0), filter = ctx.input(1), out = ctx.output(0);
  FullyConnectedOptions opts;
  TT_ENSURE(err, ctx.op.GetOptions(&opts), Status::kInvalidModel,
            "op %ld (FULLY_CONNECTED): options of another op type", static_cast<long>(op));
  TT_ENSURE(err, opts.weights_format == 0, Status::kUnsupported,
            "op %ld (FULLY_CONNECTED): shuffled weights format is not supported",
            static_cast<long>(op));
  TT_ENSURE(err, filter.type == tflite::kInt8 && filter.shape.size() == 2, Status::kUnsupported,
            "op %ld (FULLY_CONNECTED): weights must be 2-D int8", static_cast<long>(op));
  FullyConnectedState& s = ctx.state->fully_connected;
  s.output_units = filter.shape[0];
  s.accum_depth = filter.shape[1];
  const int32_t in_elements = Elements(in);
  TT_ENSURE(err, s.accum_depth > 0 && s.output_units > 0 && in_elements % s.accum_depth == 0,
            Status::kInvalidModel,
            "op %ld (FULLY_CONNECTED): input of %ld elements is not a multiple of the weights' "
            "depth %ld", static_cast<long>(op), static_cast<long>(in_elements),
            static_cast<long>(s.accum_depth));
  s.batches = in_elements / s.accum_depth;
  TT_ENSURE(err, Elements(out) == s.batches * s.output_units, Status::kInvalidModel,
            "op %ld (FULLY_CONNECTED): output has %ld elements, expected %ld x %ld",
            static_cast<long>(op), static_cast<long>(Elements(out)),
            static_cast<long>(s.batches), static_cast<long>(s.output_units));
  if (ctx.op.inputs().size() > 2 && ctx.input_id(2) >= 0) {
    TT_RETURN_IF_ERROR(CheckConstant(*ctx.session, ctx.input_id(2), tflite::kInt32,
                                     s.output_units, "FULLY_CONNECTED bias", op, err));
  }
  FusedActivation act;
  TT_RETURN_IF_ERROR(ToActivation(opts.fused_activation_function, op, &act, err));
  const float* scales;
  int32_t n_scales;
  TT_RETURN_IF_ERROR(WeightScales(filter, s.output_units, op, &scales, &n_scales, err));
  s.per_channel = n_scales > 1 ? 1 : 0;
  // Per-channel multipliers stay in flash (checked here); per-tensor fills the op state.
  const bool per_tensor = s.per_channel == 0;
  if (!per_tensor) {
    PerChannelQuant stored;
    TT_RETURN_IF_ERROR(VerifyChannelData(ctx, "FULLY_CONNECTED", in.quantization.scale[0],
                                         scales, n_scales, out.quantization.scale[0],
                                         s.output_units, &stored, err));
  }
  const bool ok = FullyConnectedPrepare(
      in.quantization.scale[0], static_cast<int32_t>(in.quantization.zero_point[0]), scales,
      n_scales, 0, out.quantization.scale[0],
      static_cast<int32_t>(out.quantization.zero_point[0]), s.output_units, act, &s.params,
      per_tensor ? &s.per_tensor.multiplier : nullptr,
      per_tensor ? &s.per_tensor.shift : nullptr);
  TT_ENSURE(err, ok, Status::kInvalidModel,
            "op %ld (FULLY_CONNECTED): quantisation parameters rejected", static_cast<long>(op));
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const FullyConnectedState& s = ctx.state->fully_connected;
  const int32_t* bias = OptionalBias(ctx);
  const int8_t* in = reinterpret_cast<const int8_t*>(ctx.input_data(0));
  int8_t* out = reinterpret_cast<int8_t*>(ctx.output_data(0));
  const PerChannelQuant quant =
      s.per_channel ? PerChannelQuant{ctx.channel_data, ctx.channel_data + s.output_units}
                    : PerChannelQuant{&s.per_tensor.multiplier, &s.per_tensor.shift};
  FullyConnectedRowsInt8(s.params, quant, s.per_channel ? 1 : 0, s.batches, s.accum_depth,
                         s.output_units, in, ctx.session->filter_rows(ctx.index), bias, out);
}

void InputGrad(const OpContext& ctx, const float* grad_out, const float* filter_scales,
               float* grad_in) {
  const FullyConnectedState& s = ctx.state->fully_connected;
  FullyConnectedInputGradRows(s.batches, s.output_units, grad_out,
                              ctx.session->filter_rows(ctx.index), filter_scales, s.accum_depth,
                              grad_in);
}

void WeightGrad(const OpContext& ctx, const float* grad_out, int32_t channel, float* grad) {
  const FullyConnectedState& s = ctx.state->fully_connected;
  FullyConnectedFilterGrad(s.batches, s.accum_depth,
                           reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                           s.params.input_offset, ctx.input(0).quantization.scale[0],
                           s.output_units, grad_out, channel, channel + 1, grad);
}

int32_t WeightGradElements(const OpContext& ctx) {
  return ctx.state->fully_connected.accum_depth;
}

ChannelSlice WeightSlice(const OpContext& ctx, int32_t channel) {
  const FullyConnectedState& s = ctx.state->fully_connected;
  return ChannelSlice{1, s.output_units, s.accum_depth, channel, channel + 1};
}

}  // namespace

extern const OpRegistration kFullyConnectedRegistration = {
    tflite::kFullyConnected, "FULLY_CONNECTED", Prepare, Eval, InputGrad, WeightGrad,
    WeightGradElements, WeightSlice};

}  // namespace tflm_train
