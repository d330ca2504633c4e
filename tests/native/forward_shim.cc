// C entry points over the forward kernels for the Python bit-exactness tests (ctypes). Each entry
// takes one argument struct (named fields, mirrored by tests/kernels/forward_shim.py and checked
// against the layouts exported below) holding the raw float scales / zero points / options
// exactly as stored in the .tflite, and runs the op's prepare + eval, so the tests cover both.
// Returns 0 on success.
#include <cstdint>

#include "kernels/add.h"
#include "kernels/average_pool.h"
#include "kernels/concatenation.h"
#include "kernels/conv.h"
#include "kernels/conv_window.h"
#include "kernels/depthwise_conv.h"
#include "kernels/dequantize.h"
#include "kernels/fully_connected.h"
#include "kernels/max_pool.h"
#include "kernels/mean.h"
#include "kernels/pad.h"
#include "kernels/quant_math.h"
#include "kernels/quantize.h"
#include "kernels/softmax.h"
#include "tests/native/layout.h"

using namespace tflm_train;

namespace {

constexpr int32_t kMaxChannels = 4096;
constexpr int32_t kMaxInputs = 16;

struct QuantizeMultiplierArgs {
  double real;
  int32_t multiplier;  // out
  int32_t shift;       // out
};

struct MultiplyByQuantizedMultiplierArgs {
  int32_t x;
  int32_t multiplier;
  int32_t shift;
  int32_t result;  // out
};

// n elements per array; the outputs are the reference's and the SMULL formulation's.
struct RequantizeBothArgs {
  const int32_t* acc;
  const int32_t* multiplier;
  const int32_t* shift;
  const int32_t* output_offset;
  const int32_t* act_min;
  const int32_t* act_max;
  int32_t n;
  int32_t* mbqm_ref;
  int32_t* mbqm_smull;
  int8_t* out_ref;
  int8_t* out_smull;
};

struct RequantizeDoubledArgs {
  int32_t n;
  const int32_t* acc;
  const int32_t* multiplier;
  const int32_t* shift;
  const int32_t* output_offset;
  int32_t* eligible;
  int32_t* out;
  int32_t* out8;
};

// CONV_2D and DEPTHWISE_CONV_2D.
struct ConvArgs {
  const int8_t* input;
  Dims input_dims;
  float input_scale;
  int32_t input_zero_point;
  const int8_t* filter;
  Dims filter_dims;
  const float* filter_scales;
  int32_t num_filter_scales;
  const int32_t* bias;  // may be null
  float output_scale;
  int32_t output_zero_point;
  int32_t depth_multiplier;  // DEPTHWISE_CONV_2D's; 1 for CONV_2D
  Tile stride;
  Tile dilation;
  Padding padding;
  FusedActivation activation;
  int8_t* output;
  Dims output_dims;  // out
  // DEPTHWISE_CONV_2D only: channels [0, filter_head_channels) read from filter_head, laid out
  // [1, kh, kw, filter_head_channels] (a DepthwiseFilter split); null: the filter whole.
  const int8_t* filter_head;
  int32_t filter_head_channels;
};

struct FullyConnectedArgs {
  const int8_t* input;
  int32_t batches;
  int32_t depth;
  float input_scale;
  int32_t input_zero_point;
  const int8_t* filter;
  int32_t units;
  const float* filter_scales;  // one: per-tensor weights
  int32_t num_filter_scales;
  int32_t filter_zero_point;
  const int32_t* bias;  // may be null
  float output_scale;
  int32_t output_zero_point;
  FusedActivation activation;
  int8_t* output;
};

struct PoolArgs {
  const int8_t* input;
  Dims input_dims;
  float output_scale;
  int32_t output_zero_point;
  Tile filter;
  Tile stride;
  Padding padding;
  FusedActivation activation;
  int8_t* output;
  Dims output_dims;  // out
};

struct MeanArgs {
  const int8_t* input;
  Dims input_dims;
  float input_scale;
  int32_t input_zero_point;
  float output_scale;
  int32_t output_zero_point;
  int8_t* output;
};

struct SoftmaxArgs {
  const int8_t* input;
  int32_t outer;
  int32_t depth;
  float beta;
  float input_scale;
  int8_t* output;
};

struct AddArgs {
  const int8_t* input1;
  Dims input1_dims;
  float input1_scale;
  int32_t input1_zero_point;
  const int8_t* input2;
  Dims input2_dims;
  float input2_scale;
  int32_t input2_zero_point;
  float output_scale;
  int32_t output_zero_point;
  FusedActivation activation;
  Dims output_dims;
  int8_t* output;
};

struct PadArgs {
  const int8_t* input;
  Dims input_dims;
  int32_t before[4];
  int32_t after[4];
  int32_t has_constant;  // PADV2's constant input present
  int32_t constant;
  int32_t output_zero_point;
  int8_t* output;
};

struct ConcatenationArgs {
  int32_t num_inputs;
  const int8_t* const* inputs;
  const int32_t* axis_sizes;
  const float* scales;
  const int32_t* zero_points;
  float output_scale;
  int32_t output_zero_point;
  int32_t requantize;
  int32_t outer;
  int32_t inner;
  int8_t* output;
};

struct QuantizeArgs {
  const float* input;
  int32_t size;
  float scale;
  int32_t zero_point;
  int8_t* output;
};

struct RequantizeArgs {
  const int8_t* input;
  int32_t size;
  float input_scale;
  int32_t input_zero_point;
  float output_scale;
  int32_t output_zero_point;
  int8_t* output;
};

struct DequantizeArgs {
  const int8_t* input;
  int32_t size;
  float scale;
  int32_t zero_point;
  float* output;
};

const tts::StructLayout kLayouts[] = {
    TTS_LAYOUT(Dims, n, h, w, c),
    TTS_LAYOUT(Tile, h, w),
    TTS_LAYOUT(QuantizeMultiplierArgs, real, multiplier, shift),
    TTS_LAYOUT(MultiplyByQuantizedMultiplierArgs, x, multiplier, shift, result),
    TTS_LAYOUT(RequantizeBothArgs, acc, multiplier, shift, output_offset, act_min, act_max, n,
               mbqm_ref, mbqm_smull, out_ref, out_smull),
    TTS_LAYOUT(RequantizeDoubledArgs, n, acc, multiplier, shift, output_offset, eligible, out,
               out8),
    TTS_LAYOUT(ConvArgs, input, input_dims, input_scale, input_zero_point, filter, filter_dims,
               filter_scales, num_filter_scales, bias, output_scale, output_zero_point,
               depth_multiplier, stride, dilation, padding, activation, output, output_dims,
               filter_head, filter_head_channels),
    TTS_LAYOUT(FullyConnectedArgs, input, batches, depth, input_scale, input_zero_point,
               filter, units, filter_scales, num_filter_scales, filter_zero_point, bias,
               output_scale, output_zero_point, activation, output),
    TTS_LAYOUT(PoolArgs, input, input_dims, output_scale, output_zero_point, filter, stride,
               padding, activation, output, output_dims),
    TTS_LAYOUT(MeanArgs, input, input_dims, input_scale, input_zero_point, output_scale,
               output_zero_point, output),
    TTS_LAYOUT(SoftmaxArgs, input, outer, depth, beta, input_scale, output),
    TTS_LAYOUT(AddArgs, input1, input1_dims, input1_scale, input1_zero_point, input2,
               input2_dims, input2_scale, input2_zero_point, output_scale, output_zero_point,
               activation, output_dims, output),
    TTS_LAYOUT(PadArgs, input, input_dims, before, after, has_constant, constant,
               output_zero_point, output),
    TTS_LAYOUT(ConcatenationArgs, num_inputs, inputs, axis_sizes, scales, zero_points,
               output_scale, output_zero_point, requantize, outer, inner, output),
    TTS_LAYOUT(QuantizeArgs, input, size, scale, zero_point, output),
    TTS_LAYOUT(RequantizeArgs, input, size, input_scale, input_zero_point, output_scale,
               output_zero_point, output),
    TTS_LAYOUT(DequantizeArgs, input, size, scale, zero_point, output),
};

constexpr tts::EntryArgs kEntries[] = {
    {"tts_quantize_multiplier", "QuantizeMultiplierArgs"},
    {"tts_multiply_by_quantized_multiplier", "MultiplyByQuantizedMultiplierArgs"},
    {"tts_requantize_both", "RequantizeBothArgs"},
    {"tts_requantize_doubled", "RequantizeDoubledArgs"},
    {"tts_conv", "ConvArgs"},
    {"tts_depthwise_conv", "ConvArgs"},
    {"tts_fully_connected", "FullyConnectedArgs"},
    {"tts_average_pool", "PoolArgs"},
    {"tts_max_pool", "PoolArgs"},
    {"tts_mean", "MeanArgs"},
    {"tts_softmax", "SoftmaxArgs"},
    {"tts_add", "AddArgs"},
    {"tts_pad", "PadArgs"},
    {"tts_concatenation", "ConcatenationArgs"},
    {"tts_quantize", "QuantizeArgs"},
    {"tts_requantize", "RequantizeArgs"},
    {"tts_dequantize", "DequantizeArgs"},
};

// The pooled output's shape from Prepare; both pools share it.
PoolParams PreparePool(const PoolArgs& a, Dims* od) {
  PoolParams p;
  int32_t oh = 0, ow = 0;
  PoolPrepare(a.output_scale, a.output_zero_point, a.input_dims.h, a.input_dims.w, a.filter,
              a.stride, a.padding, a.activation, &p, &oh, &ow);
  *od = Dims{a.input_dims.n, oh, ow, a.input_dims.c};
  return p;
}

}  // namespace

