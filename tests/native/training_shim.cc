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
#include "kernels/training/max_pool_grad.h"
#include "kernels/training/mean_grad.h"
#include "kernels/training/mean_squared_error.h"
#include "kernels/training/pad_grad.h"
#include "kernels/training/sgd_update.h"
#include "kernels/training/softmax_cross_entropy.h"
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

struct ConvFilterGradArgs {
  ConvParams params;  // input_offset: -input zero point
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

// The filter's channels filter_stride apart (filter_dims.c for a whole filter; more for a channel
// group of a wider one). The consuming form leaves grad_output holding g * filter scale.
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
};

struct DepthwiseFilterGradArgs {
  DepthwiseParams params;  // input_offset: -input zero point
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

struct MaskGroupArgs {
  int32_t positions;
  int32_t channels;
  int32_t c_begin;
  int32_t group;
  const uint8_t* mask;
  float* grad;
};

struct SoftmaxCrossEntropyProbsArgs {
  int32_t num_classes;
  const int8_t* probs;
  float scale;
  int32_t zero_point;
  int32_t label;
  float epsilon;
  float* grad;
  float loss;  // out
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

// momentum may be null; rng_state is advanced in place.
struct SgdInt8Args {
  SgdParams params;
  ChannelSlice slice;
  const float* grad;
  const float* factor;
  float* momentum;
  uint32_t rng_state;
  int8_t* weights;
};

struct SgdInt32Args {
  SgdParams params;
  ChannelSlice slice;
  const float* grad;
  const float* factor;
  float* momentum;
  uint32_t rng_state;
  int32_t* bias;
};

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

constexpr tts::FieldLayout kLayouts[] = {
    TTS_STRUCT(Dims), TTS_FIELD(Dims, n), TTS_FIELD(Dims, h), TTS_FIELD(Dims, w),
    TTS_FIELD(Dims, c),
    TTS_STRUCT(Tile), TTS_FIELD(Tile, h), TTS_FIELD(Tile, w),
    TTS_STRUCT(ActivationRange), TTS_FIELD(ActivationRange, min), TTS_FIELD(ActivationRange, max),
    TTS_STRUCT(ConvParams), TTS_FIELD(ConvParams, input_offset),
    TTS_FIELD(ConvParams, output_offset), TTS_FIELD(ConvParams, stride),
    TTS_FIELD(ConvParams, padding), TTS_FIELD(ConvParams, dilation),
    TTS_FIELD(ConvParams, activation),
    TTS_STRUCT(DepthwiseParams), TTS_FIELD(DepthwiseParams, input_offset),
    TTS_FIELD(DepthwiseParams, output_offset), TTS_FIELD(DepthwiseParams, depth_multiplier),
    TTS_FIELD(DepthwiseParams, stride), TTS_FIELD(DepthwiseParams, padding),
    TTS_FIELD(DepthwiseParams, dilation), TTS_FIELD(DepthwiseParams, activation),
    TTS_STRUCT(PoolParams), TTS_FIELD(PoolParams, stride), TTS_FIELD(PoolParams, padding),
    TTS_FIELD(PoolParams, filter), TTS_FIELD(PoolParams, activation),
    TTS_STRUCT(FilterRows), TTS_FIELD(FilterRows, base), TTS_FIELD(FilterRows, head),
    TTS_FIELD(FilterRows, head_rows), TTS_FIELD(FilterRows, row_size),
    TTS_STRUCT(SgdParams), TTS_FIELD(SgdParams, learning_rate), TTS_FIELD(SgdParams, momentum),
    TTS_FIELD(SgdParams, rounding),
    TTS_STRUCT(ChannelSlice), TTS_FIELD(ChannelSlice, outer), TTS_FIELD(ChannelSlice, channels),
    TTS_FIELD(ChannelSlice, inner), TTS_FIELD(ChannelSlice, c_begin),
    TTS_FIELD(ChannelSlice, c_end),
    TTS_STRUCT(FloatMathArgs), TTS_FIELD(FloatMathArgs, size), TTS_FIELD(FloatMathArgs, x),
    TTS_FIELD(FloatMathArgs, y),
    TTS_STRUCT(ConvInputGradArgs), TTS_FIELD(ConvInputGradArgs, params),
    TTS_FIELD(ConvInputGradArgs, output_dims), TTS_FIELD(ConvInputGradArgs, grad_output),
    TTS_FIELD(ConvInputGradArgs, filter_dims), TTS_FIELD(ConvInputGradArgs, filter),
    TTS_FIELD(ConvInputGradArgs, filter_scales), TTS_FIELD(ConvInputGradArgs, input_dims),
    TTS_FIELD(ConvInputGradArgs, grad_input),
    TTS_STRUCT(ConvFilterGradArgs), TTS_FIELD(ConvFilterGradArgs, params),
    TTS_FIELD(ConvFilterGradArgs, input_dims), TTS_FIELD(ConvFilterGradArgs, input),
    TTS_FIELD(ConvFilterGradArgs, input_scale), TTS_FIELD(ConvFilterGradArgs, output_dims),
    TTS_FIELD(ConvFilterGradArgs, grad_output), TTS_FIELD(ConvFilterGradArgs, filter_dims),
    TTS_FIELD(ConvFilterGradArgs, c_begin), TTS_FIELD(ConvFilterGradArgs, c_end),
    TTS_FIELD(ConvFilterGradArgs, grad_filter),
    TTS_STRUCT(DepthwiseInputGradArgs), TTS_FIELD(DepthwiseInputGradArgs, params),
    TTS_FIELD(DepthwiseInputGradArgs, output_dims), TTS_FIELD(DepthwiseInputGradArgs, grad_output),
    TTS_FIELD(DepthwiseInputGradArgs, filter_dims), TTS_FIELD(DepthwiseInputGradArgs, filter),
    TTS_FIELD(DepthwiseInputGradArgs, filter_stride),
    TTS_FIELD(DepthwiseInputGradArgs, filter_scales),
    TTS_FIELD(DepthwiseInputGradArgs, input_dims), TTS_FIELD(DepthwiseInputGradArgs, grad_input),
    TTS_STRUCT(DepthwiseInPlaceArgs), TTS_FIELD(DepthwiseInPlaceArgs, params),
    TTS_FIELD(DepthwiseInPlaceArgs, dims), TTS_FIELD(DepthwiseInPlaceArgs, filter_dims),
    TTS_FIELD(DepthwiseInPlaceArgs, filter), TTS_FIELD(DepthwiseInPlaceArgs, filter_scales),
    TTS_FIELD(DepthwiseInPlaceArgs, group), TTS_FIELD(DepthwiseInPlaceArgs, scratch),
    TTS_FIELD(DepthwiseInPlaceArgs, grad),
    TTS_STRUCT(DepthwiseFilterGradArgs), TTS_FIELD(DepthwiseFilterGradArgs, params),
    TTS_FIELD(DepthwiseFilterGradArgs, input_dims), TTS_FIELD(DepthwiseFilterGradArgs, input),
    TTS_FIELD(DepthwiseFilterGradArgs, input_scale),
    TTS_FIELD(DepthwiseFilterGradArgs, output_dims),
    TTS_FIELD(DepthwiseFilterGradArgs, grad_output),
    TTS_FIELD(DepthwiseFilterGradArgs, filter_dims), TTS_FIELD(DepthwiseFilterGradArgs, c_begin),
    TTS_FIELD(DepthwiseFilterGradArgs, c_end), TTS_FIELD(DepthwiseFilterGradArgs, grad_filter),
    TTS_STRUCT(BiasGradArgs), TTS_FIELD(BiasGradArgs, positions),
    TTS_FIELD(BiasGradArgs, channels), TTS_FIELD(BiasGradArgs, grad_output),
    TTS_FIELD(BiasGradArgs, c_begin), TTS_FIELD(BiasGradArgs, c_end),
    TTS_FIELD(BiasGradArgs, grad_bias),
    TTS_STRUCT(FullyConnectedInputGradArgs), TTS_FIELD(FullyConnectedInputGradArgs, batches),
    TTS_FIELD(FullyConnectedInputGradArgs, output_depth),
    TTS_FIELD(FullyConnectedInputGradArgs, grad_output),
    TTS_FIELD(FullyConnectedInputGradArgs, filter),
    TTS_FIELD(FullyConnectedInputGradArgs, filter_scales),
    TTS_FIELD(FullyConnectedInputGradArgs, input_depth),
    TTS_FIELD(FullyConnectedInputGradArgs, grad_input),
    TTS_STRUCT(FullyConnectedFilterGradArgs), TTS_FIELD(FullyConnectedFilterGradArgs, batches),
    TTS_FIELD(FullyConnectedFilterGradArgs, input_depth),
    TTS_FIELD(FullyConnectedFilterGradArgs, input),
    TTS_FIELD(FullyConnectedFilterGradArgs, input_offset),
    TTS_FIELD(FullyConnectedFilterGradArgs, input_scale),
    TTS_FIELD(FullyConnectedFilterGradArgs, output_depth),
    TTS_FIELD(FullyConnectedFilterGradArgs, grad_output),
    TTS_FIELD(FullyConnectedFilterGradArgs, r_begin),
    TTS_FIELD(FullyConnectedFilterGradArgs, r_end),
    TTS_FIELD(FullyConnectedFilterGradArgs, grad_filter),
    TTS_STRUCT(PointwiseInputGradChannelsArgs),
    TTS_FIELD(PointwiseInputGradChannelsArgs, positions),
    TTS_FIELD(PointwiseInputGradChannelsArgs, output_channels),
    TTS_FIELD(PointwiseInputGradChannelsArgs, grad_output),
    TTS_FIELD(PointwiseInputGradChannelsArgs, filter),
    TTS_FIELD(PointwiseInputGradChannelsArgs, filter_scales),
    TTS_FIELD(PointwiseInputGradChannelsArgs, ci_begin),
    TTS_FIELD(PointwiseInputGradChannelsArgs, ci_end),
    TTS_FIELD(PointwiseInputGradChannelsArgs, grad_input),
    TTS_STRUCT(PoolGradArgs), TTS_FIELD(PoolGradArgs, params), TTS_FIELD(PoolGradArgs, input_dims),
    TTS_FIELD(PoolGradArgs, input), TTS_FIELD(PoolGradArgs, output_dims),
    TTS_FIELD(PoolGradArgs, grad_output), TTS_FIELD(PoolGradArgs, grad_input),
    TTS_STRUCT(MeanGradArgs), TTS_FIELD(MeanGradArgs, input_dims),
    TTS_FIELD(MeanGradArgs, grad_output), TTS_FIELD(MeanGradArgs, grad_input),
    TTS_STRUCT(PadGradArgs), TTS_FIELD(PadGradArgs, output_dims),
    TTS_FIELD(PadGradArgs, grad_output), TTS_FIELD(PadGradArgs, pad_before),
    TTS_FIELD(PadGradArgs, input_dims), TTS_FIELD(PadGradArgs, grad_input),
    TTS_STRUCT(ConcatenationGradArgs), TTS_FIELD(ConcatenationGradArgs, outer),
    TTS_FIELD(ConcatenationGradArgs, inner), TTS_FIELD(ConcatenationGradArgs, num_inputs),
    TTS_FIELD(ConcatenationGradArgs, axis_sizes), TTS_FIELD(ConcatenationGradArgs, grad_output),
    TTS_FIELD(ConcatenationGradArgs, grad_inputs),
    TTS_STRUCT(ActivationGradArgs), TTS_FIELD(ActivationGradArgs, size),
    TTS_FIELD(ActivationGradArgs, output), TTS_FIELD(ActivationGradArgs, range),
    TTS_FIELD(ActivationGradArgs, grad_output), TTS_FIELD(ActivationGradArgs, grad_input),
    TTS_STRUCT(MaskGroupArgs), TTS_FIELD(MaskGroupArgs, positions),
    TTS_FIELD(MaskGroupArgs, channels), TTS_FIELD(MaskGroupArgs, c_begin),
    TTS_FIELD(MaskGroupArgs, group), TTS_FIELD(MaskGroupArgs, mask),
    TTS_FIELD(MaskGroupArgs, grad),
    TTS_STRUCT(SoftmaxCrossEntropyProbsArgs), TTS_FIELD(SoftmaxCrossEntropyProbsArgs, num_classes),
    TTS_FIELD(SoftmaxCrossEntropyProbsArgs, probs), TTS_FIELD(SoftmaxCrossEntropyProbsArgs, scale),
    TTS_FIELD(SoftmaxCrossEntropyProbsArgs, zero_point),
    TTS_FIELD(SoftmaxCrossEntropyProbsArgs, label),
    TTS_FIELD(SoftmaxCrossEntropyProbsArgs, epsilon),
    TTS_FIELD(SoftmaxCrossEntropyProbsArgs, grad), TTS_FIELD(SoftmaxCrossEntropyProbsArgs, loss),
    TTS_STRUCT(SoftmaxCrossEntropyLogitsArgs),
    TTS_FIELD(SoftmaxCrossEntropyLogitsArgs, num_classes),
    TTS_FIELD(SoftmaxCrossEntropyLogitsArgs, logits),
    TTS_FIELD(SoftmaxCrossEntropyLogitsArgs, label),
    TTS_FIELD(SoftmaxCrossEntropyLogitsArgs, grad), TTS_FIELD(SoftmaxCrossEntropyLogitsArgs, loss),
    TTS_STRUCT(SoftmaxCrossEntropyInt8LogitsArgs),
    TTS_FIELD(SoftmaxCrossEntropyInt8LogitsArgs, num_classes),
    TTS_FIELD(SoftmaxCrossEntropyInt8LogitsArgs, logits),
    TTS_FIELD(SoftmaxCrossEntropyInt8LogitsArgs, scale),
    TTS_FIELD(SoftmaxCrossEntropyInt8LogitsArgs, label),
    TTS_FIELD(SoftmaxCrossEntropyInt8LogitsArgs, grad),
    TTS_FIELD(SoftmaxCrossEntropyInt8LogitsArgs, loss),
    TTS_STRUCT(MeanSquaredErrorArgs), TTS_FIELD(MeanSquaredErrorArgs, size),
    TTS_FIELD(MeanSquaredErrorArgs, prediction), TTS_FIELD(MeanSquaredErrorArgs, target),
    TTS_FIELD(MeanSquaredErrorArgs, grad), TTS_FIELD(MeanSquaredErrorArgs, loss),
    TTS_STRUCT(MeanSquaredErrorInt8Args), TTS_FIELD(MeanSquaredErrorInt8Args, size),
    TTS_FIELD(MeanSquaredErrorInt8Args, prediction), TTS_FIELD(MeanSquaredErrorInt8Args, scale),
    TTS_FIELD(MeanSquaredErrorInt8Args, zero_point), TTS_FIELD(MeanSquaredErrorInt8Args, target),
    TTS_FIELD(MeanSquaredErrorInt8Args, grad), TTS_FIELD(MeanSquaredErrorInt8Args, loss),
    TTS_STRUCT(SgdInt8Args), TTS_FIELD(SgdInt8Args, params), TTS_FIELD(SgdInt8Args, slice),
    TTS_FIELD(SgdInt8Args, grad), TTS_FIELD(SgdInt8Args, factor), TTS_FIELD(SgdInt8Args, momentum),
    TTS_FIELD(SgdInt8Args, rng_state), TTS_FIELD(SgdInt8Args, weights),
    TTS_STRUCT(SgdInt32Args), TTS_FIELD(SgdInt32Args, params), TTS_FIELD(SgdInt32Args, slice),
    TTS_FIELD(SgdInt32Args, grad), TTS_FIELD(SgdInt32Args, factor),
    TTS_FIELD(SgdInt32Args, momentum), TTS_FIELD(SgdInt32Args, rng_state),
    TTS_FIELD(SgdInt32Args, bias),
    TTS_STRUCT(GradAccumulateArgs), TTS_FIELD(GradAccumulateArgs, size),
    TTS_FIELD(GradAccumulateArgs, grad), TTS_FIELD(GradAccumulateArgs, accumulator),
    TTS_STRUCT(GradScaleArgs), TTS_FIELD(GradScaleArgs, size), TTS_FIELD(GradScaleArgs, factor),
    TTS_FIELD(GradScaleArgs, buffer),
    TTS_STRUCT(DeterminismDigestArgs), TTS_FIELD(DeterminismDigestArgs, digest),
};
constexpr tts::EntryArgs kEntries[] = {
    {"tts_exp", "FloatMathArgs"},
    {"tts_log", "FloatMathArgs"},
    {"tts_floor", "FloatMathArgs"},
    {"tts_conv_input_grad", "ConvInputGradArgs"},
    {"tts_conv_input_grad_add", "ConvInputGradArgs"},
    {"tts_conv_filter_grad", "ConvFilterGradArgs"},
    {"tts_depthwise_input_grad", "DepthwiseInputGradArgs"},
    {"tts_depthwise_input_grad_strided", "DepthwiseInputGradArgs"},
    {"tts_depthwise_input_grad_consuming", "DepthwiseInputGradArgs"},
    {"tts_depthwise_input_grad_in_place", "DepthwiseInPlaceArgs"},
    {"tts_depthwise_filter_grad", "DepthwiseFilterGradArgs"},
    {"tts_bias_grad", "BiasGradArgs"},
    {"tts_fully_connected_input_grad", "FullyConnectedInputGradArgs"},
    {"tts_fully_connected_filter_grad", "FullyConnectedFilterGradArgs"},
    {"tts_pointwise_input_grad_channels", "PointwiseInputGradChannelsArgs"},
    {"tts_average_pool_grad", "PoolGradArgs"},
    {"tts_max_pool_grad", "PoolGradArgs"},
    {"tts_mean_grad", "MeanGradArgs"},
    {"tts_pad_grad", "PadGradArgs"},
    {"tts_concatenation_grad", "ConcatenationGradArgs"},
    {"tts_activation_grad", "ActivationGradArgs"},
    {"tts_activation_grad_from_mask_group", "MaskGroupArgs"},
    {"tts_softmax_cross_entropy_probs", "SoftmaxCrossEntropyProbsArgs"},
    {"tts_softmax_cross_entropy_logits", "SoftmaxCrossEntropyLogitsArgs"},
    {"tts_softmax_cross_entropy_int8_logits", "SoftmaxCrossEntropyInt8LogitsArgs"},
    {"tts_mean_squared_error", "MeanSquaredErrorArgs"},
    {"tts_mean_squared_error_int8", "MeanSquaredErrorInt8Args"},
    {"tts_sgd_int8", "SgdInt8Args"},
    {"tts_sgd_int32", "SgdInt32Args"},
    {"tts_grad_accumulate", "GradAccumulateArgs"},
    {"tts_grad_scale", "GradScaleArgs"},
    {"tts_determinism_digest", "DeterminismDigestArgs"},
};

}  // namespace

TTS_EXPORT_LAYOUTS()

extern "C" {

int32_t tts_exp(const FloatMathArgs* a) {
  for (int32_t i = 0; i < a->size; ++i) a->y[i] = Exp(a->x[i]);
  return 0;
}

int32_t tts_log(const FloatMathArgs* a) {
  for (int32_t i = 0; i < a->size; ++i) a->y[i] = Log(a->x[i]);
  return 0;
}

int32_t tts_floor(const FloatMathArgs* a) {
  for (int32_t i = 0; i < a->size; ++i) a->y[i] = Floor(a->x[i]);
  return 0;
}

int32_t tts_conv_input_grad(const ConvInputGradArgs* a) {
  ConvInputGrad(a->params, a->output_dims, a->grad_output, a->filter_dims, a->filter,
                a->filter_scales, a->input_dims, a->grad_input);
  return 0;
}

// ConvInputGradRowsAdd (1x1 stride 1 only): returns 1 when added, 0 when the shapes are refused.
int32_t tts_conv_input_grad_add(const ConvInputGradArgs* a) {
  if (!ConvInputGradAdds(a->params, a->filter_dims, a->input_dims, a->output_dims)) return 0;
  const Dims& f = a->filter_dims;
  ConvInputGradRowsAdd(a->params, a->output_dims, a->grad_output, f,
                       WholeFilter(a->filter, f.h * f.w * a->input_dims.c), a->filter_scales,
                       a->input_dims, a->grad_input);
  return 1;
}

int32_t tts_conv_filter_grad(const ConvFilterGradArgs* a) {
  ConvFilterGrad(a->params, a->input_dims, a->input, a->input_scale, a->output_dims,
                 a->grad_output, a->filter_dims, a->c_begin, a->c_end, a->grad_filter);
  return 0;
}

// The plain form reads a whole filter: returns 1 unless filter_stride says so.
int32_t tts_depthwise_input_grad(const DepthwiseInputGradArgs* a) {
  if (a->filter_stride != a->filter_dims.c) return 1;
  DepthwiseConvInputGrad(a->params, a->output_dims, a->grad_output, a->filter_dims, a->filter,
                         a->filter_scales, a->input_dims, a->grad_input);
  return 0;
}

int32_t tts_depthwise_input_grad_strided(const DepthwiseInputGradArgs* a) {
  DepthwiseConvInputGradStrided(a->params, a->output_dims, a->grad_output, a->filter_dims,
                                a->filter, a->filter_stride, a->filter_scales, a->input_dims,
                                a->grad_input);
  return 0;
}

int32_t tts_depthwise_input_grad_consuming(const DepthwiseInputGradArgs* a) {
  DepthwiseConvInputGradConsuming(a->params, a->output_dims, a->grad_output, a->filter_dims,
                                  a->filter, a->filter_stride, a->filter_scales, a->input_dims,
                                  a->grad_input);
  return 0;
}

int32_t tts_depthwise_input_grad_in_place(const DepthwiseInPlaceArgs* a) {
  DepthwiseConvInputGradInPlace(a->params, a->dims, a->filter_dims, a->filter, a->filter_scales,
                                a->group, a->scratch, a->grad);
  return 0;
}

int32_t tts_depthwise_filter_grad(const DepthwiseFilterGradArgs* a) {
  DepthwiseConvFilterGrad(a->params, a->input_dims, a->input, a->input_scale, a->output_dims,
                          a->grad_output, a->filter_dims, a->c_begin, a->c_end, a->grad_filter);
  return 0;
}

int32_t tts_bias_grad(const BiasGradArgs* a) {
  BiasGrad(a->positions, a->channels, a->grad_output, a->c_begin, a->c_end, a->grad_bias);
  return 0;
}

int32_t tts_fully_connected_input_grad(const FullyConnectedInputGradArgs* a) {
  FullyConnectedInputGrad(a->batches, a->output_depth, a->grad_output, a->filter,
                          a->filter_scales, a->input_depth, a->grad_input);
  return 0;
}

int32_t tts_fully_connected_filter_grad(const FullyConnectedFilterGradArgs* a) {
  FullyConnectedFilterGrad(a->batches, a->input_depth, a->input, a->input_offset, a->input_scale,
                           a->output_depth, a->grad_output, a->r_begin, a->r_end, a->grad_filter);
  return 0;
}

int32_t tts_pointwise_input_grad_channels(const PointwiseInputGradChannelsArgs* a) {
  PointwiseInputGradChannels(a->positions, a->output_channels, a->grad_output, a->filter,
                             a->filter_scales, a->ci_begin, a->ci_end, a->grad_input);
  return 0;
}

int32_t tts_average_pool_grad(const PoolGradArgs* a) {
  AveragePoolGrad(a->params, a->output_dims, a->grad_output, a->input_dims, a->grad_input);
  return 0;
}

int32_t tts_max_pool_grad(const PoolGradArgs* a) {
  MaxPoolGrad(a->params, a->input_dims, a->input, a->output_dims, a->grad_output,
              a->grad_input);
  return 0;
}

int32_t tts_mean_grad(const MeanGradArgs* a) {
  MeanGrad(a->input_dims, a->grad_output, a->grad_input);
  return 0;
}

int32_t tts_pad_grad(const PadGradArgs* a) {
  PadGrad(a->output_dims, a->grad_output, a->pad_before, a->input_dims, a->grad_input);
  return 0;
}

int32_t tts_concatenation_grad(const ConcatenationGradArgs* a) {
  ConcatenationGrad(a->outer, a->inner, a->num_inputs, a->axis_sizes, a->grad_output,
                    a->grad_inputs);
  return 0;
}

int32_t tts_activation_grad(const ActivationGradArgs* a) {
  ActivationGrad(a->size, a->output, a->range.min, a->range.max, a->grad_output, a->grad_input);
  return 0;
}

int32_t tts_activation_grad_from_mask_group(const MaskGroupArgs* a) {
  ActivationGradFromMaskGroup(a->positions, a->channels, a->c_begin, a->group, a->mask, a->grad);
  return 0;
}

int32_t tts_softmax_cross_entropy_probs(SoftmaxCrossEntropyProbsArgs* a) {
  SoftmaxCrossEntropyFromProbs(a->num_classes, a->probs, a->scale, a->zero_point, a->label,
                               a->epsilon, a->grad, &a->loss);
  return 0;
}

int32_t tts_softmax_cross_entropy_logits(SoftmaxCrossEntropyLogitsArgs* a) {
  SoftmaxCrossEntropyFromLogits(a->num_classes, a->logits, a->label, a->grad, &a->loss);
  return 0;
}

int32_t tts_softmax_cross_entropy_int8_logits(SoftmaxCrossEntropyInt8LogitsArgs* a) {
  SoftmaxCrossEntropyFromInt8Logits(a->num_classes, a->logits, a->scale, a->label, a->grad,
                                    &a->loss);
  return 0;
}

int32_t tts_mean_squared_error(MeanSquaredErrorArgs* a) {
  MeanSquaredError(a->size, a->prediction, a->target, a->grad, &a->loss);
  return 0;
}

int32_t tts_mean_squared_error_int8(MeanSquaredErrorInt8Args* a) {
  MeanSquaredErrorInt8(a->size, a->prediction, a->scale, a->zero_point, a->target, a->grad,
                       &a->loss);
  return 0;
}

int32_t tts_sgd_int8(SgdInt8Args* a) {
  SgdUpdateInt8(a->params, a->slice, a->grad, a->factor, a->momentum, &a->rng_state, a->weights);
  return 0;
}

int32_t tts_sgd_int32(SgdInt32Args* a) {
  SgdUpdateInt32(a->params, a->slice, a->grad, a->factor, a->momentum, &a->rng_state, a->bias);
  return 0;
}

int32_t tts_grad_accumulate(const GradAccumulateArgs* a) {
  GradAccumulate(a->size, a->grad, a->accumulator);
  return 0;
}

int32_t tts_grad_scale(const GradScaleArgs* a) {
  GradScale(a->size, a->factor, a->buffer);
  return 0;
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

extern "C" int32_t tts_determinism_digest(DeterminismDigestArgs* a) {
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
    DepthwiseConvInputGradConsuming(MakeDepthwise(0, 1, same7), in1, g_out, f7, g_wq, 12,
                                    g_scales, in1, g_in);
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
    SoftmaxCrossEntropyFromInt8Logits(10, g_xq, 0.1f, 7, g_out, &loss[1]);
    h = Fnv(h, g_out, 40);
    SoftmaxCrossEntropyFromProbs(10, g_xq, 1.0f / 256.0f, -128, 2, 1e-7f, g_out, &loss[2]);
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
  return 0;
}

#ifdef TTS_FIRMWARE_MAIN
#include "examples/firmware/board/board.h"

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
