// PAD and PADV2 int8: copy the input into the middle of the output and fill the border with
// the output zero point (PAD) or the given int8 constant (PADV2). The registrations share one
// Prepare because TFLM accepts the optional constant on both. The input gradient crops the
// border off again.
#include "kernels/pad.h"
#include "kernels/training/pad_grad.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const long op = ctx.index;
  const char* name = ctx.state->registration->name;
  const uint32_t n_in = ctx.op.inputs().size();
  TT_ENSURE(err, (n_in == 2 || n_in == 3) && ctx.op.outputs().size() == 1,
            Status::kInvalidModel, "op %ld (%s): needs input, paddings[, constant] and 1 output",
            op, name);
  const TensorInfo in = ctx.input(0), out = ctx.output(0);
  TT_RETURN_IF_ERROR(CheckInt8Operand(in, name, "input", ctx.index, err));
  TT_RETURN_IF_ERROR(CheckInt8Operand(out, name, "output", ctx.index, err));
  const uint32_t rank = out.shape.size();
  TT_ENSURE(err, in.shape.size() == rank, Status::kInvalidModel,
            "op %ld (%s): input rank %lu differs from output rank %lu", op, name,
            static_cast<unsigned long>(in.shape.size()), static_cast<unsigned long>(rank));
  TT_ENSURE(err, rank <= 4, Status::kUnsupported,
            "op %ld (%s): tensors of more than 4 dimensions are not supported", op, name);
  // The padding amounts decide the output shape, so like TFLM they must be known at prepare.
  TT_ENSURE(err, ctx.input_id(1) >= 0 && IsConstantInput(ctx, 1), Status::kUnsupported,
            "op %ld (%s): paddings must be constant data in the model", op, name);
  TT_RETURN_IF_ERROR(CheckConstant(*ctx.session, ctx.input_id(1), tflite::kInt32, 2 * rank,
                                   "paddings (int32, 2 per dimension)", ctx.index, err));
  const int32_t* pads = reinterpret_cast<const int32_t*>(ctx.input_data(1));
  PadState& s = ctx.state->pad;
  const uint32_t lead = 4 - rank;  // NHWC extension: leading dimensions of size 1, no padding
  for (uint32_t d = 0; d < 4; ++d) {
    s.before[d] = d < lead ? 0 : pads[2 * (d - lead)];
    s.after[d] = d < lead ? 0 : pads[2 * (d - lead) + 1];
  }
  for (uint32_t d = 0; d < rank; ++d) {
    const int32_t before = s.before[lead + d], after = s.after[lead + d];
    TT_ENSURE(err, before >= 0 && after >= 0, Status::kInvalidModel,
              "op %ld (%s): negative padding %ld/%ld in dimension %lu", op, name,
              static_cast<long>(before), static_cast<long>(after), static_cast<unsigned long>(d));
    TT_ENSURE(err, static_cast<int64_t>(in.shape[d]) + before + after == out.shape[d],
              Status::kInvalidModel,
              "op %ld (%s): output dimension %lu is %ld, expected %ld + %ld + %ld", op, name,
              static_cast<unsigned long>(d), static_cast<long>(out.shape[d]),
              static_cast<long>(in.shape[d]), static_cast<long>(before),
              static_cast<long>(after));
  }
  // Like TFLM the border is written in the output's quantisation; the interior is copied as
  // is (the TFLite converter gives PAD equal input and output parameters).
  const bool has_constant = n_in == 3 && ctx.input_id(2) >= 0;
  int8_t constant = 0;
  if (has_constant) {
    const TensorInfo c = ctx.input(2);
    TT_ENSURE(err, IsConstantInput(ctx, 2), Status::kUnsupported,
              "op %ld (%s): the constant value must be constant data in the model", op, name);
    TT_RETURN_IF_ERROR(CheckConstant(*ctx.session, ctx.input_id(2), tflite::kInt8, 1,
                                     "constant value (one int8)", ctx.index, err));
    TT_RETURN_IF_ERROR(CheckInt8Operand(c, name, "constant value", ctx.index, err));
    TT_ENSURE(err, c.quantization.scale[0] == out.quantization.scale[0] &&
                       c.quantization.zero_point[0] == out.quantization.zero_point[0],
              Status::kInvalidModel,
              "op %ld (%s): the constant value's quantisation differs from the output's", op,
              name);
    constant = *reinterpret_cast<const int8_t*>(ctx.input_data(2));
  }
  s.value = PadValue(has_constant, constant,
                     static_cast<int32_t>(out.quantization.zero_point[0]));
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const PadState& s = ctx.state->pad;
  PadInt8(ToDims(ctx.input(0)), reinterpret_cast<const int8_t*>(ctx.input_data(0)), s.before,
          s.after, static_cast<int8_t>(s.value), reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

void InputGrad(const OpContext& ctx, const float* grad_out, const float*, float* grad_in) {
  PadGrad(ToDims(ctx.output(0)), grad_out, ctx.state->pad.before, ToDims(ctx.input(0)), grad_in);
}

}  // namespace

extern const OpRegistration kPadRegistration = {
    tflite::kPad, "PAD", Prepare, Eval, InputGrad, nullptr, nullptr, nullptr};
extern const OpRegistration kPadV2Registration = {
    tflite::kPadV2, "PADV2", Prepare, Eval, InputGrad, nullptr, nullptr, nullptr};

}  // namespace tflm_train
