// C entry points over the training kernels for the Python tests (ctypes). Each entry takes one
// argument struct (named fields, mirrored by tests/kernels/training_shim.py and checked against
// the layouts exported below) built on the kernels' own params structs (ConvParams, PoolParams,
// SgdParams, ChannelSlice, FilterRows...).
//
// tts_determinism_digest() runs every kernel on fixed pseudo-random data and hashes the output
// bytes. The test also cross-compiles this file with -DTTS_FIRMWARE_MAIN for the Cortex-M4F
// and Cortex-M7 QEMU boards, where main() prints the same digests: equal digests mean the
// training kernels give bit-identical results on the host and on the boards.
#include <cstdint>

#include "kernels/training/activation_grad.h"
#include "kernels/training/average_pool_grad.h"
#include "kernels/training/bias_grad.h"
#include "kernels/training/concatenation_grad.h"
#include "kernels/training/conv_grad.h"
#include "kernels/training/depthwise_conv_grad.h"
#include "kernels/training/float_math.h"
#include "kernels/training/fully_connected_grad.h"
#include "kernels/training/grad_accumulate.h"
#include "kernels/training/hard_swish_grad.h"
#include "kernels/training/leaky_relu_grad.h"
#include "kernels/training/logistic_grad.h"
#include "kernels/training/max_pool_grad.h"
#include "kernels/training/mean_grad.h"
#include "kernels/training/mean_squared_error.h"
#include "kernels/training/mul_grad.h"
#include "kernels/training/pad_grad.h"
#include "kernels/training/sgd_update.h"
#include "kernels/training/softmax_cross_entropy.h"
#include "kernels/training/sub_grad.h"
#include "kernels/training/transpose_grad.h"
#include "tests/native/layout.h"

using namespace tflm_train;

