#include "kernels/training/fully_connected_grad.h"

namespace tflm_train {

void FullyConnectedInputGrad(int32_t batches, int32_t output_depth, const float* grad_output,
                             const int8_t* filter, const float* filter_scales,
                             int32_t input_depth, float* grad_input) {
  FullyConnectedInputGradRows(batches, output_depth, grad_output,
                              WholeFilter(filter, input_depth), filter_scales, input_depth,
                              grad_input);
}

void FullyConnectedInputGradRows(int32_t batches, int32_t output_depth,
                                 const float* grad_output, const FilterRows& filter,
                                 const float* filter_scales, int32_t input_depth,
                                 float* grad_input) {
  for (int32_t b = 0; b < batches; ++b) {
    const float* g = grad_output + b * output_depth;
    float* gin = grad_input + b * input_depth;
    for (int32_t i = 0; i < input_depth; ++i) gin[i] = 0.0f;
    // Row-major walk over the filter (contiguous reads); per element the order is still o.
    for (int32_t o = 0; o < output_depth; ++o) {
      const float go = g[o] * filter_scales[o];
      const int8_t* w = filter.row(o);
      for (int32_t i = 0; i < input_depth; ++i) gin[i] += go * static_cast<float>(w[i]);
    }
  }
}

void FullyConnectedFilterGrad(int32_t batches, int32_t input_depth, const int8_t* input,
                              int32_t input_offset, float input_scale, int32_t output_depth,
                              const float* grad_output, int32_t r_begin, int32_t r_end,
                              float* grad_filter) {
  for (int32_t o = r_begin; o < r_end; ++o) {
    float* gw = grad_filter + (o - r_begin) * input_depth;
    for (int32_t i = 0; i < input_depth; ++i) gw[i] = 0.0f;
    for (int32_t b = 0; b < batches; ++b) {
      const float g = grad_output[b * output_depth + o];
      const int8_t* x = input + b * input_depth;
      for (int32_t i = 0; i < input_depth; ++i) {
        gw[i] += g * static_cast<float>(static_cast<int32_t>(x[i]) + input_offset);
      }
    }
    for (int32_t i = 0; i < input_depth; ++i) gw[i] = gw[i] * input_scale;
  }
}

}  // namespace tflm_train
