// One forward-kernel invocation described with plain types only, so that the same description
// can be handed to the DSP build and to the reference twin of the kernels (whose parameter
// types live in another namespace, see runner.h).
#ifndef TFLM_TRAIN_KERNELS_FIRMWARE_OP_CASE_H_
#define TFLM_TRAIN_KERNELS_FIRMWARE_OP_CASE_H_

#include <cstdint>

namespace kernel_test {

// kPointwise: a CONV_2D with a 1x1 filter, generated to reach every branch of the DSP path's
// pointwise kernel (deep inputs in slices, channel tails, strides, filter rows split between
// two buffers as FilterRows allows); run like kConv.
enum class Op : int32_t {
  kConv = 0,
  kDepthwise = 1,
  kFullyConnected = 2,
  kPointwise = 3,
  kAdd = 4,
};

// Raw tensor parameters as a .tflite stores them; the runner does prepare + eval.
struct OpCase {
  Op op;
  // conv/depthwise: input NHWC. FC: {batches, 1, 1, accum_depth}.
  int32_t input_dims[4];
  // conv: OHWI (I = input channels / groups); depthwise: 1 x H x W x (in_c * depth_multiplier);
  // FC: {output_units, 1, 1, accum_depth}.
  int32_t filter_dims[4];
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  int32_t padding;          // tflm_train::Padding (0 SAME, 1 VALID)
  int32_t activation;       // tflm_train::FusedActivation
  int32_t depth_multiplier; // depthwise only
  float input_scale;
  int32_t input_zero_point;
  const float* filter_scales;  // 1 (per tensor) or one per output channel
  int32_t num_filter_scales;
  int32_t filter_zero_point;   // FC only (conv/depthwise weights are symmetric)
  float output_scale;
  int32_t output_zero_point;
  const int8_t* input;
  const int8_t* filter;
  const int32_t* bias;  // may be null
  // conv: rows [0, filter_head_rows) are read from a second buffer (FilterRows.head; the
  // runner fills the filter's own copy of them with other bytes); 0 = one buffer. Depthwise:
  // channels [0, filter_head_rows) likewise (DepthwiseFilter.head, a multiple of 4).
  int32_t filter_head_rows;
  // ADD only (same-shape, input_dims the shape of both inputs): the second input; the first is
  // input / input_scale / input_zero_point.
  float input2_scale;
  int32_t input2_zero_point;
  const int8_t* input2;
};

// Largest per-channel arrays a runner supports (multipliers / shifts are static there).
constexpr int32_t kMaxChannels = 256;

}  // namespace kernel_test

#endif  // TFLM_TRAIN_KERNELS_FIRMWARE_OP_CASE_H_
