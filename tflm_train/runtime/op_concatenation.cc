// CONCATENATION int8 along any axis. TFLM requires every int8 input to carry the output's scale
// and zero point (the TFLite converter inserts QUANTIZE ops to make them so), which makes the
// op a sequence of block copies.
#include "kernels/concatenation.h"
#include "kernels/training/concatenation_grad.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {
namespace {

// The input pointers live on the stack at Eval; TFLM has the same bound.
constexpr uint32_t kMaxInputs = 10;

Status Prepare(OpContext& ctx, ErrorMessage* err) {
  const long op = ctx.index;
  const uint32_t n = ctx.op.inputs().size();
  TT_ENSURE(err, n >= 1 && n <= kMaxInputs && ctx.op.outputs().size() == 1,
            Status::kUnsupported, "op %ld (CONCATENATION): has %lu inputs, supported are 1 to %lu "
            "and 1 output", op, static_cast<unsigned long>(n),
            static_cast<unsigned long>(kMaxInputs));
  const TensorInfo out = ctx.output(0);
  TT_RETURN_IF_ERROR(CheckInt8Operand(out, "CONCATENATION", "output", ctx.index, err));
  ConcatenationOptions opts;
  TT_ENSURE(err, ctx.op.GetOptions(&opts), Status::kInvalidModel,
            "op %ld (CONCATENATION): options of another op type", op);
  TT_ENSURE(err, opts.fused_activation_function == tflite::kActNone, Status::kUnsupported,
            "op %ld (CONCATENATION): fused activation %d is not supported (only NONE)", op,
            opts.fused_activation_function);
  const int32_t rank = static_cast<int32_t>(out.shape.size());
  const int32_t axis = opts.axis < 0 ? opts.axis + rank : opts.axis;
  TT_ENSURE(err, axis >= 0 && axis < rank, Status::kInvalidModel,
            "op %ld (CONCATENATION): axis %ld is outside the output's %ld dimensions", op,
            static_cast<long>(opts.axis), static_cast<long>(rank));
  int64_t axis_total = 0;
  for (uint32_t i = 0; i < n; ++i) {
    TT_ENSURE(err, ctx.input_id(i) >= 0, Status::kInvalidModel,
              "op %ld (CONCATENATION): input %lu is missing", op, static_cast<unsigned long>(i));
    const TensorInfo in = ctx.input(i);
    TT_RETURN_IF_ERROR(CheckInt8Operand(in, "CONCATENATION", "input", ctx.index, err));
    TT_ENSURE(err, in.quantization.scale[0] == out.quantization.scale[0] &&
                       in.quantization.zero_point[0] == out.quantization.zero_point[0],
              Status::kUnsupported,
              "op %ld (CONCATENATION): input %lu has scale %g / zero point %ld but the output "
              "has %g / %ld; int8 inputs must share the output's quantisation (as in TFLM)",
              op, static_cast<unsigned long>(i), static_cast<double>(in.quantization.scale[0]),
              static_cast<long>(in.quantization.zero_point[0]),
              static_cast<double>(out.quantization.scale[0]),
              static_cast<long>(out.quantization.zero_point[0]));
    TT_ENSURE(err, static_cast<int32_t>(in.shape.size()) == rank, Status::kInvalidModel,
              "op %ld (CONCATENATION): input %lu has rank %lu, the output %ld", op,
              static_cast<unsigned long>(i), static_cast<unsigned long>(in.shape.size()),
              static_cast<long>(rank));
    for (int32_t d = 0; d < rank; ++d) {
      TT_ENSURE(err, d == axis || in.shape[d] == out.shape[d], Status::kInvalidModel,
                "op %ld (CONCATENATION): input %lu dimension %ld is %ld, the output's %ld", op,
                static_cast<unsigned long>(i), static_cast<long>(d),
                static_cast<long>(in.shape[d]), static_cast<long>(out.shape[d]));
    }
    axis_total += in.shape[axis];
  }
  TT_ENSURE(err, axis_total == out.shape[axis], Status::kInvalidModel,
            "op %ld (CONCATENATION): inputs add up to %ld along axis %ld, the output has %ld", op,
            static_cast<long>(axis_total), static_cast<long>(axis),
            static_cast<long>(out.shape[axis]));
  ConcatenationState& s = ctx.state->concatenation;
  s.axis = axis;
  int32_t dims[8];  // the model reader caps ranks at 8
  TT_ENSURE(err, rank <= 8, Status::kUnsupported,
            "op %ld (CONCATENATION): more than 8 dimensions", op);
  for (int32_t d = 0; d < rank; ++d) dims[d] = out.shape[d];
  ConcatenationOuterInner(dims, rank, axis, &s.outer, &s.inner);
  return Status::kOk;
}

void Eval(const OpContext& ctx) {
  const ConcatenationState& s = ctx.state->concatenation;
  const uint32_t n = ctx.op.inputs().size();
  const int8_t* inputs[kMaxInputs];
  int32_t axis_sizes[kMaxInputs];
  for (uint32_t i = 0; i < n; ++i) {
    inputs[i] = reinterpret_cast<const int8_t*>(ctx.input_data(i));
    axis_sizes[i] = ctx.input(i).shape[s.axis];
  }
  ConcatenationInt8(static_cast<int32_t>(n), inputs, axis_sizes, nullptr, s.outer, s.inner,
                    reinterpret_cast<int8_t*>(ctx.output_data(0)));
}

// The slice of the output gradient that belongs to input `input` (the others are skipped).
void InputGradAt(const OpContext& ctx, const float* grad_out, int32_t input, float* grad_in) {
  const ConcatenationState& s = ctx.state->concatenation;
  const uint32_t n = ctx.op.inputs().size();
  int32_t axis_sizes[kMaxInputs];
  float* grads[kMaxInputs];
  for (uint32_t i = 0; i < n; ++i) {
    axis_sizes[i] = ctx.input(i).shape[s.axis];
    grads[i] = static_cast<int32_t>(i) == input ? grad_in : nullptr;
  }
  ConcatenationGrad(s.outer, s.inner, static_cast<int32_t>(n), axis_sizes, grad_out, grads);
}

}  // namespace

extern const OpRegistration kConcatenationRegistration = {
    tflite::kConcatenation, "CONCATENATION", Prepare, Eval, nullptr, nullptr, nullptr, nullptr,
    InputGradAt};

}  // namespace tflm_train