namespace {

// Exp, Log and Floor elementwise: y[i] = f(x[i]).
struct FloatMathArgs {
  int32_t size;
  const float* x;
  float* y;
};

struct ConvInputGradArgs {
  ConvParams params;
  Dims output_dims;
  const float* grad_output;
  Dims filter_dims;
  const int8_t* filter;
  const float* filter_scales;
  Dims input_dims;
  float* grad_input;
};

// The input_offset of params: -input zero point.
template <typename Params>
struct FilterGradArgs {
  Params params;
  Dims input_dims;
  const int8_t* input;
  float input_scale;
  Dims output_dims;
  const float* grad_output;
  Dims filter_dims;
  int32_t c_begin;
  int32_t c_end;
  float* grad_filter;
};
using ConvFilterGradArgs = FilterGradArgs<ConvParams>;
using DepthwiseFilterGradArgs = FilterGradArgs<DepthwiseParams>;

// The filter's channels filter_stride apart (filter_dims.c for a whole filter; more for a channel
// group of a wider one). The consuming form leaves grad_output holding g * filter scale.
// Channels [0, head_channels) are read from head (taps head_stride apart) when head is not null
// (a DepthwiseFilter split between SRAM and flash).
struct DepthwiseInputGradArgs {
  DepthwiseParams params;
  Dims output_dims;
  float* grad_output;
  Dims filter_dims;
  const int8_t* filter;
  int32_t filter_stride;
  const float* filter_scales;
  Dims input_dims;
  float* grad_input;
  const int8_t* head;
  int32_t head_stride;
  int32_t head_channels;
};

struct DepthwiseInPlaceArgs {
  DepthwiseParams params;
  Dims dims;
  Dims filter_dims;
  const int8_t* filter;
  const float* filter_scales;
  int32_t group;
  float* scratch;
  float* grad;
  const int8_t* head;  // as DepthwiseInputGradArgs' (the filter's stride is dims.c)
  int32_t head_stride;
  int32_t head_channels;
};

DepthwiseFilter SplitFilter(const int8_t* filter, int32_t stride, const int8_t* head,
                            int32_t head_stride, int32_t head_channels) {
  return head != nullptr ? DepthwiseFilter{filter, stride, head, head_stride, head_channels}
                         : WholeDepthwiseFilter(filter, stride);
}

struct BiasGradArgs {
  int32_t positions;
  int32_t channels;
  const float* grad_output;
  int32_t c_begin;
  int32_t c_end;
  float* grad_bias;
};

struct FullyConnectedInputGradArgs {
  int32_t batches;
  int32_t output_depth;
  const float* grad_output;
  const int8_t* filter;
  const float* filter_scales;
  int32_t input_depth;
  float* grad_input;
};

struct FullyConnectedFilterGradArgs {
  int32_t batches;
  int32_t input_depth;
  const int8_t* input;
  int32_t input_offset;  // -input zero point
  float input_scale;
  int32_t output_depth;
  const float* grad_output;
  int32_t r_begin;
  int32_t r_end;
  float* grad_filter;
};

struct PointwiseInputGradChannelsArgs {
  int32_t positions;
  int32_t output_channels;
  const float* grad_output;
  FilterRows filter;
  const float* filter_scales;
  int32_t ci_begin;
  int32_t ci_end;
  float* grad_input;
};

// input: the forward input, read by max pooling only.
struct PoolGradArgs {
  PoolParams params;
  Dims input_dims;
  const int8_t* input;
  Dims output_dims;
  const float* grad_output;
  float* grad_input;
};

struct MeanGradArgs {
  Dims input_dims;
  const float* grad_output;
  float* grad_input;
};

struct PadGradArgs {
  Dims output_dims;
  const float* grad_output;
  int32_t pad_before[4];
  Dims input_dims;
  float* grad_input;
};

struct ConcatenationGradArgs {
  int32_t outer;
  int32_t inner;
  int32_t num_inputs;
  const int32_t* axis_sizes;
  const float* grad_output;
  float* const* grad_inputs;  // a null entry skips that input
};

// range: the fused activation's quantised clamp of the saved output.
struct ActivationGradArgs {
  int32_t size;
  const int8_t* output;
  ActivationRange range;
  const float* grad_output;
  float* grad_input;
};

// HARD_SWISH, LOGISTIC and LEAKY_RELU from their saved int8 input (scale unused by LEAKY_RELU,
// alpha used by it only).
struct UnaryGradArgs {
  int32_t size;
  const int8_t* input;
  float scale;
  int32_t zero_point;
  float alpha;
  const float* grad_output;
  float* grad_input;
};

struct TransposeGradArgs {
  int32_t rank;
  const int32_t* input_shape;
  const int32_t* perm;
  const float* grad_output;
  float* grad_input;
};

// MUL and SUB: the operands' shapes (broadcast as the forward does), which operand's gradient,
// and for MUL the other operand's int8 values and quantisation.
struct BinaryGradArgs {
  int32_t rank1;
  const int32_t* shape1;
  int32_t rank2;
  const int32_t* shape2;
  int32_t which;
  const int8_t* other;
  float other_scale;
  int32_t other_zero_point;
  const float* grad_output;
  float* grad_input;
};

struct MaskGroupArgs {
  int32_t positions;
  int32_t channels;
  int32_t c_begin;
  int32_t group;
  const uint8_t* mask;
  float* grad;
};

struct SoftmaxCrossEntropyLogitsArgs {
  int32_t num_classes;
  const float* logits;
  int32_t label;
  float* grad;
  float loss;  // out
};

struct SoftmaxCrossEntropyInt8LogitsArgs {
  int32_t num_classes;
  const int8_t* logits;
  float scale;
  float beta;
  int32_t label;
  float* grad;
  float loss;  // out
};

struct MeanSquaredErrorArgs {
  int32_t size;
  const float* prediction;
  const float* target;
  float* grad;
  float loss;  // out
};

struct MeanSquaredErrorInt8Args {
  int32_t size;
  const int8_t* prediction;
  float scale;
  int32_t zero_point;
  const float* target;
  float* grad;
  float loss;  // out
};

// momentum may be null; rng_state is advanced in place. Weights: int8 weights or int32 biases.
template <typename Weight>
struct SgdArgs {
  Weight* weights;
  SgdParams params;
  ChannelSlice slice;
  const float* grad;
  const float* factor;
  float* momentum;
  uint32_t rng_state;
};
using SgdInt8Args = SgdArgs<int8_t>;
using SgdInt32Args = SgdArgs<int32_t>;

struct GradAccumulateArgs {
  int32_t size;
  const float* grad;
  float* accumulator;
};

struct GradScaleArgs {
  int32_t size;
  float factor;
  float* buffer;
};

// FNV-1a over the bytes of each kernel's outputs, one digest per kernel group.
constexpr int32_t kDigestCount = 12;

struct DeterminismDigestArgs {
  uint32_t digest[kDigestCount];
};

// The digest's conv / depthwise / pool geometries.
// geom = [stride_h, stride_w, pad_top, pad_left, dil_h, dil_w]
ConvParams MakeConv(int32_t input_zero_point, const int32_t* geom) {
  ConvParams p{};
  p.input_offset = -input_zero_point;
  p.stride = Tile{geom[0], geom[1]};
  p.padding = Tile{geom[2], geom[3]};
  p.dilation = Tile{geom[4], geom[5]};
  p.activation = ActivationRange{-128, 127};
  return p;
}

DepthwiseParams MakeDepthwise(int32_t input_zero_point, int32_t mult, const int32_t* geom) {
  DepthwiseParams p{};
  p.input_offset = -input_zero_point;
  p.depth_multiplier = mult;
  p.stride = Tile{geom[0], geom[1]};
  p.padding = Tile{geom[2], geom[3]};
  p.dilation = Tile{geom[4], geom[5]};
  p.activation = ActivationRange{-128, 127};
  return p;
}

// geom = [stride_h, stride_w, pad_top, pad_left, filter_h, filter_w]
PoolParams MakePool(const int32_t* geom) {
  PoolParams p{};
  p.stride = Tile{geom[0], geom[1]};
  p.padding = Tile{geom[2], geom[3]};
  p.filter = Tile{geom[4], geom[5]};
  p.activation = ActivationRange{-128, 127};
  return p;
}

const tts::StructLayout kLayouts[] = {
    TTS_LAYOUT(Dims, n, h, w, c),
    TTS_LAYOUT(Tile, h, w),
    TTS_LAYOUT(ActivationRange, min, max),
    TTS_LAYOUT(ConvParams, input_offset, output_offset, stride, padding, dilation, activation),
    TTS_LAYOUT(DepthwiseParams, input_offset, output_offset, depth_multiplier, stride, padding,
               dilation, activation),
    TTS_LAYOUT(PoolParams, stride, padding, filter, activation),
    TTS_LAYOUT(FilterRows, base, head, head_rows, row_size),
    TTS_LAYOUT(SgdParams, learning_rate, momentum, rounding),
    TTS_LAYOUT(ChannelSlice, outer, channels, inner, c_begin, c_end),
    TTS_LAYOUT(FloatMathArgs, size, x, y),
    TTS_LAYOUT(ConvInputGradArgs, params, output_dims, grad_output, filter_dims, filter,
               filter_scales, input_dims, grad_input),
    TTS_LAYOUT(ConvFilterGradArgs, params, input_dims, input, input_scale, output_dims,
               grad_output, filter_dims, c_begin, c_end, grad_filter),
    TTS_LAYOUT(DepthwiseInputGradArgs, params, output_dims, grad_output, filter_dims, filter,
               filter_stride, filter_scales, input_dims, grad_input, head, head_stride,
               head_channels),
    TTS_LAYOUT(DepthwiseInPlaceArgs, params, dims, filter_dims, filter, filter_scales, group,
               scratch, grad, head, head_stride, head_channels),
    TTS_LAYOUT(DepthwiseFilterGradArgs, params, input_dims, input, input_scale, output_dims,
               grad_output, filter_dims, c_begin, c_end, grad_filter),
    TTS_LAYOUT(BiasGradArgs, positions, channels, grad_output, c_begin, c_end, grad_bias),
    TTS_LAYOUT(FullyConnectedInputGradArgs, batches, output_depth, grad_output, filter,
               filter_scales, input_depth, grad_input),
    TTS_LAYOUT(FullyConnectedFilterGradArgs, batches, input_depth, input, input_offset,
               input_scale, output_depth, grad_output, r_begin, r_end, grad_filter),
    TTS_LAYOUT(PointwiseInputGradChannelsArgs, positions, output_channels, grad_output, filter,
               filter_scales, ci_begin, ci_end, grad_input),
    TTS_LAYOUT(PoolGradArgs, params, input_dims, input, output_dims, grad_output, grad_input),
    TTS_LAYOUT(MeanGradArgs, input_dims, grad_output, grad_input),
    TTS_LAYOUT(PadGradArgs, output_dims, grad_output, pad_before, input_dims, grad_input),
    TTS_LAYOUT(ConcatenationGradArgs, outer, inner, num_inputs, axis_sizes, grad_output,
               grad_inputs),
    TTS_LAYOUT(ActivationGradArgs, size, output, range, grad_output, grad_input),
    TTS_LAYOUT(UnaryGradArgs, size, input, scale, zero_point, alpha, grad_output, grad_input),
    TTS_LAYOUT(TransposeGradArgs, rank, input_shape, perm, grad_output, grad_input),
    TTS_LAYOUT(BinaryGradArgs, rank1, shape1, rank2, shape2, which, other, other_scale,
               other_zero_point, grad_output, grad_input),
    TTS_LAYOUT(MaskGroupArgs, positions, channels, c_begin, group, mask, grad),
    TTS_LAYOUT(SoftmaxCrossEntropyLogitsArgs, num_classes, logits, label, grad, loss),
    TTS_LAYOUT(SoftmaxCrossEntropyInt8LogitsArgs, num_classes, logits, scale, beta, label,
               grad, loss),
    TTS_LAYOUT(MeanSquaredErrorArgs, size, prediction, target, grad, loss),
    TTS_LAYOUT(MeanSquaredErrorInt8Args, size, prediction, scale, zero_point, target, grad,
               loss),
    TTS_LAYOUT(SgdInt8Args, weights, params, slice, grad, factor, momentum, rng_state),
    TTS_LAYOUT(SgdInt32Args, weights, params, slice, grad, factor, momentum, rng_state),
    TTS_LAYOUT(GradAccumulateArgs, size, grad, accumulator),
    TTS_LAYOUT(GradScaleArgs, size, factor, buffer),
    TTS_LAYOUT(DeterminismDigestArgs, digest),
};
constexpr tts::EntryArgs kEntries[] = {
    {"tts_exp", "FloatMathArgs", false},
    {"tts_log", "FloatMathArgs", false},
    {"tts_floor", "FloatMathArgs", false},
    {"tts_conv_input_grad", "ConvInputGradArgs", false},
    {"tts_conv_input_grad_accumulate", "ConvInputGradArgs", false},
    {"tts_conv_filter_grad", "ConvFilterGradArgs", false},
    {"tts_depthwise_input_grad", "DepthwiseInputGradArgs"},
    {"tts_depthwise_input_grad_strided", "DepthwiseInputGradArgs", false},
    {"tts_depthwise_input_grad_consuming", "DepthwiseInputGradArgs", false},
    {"tts_depthwise_input_grad_in_place", "DepthwiseInPlaceArgs", false},
    {"tts_depthwise_filter_grad", "DepthwiseFilterGradArgs", false},
    {"tts_bias_grad", "BiasGradArgs", false},
    {"tts_fully_connected_input_grad", "FullyConnectedInputGradArgs", false},
    {"tts_fully_connected_filter_grad", "FullyConnectedFilterGradArgs", false},
    {"tts_pointwise_input_grad_channels", "PointwiseInputGradChannelsArgs", false},
    {"tts_average_pool_grad", "PoolGradArgs", false},
    {"tts_max_pool_grad", "PoolGradArgs", false},
    {"tts_mean_grad", "MeanGradArgs", false},
    {"tts_pad_grad", "PadGradArgs", false},
    {"tts_concatenation_grad", "ConcatenationGradArgs", false},
    {"tts_activation_grad", "ActivationGradArgs", false},
    {"tts_activation_grad_from_mask_group", "MaskGroupArgs", false},
    {"tts_hard_swish_grad", "UnaryGradArgs", false},
    {"tts_logistic_grad", "UnaryGradArgs", false},
    {"tts_leaky_relu_grad", "UnaryGradArgs", false},
    {"tts_transpose_grad", "TransposeGradArgs", false},
    {"tts_mul_input_grad", "BinaryGradArgs", false},
    {"tts_sub_input_grad", "BinaryGradArgs", false},
    {"tts_softmax_cross_entropy_logits", "SoftmaxCrossEntropyLogitsArgs", false},
    {"tts_softmax_cross_entropy_int8_logits", "SoftmaxCrossEntropyInt8LogitsArgs", false},
    {"tts_mean_squared_error", "MeanSquaredErrorArgs", false},
    {"tts_mean_squared_error_int8", "MeanSquaredErrorInt8Args", false},
    {"tts_sgd_int8", "SgdInt8Args", false},
    {"tts_sgd_int32", "SgdInt32Args", false},
    {"tts_grad_accumulate", "GradAccumulateArgs", false},
    {"tts_grad_scale", "GradScaleArgs", false},
    {"tts_determinism_digest", "DeterminismDigestArgs", false},
};

}  // namespace

