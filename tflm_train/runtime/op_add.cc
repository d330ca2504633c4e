// ADD int8 -> int8: both inputs rescaled to a common scale, summed and requantised, with fused
// activation; equal shapes or NumPy-style broadcast up to 4-D.
#include "kernels/add.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {

// Shared with SUB (TFLM prepares SUB with ADD's code): both inputs rescaled to a common scale.
// TFLM requires every rescaling factor to be below 1; the output one is not when the output
// scale is under 2 * max(input scales) / 2^20.
Status PrepareAddSubRescaling(OpContext& ctx, const char* name, int8_t fused_activation,
                              ErrorMessage* err) {
  FusedActivation act = FusedActivation::kNone;
  TT_RETURN_IF_ERROR(ToActivation(fused_activation, ctx.index, &act, err));
  const TensorInfo in1 = ctx.input(0), in2 = ctx.input(1), out = ctx.output(0);
  const bool ok = AddPrepare(in1.quantization.scale[0],
                             static_cast<int32_t>(in1.quantization.zero_point[0]),
                             in2.quantization.scale[0],
                             static_cast<int32_t>(in2.quantization.zero_point[0]),
                             out.quantization.scale[0],
                             static_cast<int32_t>(out.quantization.zero_point[0]), act,
                             &ctx.state->add.params);
  TT_ENSURE(err, ok, Status::kUnsupported,
            "op %ld (%s): output scale %g is too small for input scales %g and %g (the "
            "rescaling multiplier would exceed 1)", static_cast<long>(ctx.index), name,
            static_cast<double>(out.quantization.scale[0]),
            static_cast<double>(in1.quantization.scale[0]),
            static_cast<double>(in2.quantization.scale[0]));
  return Status::kOk;
}

namespace {

// Output extent of one dimension broadcast from a and b, or -1 when they are incompatible.
int32_t BroadcastDim(int32_t a, int32_t b) {
  if (a == b || b == 1) return a;
  return a == 1 ? b : -1;
}

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const long op = ctx.index;
  TT_ENSURE(err, ctx.op.inputs().size() == 2 && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (ADD): needs 2 inputs and 1 output", op);
  const TensorInfo in1 = ctx.input(0), in2 = ctx.input(1), out = ctx.output(0);
  TT_RETURN_IF_ERROR(CheckInt8Operand(in1, "ADD", "input 1", ctx.index, err));
  TT_RETURN_IF_ERROR(CheckInt8Operand(in2, "ADD", "input 2", ctx.index, err));
  TT_RETURN_IF_ERROR(CheckInt8Operand(out, "ADD", "output", ctx.index, err));
  TT_ENSURE(err, in1.shape.size() <= 4 && in2.shape.size() <= 4 && out.shape.size() <= 4,
            Status::kUnsupported, "op %ld (ADD): tensors of more than 4 dimensions", op);
  const uint32_t rank = in1.shape.size() > in2.shape.size() ? in1.shape.size() : in2.shape.size();
  const Dims a = ToDims(in1), b = ToDims(in2), o = ToDims(out);
  const Dims want{BroadcastDim(a.n, b.n), BroadcastDim(a.h, b.h), BroadcastDim(a.w, b.w),
                  BroadcastDim(a.c, b.c)};
  TT_ENSURE(err, want.n >= 0 && want.h >= 0 && want.w >= 0 && want.c >= 0, Status::kInvalidModel,
            "op %ld (ADD): input shapes %ldx%ldx%ldx%ld and %ldx%ldx%ldx%ld do not broadcast", op,
            static_cast<long>(a.n), static_cast<long>(a.h), static_cast<long>(a.w),
            static_cast<long>(a.c), static_cast<long>(b.n), static_cast<long>(b.h),
            static_cast<long>(b.w), static_cast<long>(b.c));
  TT_ENSURE(err, out.shape.size() == rank && o.n == want.n && o.h == want.h && o.w == want.w &&
                     o.c == want.c,
            Status::kInvalidModel,
            "op %ld (ADD): output shape %ldx%ldx%ldx%ld is not the broadcast input shape "
            "%ldx%ldx%ldx%ld", op, static_cast<long>(o.n), static_cast<long>(o.h),
            static_cast<long>(o.w), static_cast<long>(o.c), static_cast<long>(want.n),
            static_cast<long>(want.h), static_cast<long>(want.w), static_cast<long>(want.c));
  AddOptions opts;
  TT_ENSURE(err, ctx.op.GetOptions(&opts), Status::kInvalidModel,
            "op %ld (ADD): options of another op type", op);
  TT_RETURN_IF_ERROR(PrepareAddSubRescaling(ctx, "ADD", opts.fused_activation_function, err));
  AddState& s = ctx.state->add;
  bool same_shape = in1.shape.size() == in2.shape.size();
  for (uint32_t i = 0; same_shape && i < in1.shape.size(); ++i) {
    same_shape = in1.shape[i] == in2.shape[i];
  }
  s.broadcast = same_shape ? 0 : 1;
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const AddState& s = ctx.state->add;
  const int8_t* in1 = reinterpret_cast<const int8_t*>(ctx.input_data(0));
  const int8_t* in2 = reinterpret_cast<const int8_t*>(ctx.input_data(1));
  int8_t* out = reinterpret_cast<int8_t*>(ctx.output_data(0));
  if (s.broadcast) {
    AddBroadcast4DInt8(s.params, ToDims(ctx.input(0)), in1, ToDims(ctx.input(1)), in2,
                       ToDims(ctx.output(0)), out);
  } else {
    AddInt8(s.params, Elements(ctx.output(0)), in1, in2, out);
  }
}

}  // namespace

extern const OpRegistration kAddRegistration = {
    tflite::kAdd, "ADD", Prepare, Eval, nullptr, nullptr, nullptr, nullptr};

}  // namespace tflm_train
