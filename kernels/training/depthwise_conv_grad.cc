#include "kernels/training/depthwise_conv_grad.h"

#include "kernels/training/output_taps.h"

namespace tflm_train {

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
  const int32_t taps = filter_dims.h * filter_dims.w;
  float* g_out = scratch;
  float* g_in = scratch + positions * group;
  int8_t* w = reinterpret_cast<int8_t*>(scratch + 2 * positions * group);
  for (int32_t c0 = 0; c0 < channels; c0 += group) {
    const int32_t g = channels - c0 < group ? channels - c0 : group;
    for (int32_t p = 0; p < positions; ++p) {
      for (int32_t j = 0; j < g; ++j) g_out[p * g + j] = grad[p * channels + c0 + j];
    }
    for (int32_t t = 0; t < taps; ++t) {
      for (int32_t j = 0; j < g; ++j) w[t * g + j] = filter[t * channels + c0 + j];
    }
    const Dims group_dims{dims.n, dims.h, dims.w, g};
    const Dims group_filter{1, filter_dims.h, filter_dims.w, g};
    DepthwiseConvInputGrad(params, group_dims, g_out, group_filter, w, filter_scales + c0,
                           group_dims, g_in);
    for (int32_t p = 0; p < positions; ++p) {
      for (int32_t j = 0; j < g; ++j) grad[p * channels + c0 + j] = g_in[p * g + j];
    }
  }
}

void DepthwiseConvInputGrad(const DepthwiseParams& params, const Dims& output_dims,
                            const float* grad_output, const Dims& filter_dims,
                            const int8_t* filter, const float* filter_scales,
                            const Dims& input_dims, float* grad_input) {
  const int32_t out_c = output_dims.c, in_c = input_dims.c;
  const int32_t mult = params.depth_multiplier;
  GatherInputGrad(params, input_dims, output_dims, filter_dims.h, filter_dims.w, grad_input,
                  [&](float* gin, int32_t o, int32_t tap) {
    const float* gout = grad_output + o * out_c;
    const int8_t* w = filter + tap * out_c;
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