TTS_EXPORT_LAYOUTS()

extern "C" {

int32_t tts_quantize_multiplier(QuantizeMultiplierArgs* a) {
  const QuantMultiplier q = QuantizeMultiplier(a->real);
  a->multiplier = q.multiplier;
  a->shift = q.shift;
  return 0;
}

int32_t tts_multiply_by_quantized_multiplier(MultiplyByQuantizedMultiplierArgs* a) {
  a->result = MultiplyByQuantizedMultiplier(a->x, a->multiplier, a->shift);
  return 0;
}

// The output stage in both formulations over arrays (kernels/conv_window.h): the reference
// and the SMULL one the DSP path uses, the latter with its portable helpers (the host has no DSP
// instructions; the firmware test covers the Arm ones).
int32_t tts_requantize_both(const RequantizeBothArgs* a) {
  for (int32_t i = 0; i < a->n; ++i) {
    const ActivationRange act{a->act_min[i], a->act_max[i]};
    const int32_t acc = a->acc[i], m = a->multiplier[i], s = a->shift[i];
    a->mbqm_ref[i] = MultiplyByQuantizedMultiplier(acc, m, s);
    a->mbqm_smull[i] = MultiplyByQuantizedMultiplierSmull(acc, m, s);
    a->out_ref[i] = RequantizeToInt8Reference(acc, m, s, a->output_offset[i], act);
    a->out_smull[i] = RequantizeToInt8Smull(acc, m, s, a->output_offset[i], act);
  }
  return 0;
}

// The DSP kernels' fast output stage (RequantizeDoubledInt32 / RequantizeDoubled, quant_math.h,
// with its portable helper) over arrays, for inputs in its domain (the caller checks): the
// value before the int8 saturation, to compare with the reference's requantised value plus
// output_offset, and the saturated one.
int32_t tts_requantize_doubled(const RequantizeDoubledArgs* a) {
  for (int32_t i = 0; i < a->n; ++i) {
    const int32_t m = a->multiplier[i], s = a->shift[i], offset = a->output_offset[i];
    a->eligible[i] = DoubledRequantEligible(m, s, offset) ? 1 : 0;
    a->out[i] = 0;
    a->out8[i] = 0;
    DoubledRequant q;
    if (!PrepareDoubledRequant(m, s, offset, &q)) continue;
    const int32_t acc2 = static_cast<int32_t>(static_cast<uint32_t>(a->acc[i]) << 1);
    a->out[i] = RequantizeDoubledInt32(acc2, q);
    a->out8[i] = RequantizeDoubled(acc2, q);
  }
  return 0;
}

int32_t tts_conv(ConvArgs* a) {
  if (a->filter_dims.n > kMaxChannels) return 1;
  if (a->depth_multiplier != 1) return 3;
  static int32_t mult[kMaxChannels], shift[kMaxChannels];
  ConvParams p;
  int32_t oh = 0, ow = 0;
  if (!ConvPrepare(a->input_scale, a->input_zero_point, a->filter_scales, a->num_filter_scales,
                   a->output_scale, a->output_zero_point, a->input_dims, a->filter_dims,
                   a->stride, a->dilation, a->padding, a->activation, &p, mult, shift, &oh,
                   &ow)) {
    return 2;
  }
  a->output_dims = Dims{a->input_dims.n, oh, ow, a->filter_dims.n};
  ConvInt8(p, PerChannelQuant{mult, shift}, a->input_dims, a->input, a->filter_dims, a->filter,
           a->bias, a->output_dims, a->output);
  return 0;
}

int32_t tts_depthwise_conv(ConvArgs* a) {
  if (a->filter_dims.c > kMaxChannels) return 1;
  static int32_t mult[kMaxChannels], shift[kMaxChannels];
  DepthwiseParams p;
  int32_t oh = 0, ow = 0;
  if (!DepthwiseConvPrepare(a->input_scale, a->input_zero_point, a->filter_scales,
                            a->num_filter_scales, a->output_scale, a->output_zero_point,
                            a->input_dims, a->filter_dims, a->depth_multiplier, a->stride,
                            a->dilation, a->padding, a->activation, &p, mult, shift, &oh, &ow)) {
    return 2;
  }
  a->output_dims = Dims{a->input_dims.n, oh, ow, a->filter_dims.c};
  alignas(8) static int8_t scratch[kDepthwiseConvInt8MaxBufferSize];
  const int32_t c = a->filter_dims.c, head = a->filter_head_channels;
  const DepthwiseFilter filter =
      a->filter_head != nullptr ? DepthwiseFilter{a->filter, c, a->filter_head, head, head}
                                : WholeDepthwiseFilter(a->filter, c);
  DepthwiseConvInt8(p, PerChannelQuant{mult, shift}, a->input_dims, a->input, a->filter_dims,
                    filter, a->bias, a->output_dims, a->output, scratch);
  return 0;
}

int32_t tts_fully_connected(const FullyConnectedArgs* a) {
  if (a->units > kMaxChannels) return 1;
  static int32_t mult[kMaxChannels], shift[kMaxChannels];
  FullyConnectedParams p;
  if (!FullyConnectedPrepare(a->input_scale, a->input_zero_point, a->filter_scales,
                             a->num_filter_scales, a->filter_zero_point, a->output_scale,
                             a->output_zero_point, a->units, a->activation, &p, mult, shift)) {
    return 2;
  }
  if (a->num_filter_scales == 1) {
    FullyConnectedInt8(p, QuantMultiplier{mult[0], shift[0]}, a->batches, a->depth, a->units,
                       a->input, a->filter, a->bias, a->output);
  } else {
    FullyConnectedPerChannelInt8(p, PerChannelQuant{mult, shift}, a->batches, a->depth,
                                 a->units, a->input, a->filter, a->bias, a->output);
  }
  return 0;
}

int32_t tts_average_pool(PoolArgs* a) {
  const PoolParams p = PreparePool(*a, &a->output_dims);
  return AveragePoolInt8(p, a->input_dims, a->input, a->output_dims, a->output) ? 0 : 3;
}

int32_t tts_max_pool(PoolArgs* a) {
  const PoolParams p = PreparePool(*a, &a->output_dims);
  MaxPoolInt8(p, a->input_dims, a->input, a->output_dims, a->output);
  return 0;
}

int32_t tts_mean(const MeanArgs* a) {
  const Dims& d = a->input_dims;
  const MeanQuant q = MeanPrepare(a->input_scale, a->input_zero_point, a->output_scale,
                                  a->output_zero_point, d.h * d.w);
  MeanSpatialInt8(q, d, a->input, a->output);
  return 0;
}

int32_t tts_softmax(const SoftmaxArgs* a) {
  SoftmaxQuant q;
  if (!SoftmaxPrepare(a->beta, a->input_scale, &q)) return 2;
  SoftmaxInt8(q, a->outer, a->depth, a->input, a->output);
  return 0;
}

int32_t tts_add(const AddArgs* a) {
  AddParams p;
  if (!AddPrepare(a->input1_scale, a->input1_zero_point, a->input2_scale, a->input2_zero_point,
                  a->output_scale, a->output_zero_point, a->activation, &p)) {
    return 2;
  }
  const Dims &d1 = a->input1_dims, &d2 = a->input2_dims;
  const bool same = d1.n == d2.n && d1.h == d2.h && d1.w == d2.w && d1.c == d2.c;
  if (same) {
    AddInt8(p, FlatSize(a->output_dims), a->input1, a->input2, a->output);
  } else {
    AddBroadcast4DInt8(p, d1, a->input1, d2, a->input2, a->output_dims, a->output);
  }
  return 0;
}

int32_t tts_pad(const PadArgs* a) {
  PadInt8(a->input_dims, a->input, a->before, a->after,
          PadValue(a->has_constant != 0, static_cast<int8_t>(a->constant), a->output_zero_point),
          a->output);
  return 0;
}

int32_t tts_concatenation(const ConcatenationArgs* a) {
  if (a->num_inputs > kMaxInputs) return 1;
  ConcatInputQuant q[kMaxInputs];
  for (int32_t i = 0; i < a->num_inputs; ++i) {
    q[i] = ConcatenationPrepareInput(a->scales[i], a->zero_points[i], a->output_scale,
                                     a->output_zero_point);
  }
  ConcatenationInt8(a->num_inputs, a->inputs, a->axis_sizes, a->requantize ? q : nullptr,
                    a->outer, a->inner, a->output);
  return 0;
}

int32_t tts_quantize(const QuantizeArgs* a) {
  QuantizeFloatToInt8(a->size, a->input, a->scale, a->zero_point, a->output);
  return 0;
}

int32_t tts_requantize(const RequantizeArgs* a) {
  const RequantizeParams p = RequantizePrepare(a->input_scale, a->input_zero_point,
                                               a->output_scale, a->output_zero_point);
  RequantizeInt8(p, a->size, a->input, a->output);
  return 0;
}

int32_t tts_dequantize(const DequantizeArgs* a) {
  DequantizeInt8(a->size, a->input, a->scale, a->zero_point, a->output);
  return 0;
}

}  // extern "C"
