#include "kernels/add.h"

#include "kernels/add_dsp.h"

namespace tflm_train {

bool AddPrepare(float input1_scale, int32_t input1_zero_point, float input2_scale,
                int32_t input2_zero_point, float output_scale, int32_t output_zero_point,
                FusedActivation activation, AddParams* params) {
  params->input1_offset = -input1_zero_point;
  params->input2_offset = -input2_zero_point;
  params->output_offset = output_zero_point;
  params->left_shift = 20;
  // Both inputs are brought to a common scale of 2 * max(input scales), then to the output.
  const float max_scale = input1_scale > input2_scale ? input1_scale : input2_scale;
  const double twice_max = 2 * static_cast<double>(max_scale);
  const double real1 = static_cast<double>(input1_scale) / twice_max;
  const double real2 = static_cast<double>(input2_scale) / twice_max;
  const double real_out =
      twice_max / (static_cast<double>(1 << params->left_shift) * static_cast<double>(output_scale));
  params->input1 = QuantizeMultiplier(real1);
  params->input2 = QuantizeMultiplier(real2);
  params->output = QuantizeMultiplier(real_out);
  params->activation = ActivationRangeInt8(activation, output_scale, output_zero_point);
  return params->input1.shift <= 0 && params->input2.shift <= 0 && params->output.shift <= 0;
}

void AddInt8(const AddParams& params, int32_t size, const int8_t* input1, const int8_t* input2,
             int8_t* output) {
  int32_t i = 0;
#if TFLM_TRAIN_KERNELS_DSP
  i = AddInt8Dsp(params, size, input1, input2, output);
#endif
  for (; i < size; ++i) output[i] = AddSubOne<1>(params, input1[i], input2[i]);
}

void AddBroadcast4DInt8(const AddParams& params, const Dims& input1_dims, const int8_t* input1,
                        const Dims& input2_dims, const int8_t* input2, const Dims& output_dims,
                        int8_t* output) {
  const int32_t shape1[4] = {input1_dims.n, input1_dims.h, input1_dims.w, input1_dims.c};
  const int32_t shape2[4] = {input2_dims.n, input2_dims.h, input2_dims.w, input2_dims.c};
  // output_dims is the shapes' broadcast (the caller checked), which the iteration follows.
  Broadcast b;
  PrepareBroadcast(shape1, 4, shape2, 4, &b);
  ForEachBroadcast(b, [&](int32_t i1, int32_t i2) {
    *output++ = AddSubOne<1>(params, input1[i1], input2[i2]);
  });
}

}  // namespace tflm_train
