#include "kernels/training/depthwise_conv_grad.h"

#include "kernels/training/output_taps.h"

namespace tflm_train {
namespace {

// The general form (any depth multiplier and dilation): per input element, the output taps in
// ForEachOutputTap order.
void InputGradGeneral(const DepthwiseParams& params, const Dims& output_dims,
                      const float* grad_output, const Dims& filter_dims, const int8_t* filter,
                      int32_t filter_stride, const float* filter_scales, const Dims& input_dims,
                      float* grad_input) {
  const int32_t out_c = output_dims.c, in_c = input_dims.c;
  const int32_t mult = params.depth_multiplier;
  GatherInputGrad(params, input_dims, output_dims, filter_dims.h, filter_dims.w, grad_input,
                  [&](float* gin, int32_t o, int32_t tap) {
    const float* gout = grad_output + o * out_c;
    const int8_t* w = filter + tap * filter_stride;
    for (int32_t ci = 0; ci < in_c; ++ci) {
      float acc = gin[ci];
      for (int32_t m = 0; m < mult; ++m) {
        const int32_t oc = ci * mult + m;
        acc += (gout[oc] * filter_scales[oc]) * static_cast<float>(w[oc]);
      }
      gin[ci] = acc;
    }
  });
}

// Depth multiplier 1 and dilation 1 (every zoo model) take a faster path with the same sums:
// channels go in blocks of up to kMaxBlock whose accumulators and scales stay in registers and
// whose filter is converted to float once (exact); the taps reaching an element are found
// arithmetically (TapsReaching), once per input row and column, instead of testing every tap of
// every element.
constexpr int32_t kMaxBlock = 8;
constexpr int32_t kMaxFastTaps = 49;     // 7x7: a block's float filter lives on the stack
constexpr int32_t kMaxFastWidth = 128;   // the column table lives on the stack

// The taps of one filter axis that reach input coordinate i with dilation 1: i + pad = o * stride
// + k with 0 <= k < k_size and 0 <= o < out_size, i.e. k = first, first + stride, ... (count of
// them; increasing, the documented order) read through o = out_first, out_first - 1, ...
struct AxisTaps {
  int16_t first, count, out_first;
};

inline AxisTaps TapsReaching(int32_t i, int32_t pad, int32_t stride, int32_t k_size,
                             int32_t out_size) {
  const int32_t t = i + pad;
  int32_t lo = t - (out_size - 1) * stride;
  if (lo < 0) lo = 0;
  const int32_t hi = t < k_size - 1 ? t : k_size - 1;
  if (lo > hi) return AxisTaps{0, 0, 0};
  const int32_t first = lo + (t - lo) % stride;
  if (first > hi) return AxisTaps{0, 0, 0};
  return AxisTaps{static_cast<int16_t>(first), static_cast<int16_t>((hi - first) / stride + 1),
                  static_cast<int16_t>((t - first) / stride)};
}

// Channels [0, B) of grad_output (out_stride floats per position) into grad_input (in_stride
// floats per position); w holds the block's filter as [k_h * k_w][B] floats, columns[iw] the
// taps reaching column iw. Per element: 0.0f plus the terms (g * s) * w in (ky, kx) increasing
// order, the sum InputGradGeneral makes.
template <int B>
void InputGradBlock(const DepthwiseParams& params, const Dims& output_dims,
                    const float* grad_output, int32_t out_stride, int32_t k_h, int32_t k_w,
                    const float* w, const float* filter_scales, const Dims& input_dims,
                    const AxisTaps* columns, float* grad_input, int32_t in_stride) {
  float s[B];
#pragma GCC unroll 8
  for (int32_t j = 0; j < B; ++j) s[j] = filter_scales[j];
  const int32_t out_h = output_dims.h, out_w = output_dims.w;
  const int32_t g_row = out_w * out_stride, w_step = params.stride.w * B;
  const int32_t w_row = params.stride.h * k_w * B;
  float* gin = grad_input;
  for (int32_t n = 0; n < input_dims.n; ++n) {
    const float* gout_n = grad_output + n * out_h * g_row;
    for (int32_t ih = 0; ih < input_dims.h; ++ih) {
      const AxisTaps ty = TapsReaching(ih, params.padding.h, params.stride.h, k_h, out_h);
      const float* g_row0 = gout_n + ty.out_first * g_row;
      const float* w_row0 = w + ty.first * k_w * B;
      for (int32_t iw = 0; iw < input_dims.w; ++iw, gin += in_stride) {
        const AxisTaps tx = columns[iw];
        float acc[B];
#pragma GCC unroll 8
        for (int32_t j = 0; j < B; ++j) acc[j] = 0.0f;
        const float* gy = g_row0 + tx.out_first * out_stride;
        const float* wy = w_row0 + tx.first * B;
        for (int32_t y = 0; y < ty.count; ++y, gy -= g_row, wy += w_row) {
          const float* g = gy;
          const float* wt = wy;
          for (int32_t x = 0; x < tx.count; ++x, g -= out_stride, wt += w_step) {
#pragma GCC unroll 8
            for (int32_t j = 0; j < B; ++j) acc[j] += (g[j] * s[j]) * wt[j];
          }
        }
#pragma GCC unroll 8
        for (int32_t j = 0; j < B; ++j) gin[j] = acc[j];
      }
    }
  }
}

using BlockFn = void (*)(const DepthwiseParams&, const Dims&, const float*, int32_t, int32_t,
                         int32_t, const float*, const float*, const Dims&, const AxisTaps*,
                         float*, int32_t);
constexpr BlockFn kBlockFns[kMaxBlock] = {InputGradBlock<1>, InputGradBlock<2>, InputGradBlock<3>,
                                          InputGradBlock<4>, InputGradBlock<5>, InputGradBlock<6>,
                                          InputGradBlock<7>, InputGradBlock<8>};

void InputGradMult1(const DepthwiseParams& params, const Dims& output_dims,
                    const float* grad_output, const Dims& filter_dims, const int8_t* filter,
                    int32_t filter_stride, const float* filter_scales, const Dims& input_dims,
                    float* grad_input) {
  const int32_t channels = input_dims.c, taps = filter_dims.h * filter_dims.w;
  AxisTaps columns[kMaxFastWidth];
  for (int32_t iw = 0; iw < input_dims.w; ++iw) {
    columns[iw] = TapsReaching(iw, params.padding.w, params.stride.w, filter_dims.w,
                               output_dims.w);
  }
  float w[kMaxFastTaps * kMaxBlock];
  // Blocks as even as kMaxBlock allows (14 channels: 7 + 7, not 8 + 4 + 2): narrow blocks pay
  // the per-element bookkeeping for fewer terms.
  const int32_t blocks = (channels + kMaxBlock - 1) / kMaxBlock;
  for (int32_t c = 0, k = 0; k < blocks; ++k) {
    const int32_t b = (channels - c) / (blocks - k) + ((channels - c) % (blocks - k) != 0);
    for (int32_t t = 0; t < taps; ++t) {
      for (int32_t j = 0; j < b; ++j) {
        w[t * b + j] = static_cast<float>(filter[t * filter_stride + c + j]);
      }
    }
    kBlockFns[b - 1](params, output_dims, grad_output + c, output_dims.c, filter_dims.h,
                     filter_dims.w, w, filter_scales + c, input_dims, columns, grad_input + c,
                     channels);
    c += b;
  }
}

}  // namespace

int32_t DepthwiseInPlaceScratchFloats(const Dims& dims, const Dims& filter_dims, int32_t group) {
  const int32_t positions = dims.n * dims.h * dims.w;
  const int32_t filter_bytes = filter_dims.h * filter_dims.w * group;
  return 2 * positions * group + (filter_bytes + 3) / 4;
}

void DepthwiseConvInputGradInPlace(const DepthwiseParams& params, const Dims& dims,
                                   const Dims& filter_dims, const int8_t* filter,
                                   const float* filter_scales, int32_t group, float* scratch,
                                   float* grad) {
  const int32_t positions = dims.n * dims.h * dims.w, channels = dims.c;
  float* g_out = scratch;
  float* g_in = scratch + positions * group;
  for (int32_t c0 = 0; c0 < channels; c0 += group) {
    const int32_t g = channels - c0 < group ? channels - c0 : group;
    for (int32_t p = 0; p < positions; ++p) {
      for (int32_t j = 0; j < g; ++j) g_out[p * g + j] = grad[p * channels + c0 + j];
    }
    const Dims group_dims{dims.n, dims.h, dims.w, g};
    DepthwiseConvInputGradStrided(params, group_dims, g_out,
                                  Dims{1, filter_dims.h, filter_dims.w, g}, filter + c0,
                                  channels, filter_scales + c0, group_dims, g_in);
    for (int32_t p = 0; p < positions; ++p) {
      for (int32_t j = 0; j < g; ++j) grad[p * channels + c0 + j] = g_in[p * g + j];
    }
  }
}

void DepthwiseConvInputGradStrided(const DepthwiseParams& params, const Dims& output_dims,
                                   const float* grad_output, const Dims& filter_dims,
                                   const int8_t* filter, int32_t filter_stride,
                                   const float* filter_scales, const Dims& input_dims,
                                   float* grad_input) {
  if (params.depth_multiplier == 1 && params.dilation.h == 1 && params.dilation.w == 1 &&
      filter_dims.h * filter_dims.w <= kMaxFastTaps && input_dims.w <= kMaxFastWidth) {
    InputGradMult1(params, output_dims, grad_output, filter_dims, filter, filter_stride,
                   filter_scales, input_dims, grad_input);
  } else {
    InputGradGeneral(params, output_dims, grad_output, filter_dims, filter, filter_stride,
                     filter_scales, input_dims, grad_input);
  }
}

void DepthwiseConvInputGrad(const DepthwiseParams& params, const Dims& output_dims,
                            const float* grad_output, const Dims& filter_dims,
                            const int8_t* filter, const float* filter_scales,
                            const Dims& input_dims, float* grad_input) {
  DepthwiseConvInputGradStrided(params, output_dims, grad_output, filter_dims, filter,
                                filter_dims.c, filter_scales, input_dims, grad_input);
}

void DepthwiseConvFilterGrad(const DepthwiseParams& params, const Dims& input_dims,
                             const int8_t* input, float input_scale, const Dims& output_dims,
                             const float* grad_output, const Dims& filter_dims, int32_t c_begin,
                             int32_t c_end, float* grad_filter) {
  const int32_t in_c = input_dims.c, out_c = output_dims.c;
  const int32_t k_h = filter_dims.h, k_w = filter_dims.w;
  const int32_t count = c_end - c_begin;
  const int32_t mult = params.depth_multiplier;
  for (int32_t ky = 0; ky < k_h; ++ky) {
    for (int32_t kx = 0; kx < k_w; ++kx) {
      float* gw = grad_filter + (ky * k_w + kx) * count;
      for (int32_t j = 0; j < count; ++j) gw[j] = 0.0f;
      ForEachTapPair(params, ky, kx, input_dims, output_dims, [&](int32_t o, int32_t i) {
        const float* g = grad_output + o * out_c;
        const int8_t* x = input + i * in_c;
        for (int32_t oc = c_begin; oc < c_end; ++oc) {
          const int32_t xv = static_cast<int32_t>(x[oc / mult]) + params.input_offset;
          gw[oc - c_begin] += g[oc] * static_cast<float>(xv);
        }
      });
      for (int32_t j = 0; j < count; ++j) gw[j] = gw[j] * input_scale;
    }
  }
}

}  // namespace tflm_train
