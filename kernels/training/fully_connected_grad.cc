#include "kernels/training/fully_connected_grad.h"

#include "kernels/training/grad_product.h"

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
  GradTimesInt8Rows(batches, output_depth, grad_output, output_depth, filter_scales, filter, 0,
                    input_depth, grad_input, input_depth);
}

void FullyConnectedFilterGrad(int32_t batches, int32_t input_depth, const int8_t* input,
                              int32_t input_offset, float input_scale, int32_t output_depth,
                              const float* grad_output, int32_t r_begin, int32_t r_end,
                              float* grad_filter) {
  GradTransposeTimesInt8(batches, grad_output, output_depth, r_begin, r_end, input, input_depth,
                         input_offset, input_depth, input_scale, grad_filter);
}

}  // namespace tflm_train
