// Backward pass of a depthwise 2-D convolution with depth multiplier M (int8 forward,
// per-output-channel symmetric int8 filter [1, kh, kw, Ci*M], scales on the last axis).
// Output channel oc = ci * M + m reads input channel ci = oc / M (TFLite layout).
// Only params.input_offset, depth_multiplier, stride, padding and dilation are used.
// The bias gradient is BiasGrad (bias_grad.h) with positions = N*Ho*Wo.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_DEPTHWISE_CONV_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_DEPTHWISE_CONV_GRAD_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

// grad_input[n,ih,iw,ci] = sum over (ky, kx, m) of grad_output[n,oh,ow,ci*M+m] * s_w[oc] *
// w[ky,kx,oc]. filter_dims = [1, kh, kw, Ci*M]. Every element of grad_input is written.
// Summation: per element, one accumulator from 0.0f, terms in (ky, kx, m) increasing order;
// each term is (grad_output * s_w[oc]) * float(w). The filter may be split between SRAM and
// flash (DepthwiseFilter, types.h); the bits are those of the whole one.
void DepthwiseConvInputGrad(const DepthwiseParams& params, const Dims& output_dims,
                            const float* grad_output, const Dims& filter_dims,
                            const DepthwiseFilter& filter, const float* filter_scales,
                            const Dims& input_dims, float* grad_input);

// The filter whole in one place.
inline void DepthwiseConvInputGrad(const DepthwiseParams& params, const Dims& output_dims,
                                   const float* grad_output, const Dims& filter_dims,
                                   const int8_t* filter, const float* filter_scales,
                                   const Dims& input_dims, float* grad_input) {
  DepthwiseConvInputGrad(params, output_dims, grad_output, filter_dims,
                         WholeDepthwiseFilter(filter, filter_dims.c), filter_scales, input_dims,
                         grad_input);
}

// The same with the filter's channels read where `filter` says, e.g. a channel group of a wider
// filter read in place (DepthwiseFilter::from).
void DepthwiseConvInputGradStrided(const DepthwiseParams& params, const Dims& output_dims,
                                   const float* grad_output, const Dims& filter_dims,
                                   const DepthwiseFilter& filter, const float* filter_scales,
                                   const Dims& input_dims, float* grad_input);

// The same, consuming grad_output (any multiplier): it is multiplied by s_w in place first and
// holds g * s_w on return. Those are the products every term starts with, so the result is
// bit-identical, and each term then costs one multiply less. For callers that no longer need
// the output gradient.
void DepthwiseConvInputGradConsuming(const DepthwiseParams& params, const Dims& output_dims,
                                     float* grad_output, const Dims& filter_dims,
                                     const DepthwiseFilter& filter, const float* filter_scales,
                                     const Dims& input_dims, float* grad_input);

// Gradient of filter channels [c_begin, c_end) (output channels, last filter axis) into
// grad_filter laid out [kh, kw, c_end - c_begin] (the filter layout restricted to the range).
// grad_w[ky,kx,oc] = input_scale * sum over (n, oh, ow) of grad_output[n,oh,ow,oc] *
// float(x[n,ih,iw,oc/M] + input_offset); padded taps contribute nothing.
// Summation: one accumulator from 0.0f over (n, oh, ow) increasing, then one multiply by
// input_scale.
// In-place input gradient for depth multiplier 1 when input and output have the same shape
// (stride 1, SAME padding): `grad` holds the output gradient on entry and the input gradient on
// return, so the two never coexist. Channels are independent, so they are processed in groups
// of `group` channels gathered into `scratch` (DepthwiseInPlaceScratchFloats floats); every
// element gets exactly the sum DepthwiseConvInputGrad computes, in the same order.
int32_t DepthwiseInPlaceScratchFloats(const Dims& dims, int32_t group);
void DepthwiseConvInputGradInPlace(const DepthwiseParams& params, const Dims& dims,
                                   const Dims& filter_dims, const DepthwiseFilter& filter,
                                   const float* filter_scales, int32_t group, float* scratch,
                                   float* grad);

void DepthwiseConvFilterGrad(const DepthwiseParams& params, const Dims& input_dims,
                             const int8_t* input, float input_scale, const Dims& output_dims,
                             const float* grad_output, const Dims& filter_dims, int32_t c_begin,
                             int32_t c_end, float* grad_filter);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_DEPTHWISE_CONV_GRAD_H_