TTS_EXPORT_LAYOUTS()

extern "C" {

void tts_exp(const FloatMathArgs* a) {
  for (int32_t i = 0; i < a->size; ++i) a->y[i] = Exp(a->x[i]);
}

void tts_log(const FloatMathArgs* a) {
  for (int32_t i = 0; i < a->size; ++i) a->y[i] = Log(a->x[i]);
}

void tts_floor(const FloatMathArgs* a) {
  for (int32_t i = 0; i < a->size; ++i) a->y[i] = Floor(a->x[i]);
}

void tts_conv_input_grad(const ConvInputGradArgs* a) {
  ConvInputGrad(a->params, a->output_dims, a->grad_output, a->filter_dims, a->filter,
                a->filter_scales, a->input_dims, a->grad_input);
}

// ConvInputGradAccumulate continuing the sums grad_input holds (first == false).
void tts_conv_input_grad_accumulate(const ConvInputGradArgs* a) {
  const Dims& f = a->filter_dims;
  ConvInputGradAccumulate(a->params, a->output_dims, a->grad_output, f,
                          WholeFilter(a->filter, f.h * f.w * a->input_dims.c), a->filter_scales,
                          a->input_dims, false, a->grad_input);
}

void tts_conv_filter_grad(const ConvFilterGradArgs* a) {
  ConvFilterGrad(a->params, a->input_dims, a->input, a->input_scale, a->output_dims,
                 a->grad_output, a->filter_dims, a->c_begin, a->c_end, a->grad_filter);
}

// The plain form reads a whole filter or a split one: returns 1 unless filter_stride is the
// whole filter's.
int32_t tts_depthwise_input_grad(const DepthwiseInputGradArgs* a) {
  if (a->filter_stride != a->filter_dims.c) return 1;
  if (a->head == nullptr) {
    DepthwiseConvInputGrad(a->params, a->output_dims, a->grad_output, a->filter_dims, a->filter,
                           a->filter_scales, a->input_dims, a->grad_input);
  } else {
    DepthwiseConvInputGrad(a->params, a->output_dims, a->grad_output, a->filter_dims,
                           SplitFilter(a->filter, a->filter_stride, a->head, a->head_stride,
                                       a->head_channels),
                           a->filter_scales, a->input_dims, a->grad_input);
  }
  return 0;
}

void tts_depthwise_input_grad_strided(const DepthwiseInputGradArgs* a) {
  DepthwiseConvInputGradStrided(a->params, a->output_dims, a->grad_output, a->filter_dims,
                                SplitFilter(a->filter, a->filter_stride, a->head, a->head_stride,
                                            a->head_channels),
                                a->filter_scales, a->input_dims, a->grad_input);
}

void tts_depthwise_input_grad_consuming(const DepthwiseInputGradArgs* a) {
  DepthwiseConvInputGradConsuming(a->params, a->output_dims, a->grad_output, a->filter_dims,
                                  SplitFilter(a->filter, a->filter_stride, a->head,
                                              a->head_stride, a->head_channels),
                                  a->filter_scales, a->input_dims, a->grad_input);
}

void tts_depthwise_input_grad_in_place(const DepthwiseInPlaceArgs* a) {
  DepthwiseConvInputGradInPlace(a->params, a->dims, a->filter_dims,
                                SplitFilter(a->filter, a->dims.c, a->head, a->head_stride,
                                            a->head_channels),
                                a->filter_scales, a->group, a->scratch, a->grad);
}

void tts_depthwise_filter_grad(const DepthwiseFilterGradArgs* a) {
  DepthwiseConvFilterGrad(a->params, a->input_dims, a->input, a->input_scale, a->output_dims,
                          a->grad_output, a->filter_dims, a->c_begin, a->c_end, a->grad_filter);
}

void tts_bias_grad(const BiasGradArgs* a) {
  BiasGrad(a->positions, a->channels, a->grad_output, a->c_begin, a->c_end, a->grad_bias);
}

void tts_fully_connected_input_grad(const FullyConnectedInputGradArgs* a) {
  FullyConnectedInputGrad(a->batches, a->output_depth, a->grad_output, a->filter,
                          a->filter_scales, a->input_depth, a->grad_input);
}

void tts_fully_connected_filter_grad(const FullyConnectedFilterGradArgs* a) {
  FullyConnectedFilterGrad(a->batches, a->input_depth, a->input, a->input_offset, a->input_scale,
                           a->output_depth, a->grad_output, a->r_begin, a->r_end, a->grad_filter);
}

void tts_pointwise_input_grad_channels(const PointwiseInputGradChannelsArgs* a) {
  PointwiseInputGradChannels(a->positions, a->output_channels, a->grad_output, a->filter,
                             a->filter_scales, a->ci_begin, a->ci_end, a->grad_input);
}

void tts_average_pool_grad(const PoolGradArgs* a) {
  AveragePoolGrad(a->params, a->output_dims, a->grad_output, a->input_dims, a->grad_input);
}

void tts_mean_grad(const MeanGradArgs* a) {
  MeanGrad(a->input_dims, a->grad_output, a->grad_input);
}

void tts_max_pool_grad(const PoolGradArgs* a) {
  MaxPoolGrad(a->params, a->input_dims, a->input, a->output_dims, a->grad_output,
              a->grad_input);
}

void tts_pad_grad(const PadGradArgs* a) {
  PadGrad(a->output_dims, a->grad_output, a->pad_before, a->input_dims, a->grad_input);
}

void tts_concatenation_grad(const ConcatenationGradArgs* a) {
  ConcatenationGrad(a->outer, a->inner, a->num_inputs, a->axis_sizes, a->grad_output,
                    a->grad_inputs);
}

void tts_activation_grad(const ActivationGradArgs* a) {
  ActivationGrad(a->size, a->output, a->range.min, a->range.max, a->grad_output, a->grad_input);
}

void tts_activation_grad_from_mask_group(const MaskGroupArgs* a) {
  ActivationGradFromMaskGroup(a->positions, a->channels, a->c_begin, a->group, a->mask, a->grad);
}

void tts_hard_swish_grad(const UnaryGradArgs* a) {
  HardSwishGrad(a->size, a->input, a->scale, a->zero_point, a->grad_output, a->grad_input);
}

void tts_logistic_grad(const UnaryGradArgs* a) {
  LogisticGrad(a->size, a->input, a->scale, a->zero_point, a->grad_output, a->grad_input);
}

void tts_leaky_relu_grad(const UnaryGradArgs* a) {
  LeakyReluGrad(a->size, a->input, a->zero_point, a->alpha, a->grad_output, a->grad_input);
}

void tts_transpose_grad(const TransposeGradArgs* a) {
  TransposeGrad(a->rank, a->input_shape, a->perm, a->grad_output, a->grad_input);
}

// The gradient operand's elements; false when the shapes do not broadcast.
static bool BinaryBroadcastOf(const BinaryGradArgs* a, Broadcast* b, int32_t* elements) {
  if (!PrepareBroadcast(a->shape1, a->rank1, a->shape2, a->rank2, b)) return false;
  const int32_t* shape = a->which == 0 ? a->shape1 : a->shape2;
  const int32_t rank = a->which == 0 ? a->rank1 : a->rank2;
  *elements = 1;
  for (int32_t d = 0; d < rank; ++d) *elements *= shape[d];
  return true;
}

void tts_mul_input_grad(const BinaryGradArgs* a) {
  Broadcast b;
  int32_t n = 0;
  if (!BinaryBroadcastOf(a, &b, &n)) return;
  MulInputGrad(b, a->which, n, a->other, a->other_scale, a->other_zero_point, a->grad_output,
               a->grad_input);
}

void tts_sub_input_grad(const BinaryGradArgs* a) {
  Broadcast b;
  int32_t n = 0;
  if (!BinaryBroadcastOf(a, &b, &n)) return;
  SubInputGrad(b, a->which, n, a->grad_output, a->grad_input);
}

void tts_softmax_cross_entropy_logits(SoftmaxCrossEntropyLogitsArgs* a) {
  SoftmaxCrossEntropyFromLogits(a->num_classes, a->logits, a->label, a->grad, &a->loss);
}

void tts_softmax_cross_entropy_int8_logits(SoftmaxCrossEntropyInt8LogitsArgs* a) {
  SoftmaxCrossEntropyFromInt8Logits(a->num_classes, a->logits, a->scale, a->beta, a->label,
                                    a->grad, &a->loss);
}

void tts_mean_squared_error(MeanSquaredErrorArgs* a) {
  MeanSquaredError(a->size, a->prediction, a->target, a->grad, &a->loss);
}

void tts_mean_squared_error_int8(MeanSquaredErrorInt8Args* a) {
  MeanSquaredErrorInt8(a->size, a->prediction, a->scale, a->zero_point, a->target, a->grad,
                       &a->loss);
}

void tts_sgd_int8(SgdInt8Args* a) {
  SgdUpdateInt8(a->params, a->slice, a->grad, a->factor, a->momentum, &a->rng_state, a->weights);
}

void tts_sgd_int32(SgdInt32Args* a) {
  SgdUpdateInt32(a->params, a->slice, a->grad, a->factor, a->momentum, &a->rng_state, a->weights);
}

void tts_grad_accumulate(const GradAccumulateArgs* a) {
  GradAccumulate(a->size, a->grad, a->accumulator);
}

void tts_grad_scale(const GradScaleArgs* a) {
  GradScale(a->size, a->factor, a->buffer);
}

}  // extern "C"

