// Backward pass of a 2-D convolution (int8 forward, per-output-channel symmetric int8 filter).
// Gradients are float32 with respect to the real (dequantised) tensors; the int8 operands are
// dequantised on the fly (real = scale * (q - zero_point)), never materialised.
// Only params.input_offset (= -input zero point), stride, padding and dilation are used; the
// fused activation is handled beforehand by ActivationGrad on grad_output.
// The bias gradient is BiasGrad (bias_grad.h) with positions = N*Ho*Wo.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_CONV_GRAD_H_
#define TFLM_TRAIN_KERNELS_TRAINING_CONV_GRAD_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

// grad_input[N,H,W,Ci] = sum over (ky, kx, co) of grad_output[n,oh,ow,co] * s_w[co] * w[co,ky,kx,ci]
// for every output position (oh, ow) whose receptive field reads (ih, iw) at tap (ky, kx).
// filter_dims = [Co, kh, kw, Ci]; filter_scales[Co]. Every element of grad_input is written.
// Summation: per grad_input element, one accumulator from 0.0f, terms in (ky, kx, co) increasing
// order; each term is (grad_output * s_w[co]) * float(w).
void ConvInputGrad(const ConvParams& params, const Dims& output_dims, const float* grad_output,
                   const Dims& filter_dims, const int8_t* filter, const float* filter_scales,
                   const Dims& input_dims, float* grad_input);

// Gradient of the filter rows [c_begin, c_end) into grad_filter [c_end - c_begin, kh, kw, Ci].
// grad_w[co,ky,kx,ci] = input_scale * sum over (n, oh, ow) of grad_output[n,oh,ow,co] *
// float(x[n,ih,iw,ci] + input_offset); padded taps contribute nothing (real value 0).
// Summation: one accumulator from 0.0f over (n, oh, ow) increasing, then one multiply by
// input_scale.
// The same with the filter rows split between SRAM and flash (FilterRows).
void ConvInputGradRows(const ConvParams& params, const Dims& output_dims,
                       const float* grad_output, const Dims& filter_dims,
                       const FilterRows& filter, const float* filter_scales,
                       const Dims& input_dims, float* grad_input);

// The input gradient of a conv whose output channels come in groups (the fused head and
// bottleneck backward): the terms of this call's output channels (output_dims.c, the group's
// filter rows and scales) continue the sums grad_input holds, or start them from 0.0f when
// `first`. Summation per grad_input element: terms in increasing output channel co (the group's
// channels being the next ones), for each co its taps (ky, kx) increasing; each term is
// (grad_output * s_w[co]) * float(w), as in ConvInputGrad. Groups of any size in increasing
// channel order thus give the bits of one call over all channels. (A 1x1 filter at stride 1
// without padding has one tap: the order of ConvInputGrad itself.)
void ConvInputGradAccumulate(const ConvParams& params, const Dims& output_dims,
                             const float* grad_output, const Dims& filter_dims,
                             const FilterRows& filter, const float* filter_scales,
                             const Dims& input_dims, bool first, float* grad_input);

// Input channels [ci_begin, ci_end) of a 1x1, stride-1 convolution's input gradient, into
// grad_input [positions, ci_end - ci_begin]: the same sums as ConvInputGrad (co increasing, each
// term (grad_output * s_w[co]) * float(w)), for a block backward that works channel group by
// channel group. grad_output is [positions, out_c].
void PointwiseInputGradChannels(int32_t positions, int32_t out_c, const float* grad_output,
                                const FilterRows& filter, const float* filter_scales,
                                int32_t ci_begin, int32_t ci_end, float* grad_input);

// 1x1 filters at stride 1 without padding take register-blocked paths (grad_product.h) with the
// same per-element sums; the filter gradient is about twice as fast per term when several
// channels are asked for at once (each int8 input converted once for up to 8 channels):
// callers that apply the gradient channel by channel still ask for kConvFilterGradBlock
// channels per call where their scratch holds them.
constexpr int32_t kConvFilterGradBlock = 8;
void ConvFilterGrad(const ConvParams& params, const Dims& input_dims, const int8_t* input,
                    float input_scale, const Dims& output_dims, const float* grad_output,
                    const Dims& filter_dims, int32_t c_begin, int32_t c_end, float* grad_filter);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_CONV_GRAD_H_
