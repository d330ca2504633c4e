// C entry points over the training kernels for the Python tests (ctypes). Shapes are passed as
// int32 arrays [n, h, w, c]; the structs of kernels/types.h are built here.
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

}  // extern "C"