namespace {

uint32_t Fnv(uint32_t h, const void* data, int32_t bytes) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  for (int32_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 16777619u;
  return h;
}

constexpr uint32_t kFnvSeed = 2166136261u;

void FillFloat(uint32_t* rng, float* x, int32_t n, float amplitude) {
  for (int32_t i = 0; i < n; ++i) {
    const float u = static_cast<float>(XorShift32(rng) >> 8) * (1.0f / 16777216.0f);
    x[i] = (2.0f * u - 1.0f) * amplitude;
  }
}

void FillInt8(uint32_t* rng, int8_t* x, int32_t n) {
  for (int32_t i = 0; i < n; ++i) x[i] = static_cast<int8_t>(XorShift32(rng) >> 24);
}

// Static buffers: large for the firmware stack, and no heap.
float g_out[2 * 9 * 9 * 12];
float g_in[2 * 9 * 9 * 12];
float g_w[12 * 3 * 3 * 6];
float g_scales[12];
int8_t g_xq[2 * 9 * 9 * 12];
int8_t g_wq[12 * 3 * 3 * 6];

}  // namespace

extern "C" void tts_determinism_digest(DeterminismDigestArgs* a) {
  uint32_t* digest = a->digest;
  uint32_t rng = 0x9e3779b9u;
  FillInt8(&rng, g_xq, 2 * 9 * 9 * 6);
  FillInt8(&rng, g_wq, 12 * 3 * 3 * 6);
  FillFloat(&rng, g_scales, 12, 0.05f);
  for (int32_t i = 0; i < 12; ++i) g_scales[i] = g_scales[i] < 0 ? -g_scales[i] : g_scales[i];
  // Conv, stride 2, SAME-like padding; and dilation 2.
  const int32_t geoms[2][6] = {{2, 2, 1, 1, 1, 1}, {1, 1, 1, 2, 2, 2}};
  const int32_t outs[2][4] = {{2, 5, 5, 12}, {2, 7, 9, 12}};
  uint32_t h0 = kFnvSeed, h1 = kFnvSeed, h2 = kFnvSeed;
  for (int32_t k = 0; k < 2; ++k) {
    const ConvParams p = MakeConv(-7, geoms[k]);
    const Dims in{2, 9, 9, 6}, f{12, 3, 3, 6}, o{outs[k][0], outs[k][1], outs[k][2], outs[k][3]};
    FillFloat(&rng, g_out, FlatSize(o), 1.0f);
    ConvInputGrad(p, o, g_out, f, g_wq, g_scales, in, g_in);
    h0 = Fnv(h0, g_in, FlatSize(in) * 4);
    ConvFilterGrad(p, in, g_xq, 0.03f, o, g_out, f, 3, 9, g_w);
    h1 = Fnv(h1, g_w, 6 * 3 * 3 * 6 * 4);
    BiasGrad(o.n * o.h * o.w, 12, g_out, 0, 12, g_w);
    h2 = Fnv(h2, g_w, 12 * 4);
  }
  {  // 1x1 stride 1 (the blocked product paths), with position / column / channel tails
    const int32_t pointwise[6] = {1, 1, 0, 0, 1, 1};
    const ConvParams q = MakeConv(9, pointwise);
    const Dims in{2, 9, 9, 6}, f{12, 1, 1, 6}, o{2, 9, 9, 12};
    FillFloat(&rng, g_out, FlatSize(o), 1.0f);
    ConvInputGrad(q, o, g_out, f, g_wq, g_scales, in, g_in);
    h0 = Fnv(h0, g_in, FlatSize(in) * 4);
    PointwiseInputGradChannels(2 * 9 * 9, 12, g_out, FilterRows{g_wq, g_wq + 300, 5, 6}, g_scales,
                               1, 6, g_in);
    h0 = Fnv(h0, g_in, 2 * 9 * 9 * 5 * 4);
    ConvFilterGrad(q, in, g_xq, 0.03f, o, g_out, f, 3, 9, g_w);
    h1 = Fnv(h1, g_w, 6 * 6 * 4);
  }
  digest[0] = h0;
  digest[1] = h1;
  digest[2] = h2;
  {  // depthwise, multiplier 2, stride 2
    const DepthwiseParams p = MakeDepthwise(5, 2, geoms[0]);
    const Dims in{2, 9, 9, 6}, f{1, 3, 3, 12}, o{2, 5, 5, 12};
    FillFloat(&rng, g_out, FlatSize(o), 1.0f);
    DepthwiseConvInputGrad(p, o, g_out, f, g_wq, g_scales, in, g_in);
    uint32_t h = Fnv(kFnvSeed, g_in, FlatSize(in) * 4);
    DepthwiseConvFilterGrad(p, in, g_xq, 0.02f, o, g_out, f, 2, 11, g_w);
    h = Fnv(h, g_w, 3 * 3 * 9 * 4);
    // Multiplier 1 (the fast path, on the boards with its VFP rows of 8 channels plus a
    // remainder block): 7x7 SAME, then 5x5 stride 2, then the consuming form.
    const int32_t same7[6] = {1, 1, 3, 3, 1, 1}, strided5[6] = {2, 2, 2, 2, 1, 1};
    const Dims in1{1, 9, 9, 12}, f7{1, 7, 7, 12}, f5{1, 5, 5, 12}, o5{1, 5, 5, 12};
    FillFloat(&rng, g_out, FlatSize(in1), 1.0f);
    DepthwiseConvInputGrad(MakeDepthwise(0, 1, same7), in1, g_out, f7, g_wq, g_scales, in1, g_in);
    h = Fnv(h, g_in, FlatSize(in1) * 4);
    DepthwiseConvInputGrad(MakeDepthwise(0, 1, strided5), o5, g_out, f5, g_wq, g_scales, in1,
                           g_in);
    h = Fnv(h, g_in, FlatSize(in1) * 4);
    DepthwiseConvInputGradConsuming(MakeDepthwise(0, 1, same7), in1, g_out, f7,
                                    WholeDepthwiseFilter(g_wq, 12), g_scales, in1, g_in);
    h = Fnv(h, g_in, FlatSize(in1) * 4);
    digest[3] = Fnv(h, g_out, FlatSize(in1) * 4);
  }
  {  // fully connected [3, 54] x [12, 54]
    FillFloat(&rng, g_out, 3 * 12, 2.0f);
    FullyConnectedInputGrad(3, 12, g_out, g_wq, g_scales, 54, g_in);
    uint32_t h = Fnv(kFnvSeed, g_in, 3 * 54 * 4);
    FullyConnectedFilterGrad(3, 54, g_xq, 11, 0.04f, 12, g_out, 0, 12, g_w);
    digest[4] = Fnv(h, g_w, 12 * 54 * 4);
  }
  {  // pools 3x3 stride 2 pad 1, mean
    const int32_t geom[6] = {2, 2, 1, 1, 3, 3};
    const Dims in{2, 9, 9, 6}, o{2, 5, 5, 6};
    FillFloat(&rng, g_out, FlatSize(o), 1.0f);
    AveragePoolGrad(MakePool(geom), o, g_out, in, g_in);
    uint32_t h = Fnv(kFnvSeed, g_in, FlatSize(in) * 4);
    MaxPoolGrad(MakePool(geom), in, g_xq, o, g_out, g_in);
    h = Fnv(h, g_in, FlatSize(in) * 4);
    MeanGrad(in, g_out, g_in);
    digest[5] = Fnv(h, g_in, FlatSize(in) * 4);
  }
  {  // Exp / Log over wide ranges, including subnormal results and arguments
    uint32_t h = kFnvSeed;
    for (int32_t i = 0; i < 4000; ++i) {
      const float x = -104.0f + static_cast<float>(i) * (193.0f / 4000.0f);
      const float y = Exp(x);
      h = Fnv(h, &y, 4);
    }
    digest[6] = h;
    h = kFnvSeed;
    for (uint32_t bits = 1u; bits < 0x7f800000u; bits += 0x0007f3a1u) {
      float x;
      __builtin_memcpy(&x, &bits, 4);
      const float y = Log(x);
      h = Fnv(h, &y, 4);
    }
    digest[7] = h;
  }
  {  // losses
    float loss[3];
    FillFloat(&rng, g_in, 10, 30.0f);
    SoftmaxCrossEntropyFromLogits(10, g_in, 3, g_out, &loss[0]);
    uint32_t h = Fnv(kFnvSeed, g_out, 40);
    SoftmaxCrossEntropyFromInt8Logits(10, g_xq, 0.1f, 1.0f, 7, g_out, &loss[1]);
    h = Fnv(h, g_out, 40);
    SoftmaxCrossEntropyFromInt8Logits(10, g_xq, 0.1f, 0.7f, 2, g_out, &loss[2]);
    h = Fnv(h, g_out, 40);
    MeanSquaredErrorInt8(10, g_xq, 0.07f, 3, g_in, g_out, &loss[2]);
    h = Fnv(h, g_out, 40);
    digest[8] = Fnv(h, loss, 12);
  }
  {  // SGD: nearest and stochastic, int8 and int32, with momentum
    uint32_t sr = 12345u;
    FillFloat(&rng, g_w, 12 * 54, 3.0f);
    FillFloat(&rng, g_in, 12 * 54, 1.0f);
    const ChannelSlice slice{1, 12, 54, 2, 10};
    SgdUpdateInt8(SgdParams{0.7f, 0.9f, RoundingMode::kNearest}, slice, g_w, g_scales, nullptr,
                  nullptr, g_wq);
    SgdUpdateInt8(SgdParams{0.7f, 0.9f, RoundingMode::kStochastic}, slice, g_w, g_scales, g_in,
                  &sr, g_wq);
    uint32_t h = Fnv(kFnvSeed, g_wq, 12 * 54);
    h = Fnv(h, g_in, 8 * 54 * 4);
    int32_t bias[12];
    for (int32_t i = 0; i < 12; ++i) bias[i] = static_cast<int32_t>(XorShift32(&rng));
    FillFloat(&rng, g_w, 12, 3e9f);
    const ChannelSlice bslice{1, 12, 1, 0, 12};
    SgdUpdateInt32(SgdParams{1.0f, 0.0f, RoundingMode::kStochastic}, bslice, g_w, g_scales,
                   nullptr, &sr, bias);
    digest[9] = Fnv(h, bias, 48);
  }
  {  // activation, pad, concat, accumulate
    FillFloat(&rng, g_out, 2 * 9 * 9 * 6, 1.0f);
    ActivationGrad(2 * 9 * 9 * 6, g_xq, -20, 100, g_out, g_in);
    uint32_t h = Fnv(kFnvSeed, g_in, 2 * 9 * 9 * 6 * 4);
    const int32_t pad_before[4] = {0, 1, 2, 0};
    PadGrad(Dims{2, 9, 9, 6}, g_out, pad_before, Dims{2, 7, 6, 6}, g_in);
    h = Fnv(h, g_in, 2 * 7 * 6 * 6 * 4);
    GradAccumulate(100, g_out, g_in);
    GradScale(100, 0.125f, g_in);
    digest[10] = Fnv(h, g_in, 400);
  }
  digest[11] = Fnv(kFnvSeed, digest, 11 * 4);
}

#ifdef TTS_FIRMWARE_MAIN
#include "targets/board/board.h"

int main() {
  board_init();
  DeterminismDigestArgs a;
  tts_determinism_digest(&a);
  for (int32_t i = 0; i < kDigestCount; ++i) {
    board_printf("digest %d %08lx\n", static_cast<int>(i), static_cast<unsigned long>(a.digest[i]));
  }
  board_flush();
  return 0;
}
#endif  // TTS_FIRMWARE_MAIN
