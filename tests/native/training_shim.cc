// C entry points over the training kernels for the Python tests (ctypes). Shapes are passed as
// int32 arrays [n, h, w, c]; the structs of kernels/types.h are built here.
//
// tt_determinism_digest() runs every kernel on fixed pseudo-random data and hashes the output
// bytes. The test also cross-compiles this file with -DTT_SHIM_FIRMWARE_MAIN for the Cortex-M4F
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

using namespace tflm_train;

namespace {

Dims D(const int32_t* d) { return Dims{d[0], d[1], d[2], d[3]}; }

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

}  // namespace

extern "C" {

void tt_exp(int32_t n, const float* x, float* y) {
  for (int32_t i = 0; i < n; ++i) y[i] = Exp(x[i]);
}

void tt_log(int32_t n, const float* x, float* y) {
  for (int32_t i = 0; i < n; ++i) y[i] = Log(x[i]);
}

void tt_floor(int32_t n, const float* x, float* y) {
  for (int32_t i = 0; i < n; ++i) y[i] = Floor(x[i]);
}

void tt_conv_input_grad(const int32_t* geom, const int32_t* out_dims, const float* grad_output,
                        const int32_t* filter_dims, const int8_t* filter,
                        const float* filter_scales, const int32_t* in_dims, float* grad_input) {
  ConvInputGrad(MakeConv(0, geom), D(out_dims), grad_output, D(filter_dims), filter,
                filter_scales, D(in_dims), grad_input);
}

// ConvInputGradRowsAdd (1x1 stride 1 only): returns 0 if the shapes are not addable.
int32_t tt_conv_input_grad_add(const int32_t* geom, const int32_t* out_dims,
                               const float* grad_output, const int32_t* filter_dims,
                               const int8_t* filter, const float* filter_scales,
                               const int32_t* in_dims, float* grad_input) {
  const ConvParams params = MakeConv(0, geom);
  if (!ConvInputGradAdds(params, D(filter_dims), D(in_dims), D(out_dims))) return 0;
  ConvInputGradRowsAdd(params, D(out_dims), grad_output, D(filter_dims),
                       WholeFilter(filter, D(filter_dims).h * D(filter_dims).w * D(in_dims).c),
                       filter_scales, D(in_dims), grad_input);
  return 1;
}

void tt_conv_filter_grad(const int32_t* geom, const int32_t* in_dims, const int8_t* input,
                         float input_scale, int32_t input_zero_point, const int32_t* out_dims,
                         const float* grad_output, const int32_t* filter_dims, int32_t c_begin,
                         int32_t c_end, float* grad_filter) {
  ConvFilterGrad(MakeConv(input_zero_point, geom), D(in_dims), input, input_scale, D(out_dims),
                 grad_output, D(filter_dims), c_begin, c_end, grad_filter);
}

void tt_depthwise_input_grad(const int32_t* geom, int32_t mult, const int32_t* out_dims,
                             const float* grad_output, const int32_t* filter_dims,
                             const int8_t* filter, const float* filter_scales,
                             const int32_t* in_dims, float* grad_input) {
  DepthwiseConvInputGrad(MakeDepthwise(0, mult, geom), D(out_dims), grad_output, D(filter_dims),
                         filter, filter_scales, D(in_dims), grad_input);
}

// Depth multiplier 1 with the filter's channels filter_stride apart (a channel group of a wider
// filter).
void tt_depthwise_input_grad_strided(const int32_t* geom, const int32_t* out_dims,
                                     const float* grad_output, const int32_t* filter_dims,
                                     const int8_t* filter, int32_t filter_stride,
                                     const float* filter_scales, const int32_t* in_dims,
                                     float* grad_input) {
  DepthwiseConvInputGradStrided(MakeDepthwise(0, 1, geom), D(out_dims), grad_output,
                                D(filter_dims), filter, filter_stride, filter_scales,
                                D(in_dims), grad_input);
}

void tt_depthwise_input_grad_consuming(const int32_t* geom, int32_t mult,
                                       const int32_t* out_dims, float* grad_output,
                                       const int32_t* filter_dims, const int8_t* filter,
                                       int32_t filter_stride, const float* filter_scales,
                                       const int32_t* in_dims, float* grad_input) {
  DepthwiseConvInputGradConsuming(MakeDepthwise(0, mult, geom), D(out_dims), grad_output,
                                  D(filter_dims), filter, filter_stride, filter_scales,
                                  D(in_dims), grad_input);
}

void tt_depthwise_input_grad_in_place(const int32_t* geom, const int32_t* dims,
                                      const int32_t* filter_dims, const int8_t* filter,
                                      const float* filter_scales, int32_t group, float* scratch,
                                      float* grad) {
  DepthwiseConvInputGradInPlace(MakeDepthwise(0, 1, geom), D(dims), D(filter_dims), filter,
                                filter_scales, group, scratch, grad);
}

void tt_depthwise_filter_grad(const int32_t* geom, int32_t mult, const int32_t* in_dims,
                              const int8_t* input, float input_scale, int32_t input_zero_point,
                              const int32_t* out_dims, const float* grad_output,
                              const int32_t* filter_dims, int32_t c_begin, int32_t c_end,
                              float* grad_filter) {
  DepthwiseConvFilterGrad(MakeDepthwise(input_zero_point, mult, geom), D(in_dims), input,
                          input_scale, D(out_dims), grad_output, D(filter_dims), c_begin, c_end,
                          grad_filter);
}

void tt_bias_grad(int32_t positions, int32_t channels, const float* grad_output,
                  int32_t c_begin, int32_t c_end, float* grad_bias) {
  BiasGrad(positions, channels, grad_output, c_begin, c_end, grad_bias);
}

void tt_fc_input_grad(int32_t batches, int32_t output_depth, const float* grad_output,
                      const int8_t* filter, const float* filter_scales, int32_t input_depth,
                      float* grad_input) {
  FullyConnectedInputGrad(batches, output_depth, grad_output, filter, filter_scales, input_depth,
                          grad_input);
}

void tt_fc_filter_grad(int32_t batches, int32_t input_depth, const int8_t* input,
                       int32_t input_zero_point, float input_scale, int32_t output_depth,
                       const float* grad_output, int32_t r_begin, int32_t r_end,
                       float* grad_filter) {
  FullyConnectedFilterGrad(batches, input_depth, input, -input_zero_point, input_scale,
                           output_depth, grad_output, r_begin, r_end, grad_filter);
}

// The filter rows [0, head_rows) are read at `head`, the others at `base` (FilterRows).
void tt_pointwise_input_grad_channels(int32_t positions, int32_t out_c, const float* grad_output,
                                      const int8_t* base, const int8_t* head, int32_t head_rows,
                                      int32_t row_size, const float* filter_scales,
                                      int32_t ci_begin, int32_t ci_end, float* grad_input) {
  PointwiseInputGradChannels(positions, out_c, grad_output,
                             FilterRows{base, head, head_rows, row_size}, filter_scales, ci_begin,
                             ci_end, grad_input);
}

void tt_average_pool_grad(const int32_t* geom, const int32_t* out_dims, const float* grad_output,
                          const int32_t* in_dims, float* grad_input) {
  AveragePoolGrad(MakePool(geom), D(out_dims), grad_output, D(in_dims), grad_input);
}

void tt_max_pool_grad(const int32_t* geom, const int32_t* in_dims, const int8_t* input,
                      const int32_t* out_dims, const float* grad_output, float* grad_input) {
  MaxPoolGrad(MakePool(geom), D(in_dims), input, D(out_dims), grad_output, grad_input);
}

void tt_mean_grad(const int32_t* in_dims, const float* grad_output, float* grad_input) {
  MeanGrad(D(in_dims), grad_output, grad_input);
}

void tt_pad_grad(const int32_t* out_dims, const float* grad_output, const int32_t* pad_before,
                 const int32_t* in_dims, float* grad_input) {
  PadGrad(D(out_dims), grad_output, pad_before, D(in_dims), grad_input);
}

void tt_concatenation_grad(int32_t outer, int32_t inner, int32_t num_inputs,
                           const int32_t* axis_sizes, const float* grad_output,
                           float* const* grad_inputs) {
  ConcatenationGrad(outer, inner, num_inputs, axis_sizes, grad_output, grad_inputs);
}

void tt_activation_grad(int32_t size, const int8_t* output, int32_t lo, int32_t hi,
                        const float* grad_output, float* grad_input) {
  ActivationGrad(size, output, lo, hi, grad_output, grad_input);
}

void tt_activation_grad_from_mask_group(int32_t positions, int32_t channels, int32_t c0,
                                        int32_t g, const uint8_t* mask, float* grad) {
  ActivationGradFromMaskGroup(positions, channels, c0, g, mask, grad);
}

void tt_softmax_ce_probs(int32_t num_classes, const int8_t* probs, float scale, int32_t zp,
                         int32_t label, float eps, float* grad, float* loss) {
  SoftmaxCrossEntropyFromProbs(num_classes, probs, scale, zp, label, eps, grad, loss);
}

void tt_softmax_ce_logits(int32_t num_classes, const float* logits, int32_t label, float* grad,
                          float* loss) {
  SoftmaxCrossEntropyFromLogits(num_classes, logits, label, grad, loss);
}

void tt_softmax_ce_int8_logits(int32_t num_classes, const int8_t* logits, float scale,
                               int32_t label, float* grad, float* loss) {
  SoftmaxCrossEntropyFromInt8Logits(num_classes, logits, scale, label, grad, loss);
}

void tt_mse(int32_t size, const float* prediction, const float* target, float* grad,
            float* loss) {
  MeanSquaredError(size, prediction, target, grad, loss);
}

void tt_mse_int8(int32_t size, const int8_t* prediction, float scale, int32_t zp,
                 const float* target, float* grad, float* loss) {
  MeanSquaredErrorInt8(size, prediction, scale, zp, target, grad, loss);
}

// slice = [outer, channels, inner, c_begin, c_end]
void tt_sgd_int8(float lr, float mu, int32_t rounding, const int32_t* slice, const float* grad,
                 const float* factor, float* momentum, uint32_t* rng_state, int8_t* weights) {
  SgdParams p{lr, mu, static_cast<RoundingMode>(rounding)};
  ChannelSlice s{slice[0], slice[1], slice[2], slice[3], slice[4]};
  SgdUpdateInt8(p, s, grad, factor, momentum, rng_state, weights);
}

void tt_sgd_int32(float lr, float mu, int32_t rounding, const int32_t* slice, const float* grad,
                  const float* factor, float* momentum, uint32_t* rng_state, int32_t* bias) {
  SgdParams p{lr, mu, static_cast<RoundingMode>(rounding)};
  ChannelSlice s{slice[0], slice[1], slice[2], slice[3], slice[4]};
  SgdUpdateInt32(p, s, grad, factor, momentum, rng_state, bias);
}

void tt_grad_accumulate(int32_t size, const float* grad, float* accumulator) {
  GradAccumulate(size, grad, accumulator);
}

void tt_grad_scale(int32_t size, float factor, float* buffer) {
  GradScale(size, factor, buffer);
}

// FNV-1a over the bytes of each kernel's outputs, one digest per kernel group.
enum { kDigestCount = 12 };

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

extern "C" void tt_determinism_digest(uint32_t* digest) {
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
}

#ifdef TT_SHIM_FIRMWARE_MAIN
#include "targets/board/board.h"

int main() {
  board_init();
  uint32_t digest[kDigestCount];
  tt_determinism_digest(digest);
  for (int32_t i = 0; i < kDigestCount; ++i) {
    board_printf("digest %d %08lx\n", static_cast<int>(i), static_cast<unsigned long>(digest[i]));
  }
  board_flush();
  return 0;
}
#endif  // TT_SHIM_FIRMWARE_MAIN
