#include "kernels/add.h"

#include "kernels/add_dsp.h"
#include "kernels/conv_window.h"

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

namespace {

inline int8_t AddOne(const AddParams& p, int32_t a, int32_t b) {
  const int32_t sa = ShiftLeftWrap(a + p.input1_offset, p.left_shift);
  const int32_t sb = ShiftLeftWrap(b + p.input2_offset, p.left_shift);
  // Three requantisations per element dominate ADD: the DSP path's SMLAL form halves them.
  const int32_t ra = MultiplyByQuantizedMultiplierForPath(sa, p.input1.multiplier, p.input1.shift);
  const int32_t rb = MultiplyByQuantizedMultiplierForPath(sb, p.input2.multiplier, p.input2.shift);
  const int32_t out =
      MultiplyByQuantizedMultiplierForPath(ra + rb, p.output.multiplier, p.output.shift) +
      p.output_offset;
  return static_cast<int8_t>(ClampToRange(out, p.activation.min, p.activation.max));
}

}  // namespace

void AddInt8(const AddParams& params, int32_t size, const int8_t* input1, const int8_t* input2,
             int8_t* output) {
  int32_t i = 0;
#if TFLM_TRAIN_KERNELS_DSP
  i = AddInt8Dsp(params, size, input1, input2, output);
#endif
  for (; i < size; ++i) output[i] = AddOne(params, input1[i], input2[i]);
}

void AddBroadcast4DInt8(const AddParams& params, const Dims& input1_dims, const int8_t* input1,
                        const Dims& input2_dims, const int8_t* input2, const Dims& output_dims,
                        int8_t* output) {
  // A broadcast dimension gets stride 0 so the same element is reused along it.
  const int32_t s1c = input1_dims.c == 1 ? 0 : 1;
  const int32_t s1w = input1_dims.w == 1 ? 0 : input1_dims.c;
  const int32_t s1h = input1_dims.h == 1 ? 0 : input1_dims.c * input1_dims.w;
  const int32_t s1n = input1_dims.n == 1 ? 0 : input1_dims.c * input1_dims.w * input1_dims.h;
  const int32_t s2c = input2_dims.c == 1 ? 0 : 1;
  const int32_t s2w = input2_dims.w == 1 ? 0 : input2_dims.c;
  const int32_t s2h = input2_dims.h == 1 ? 0 : input2_dims.c * input2_dims.w;
  const int32_t s2n = input2_dims.n == 1 ? 0 : input2_dims.c * input2_dims.w * input2_dims.h;
  int32_t o = 0;
  for (int32_t n = 0; n < output_dims.n; ++n) {
    for (int32_t h = 0; h < output_dims.h; ++h) {
      for (int32_t w = 0; w < output_dims.w; ++w) {
        for (int32_t c = 0; c < output_dims.c; ++c) {
          const int32_t i1 = n * s1n + h * s1h + w * s1w + c * s1c;
          const int32_t i2 = n * s2n + h * s2h + w * s2w + c * s2c;
          output[o++] = AddOne(params, input1[i1], input2[i2]);
        }
      }
    }
  }
}

}  // namespace tflm_train
