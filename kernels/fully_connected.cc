#include "kernels/fully_connected.h"

namespace tflm_train {

bool FullyConnectedPrepare(float input_scale, int32_t input_zero_point,
                           const float* filter_scales, int32_t num_filter_scales,
                           int32_t filter_zero_point, float output_scale,
                           int32_t output_zero_point, int32_t output_units,
                           FusedActivation activation, FullyConnectedParams* params,
                           int32_t* multiplier, int32_t* shift) {
  params->input_offset = -input_zero_point;
  params->filter_offset = -filter_zero_point;
  params->output_offset = output_zero_point;
  params->activation = ActivationRangeInt8(activation, output_scale, output_zero_point);
  if (num_filter_scales == 1) {
    const QuantMultiplier q = PerTensorConvMultiplier(input_scale, filter_scales[0], output_scale);
    multiplier[0] = q.multiplier;
    shift[0] = q.shift;
    return true;
  }
  if (num_filter_scales != output_units) return false;
  PerChannelMultipliers(input_scale, filter_scales, num_filter_scales, output_scale, output_units,
                        multiplier, shift);
  return true;
}

namespace {

inline int32_t Dot(const FullyConnectedParams& params, int32_t depth, const int8_t* in,
                   const int8_t* w) {
  int32_t acc = 0;
  for (int32_t d = 0; d < depth; ++d) {
    acc += (static_cast<int32_t>(w[d]) + params.filter_offset) *
           (static_cast<int32_t>(in[d]) + params.input_offset);
  }
  return acc;
}

inline int8_t Finish(const FullyConnectedParams& params, int32_t acc, int32_t m, int32_t s) {
  acc = MultiplyByQuantizedMultiplier(acc, m, s) + params.output_offset;
  return static_cast<int8_t>(ClampToRange(acc, params.activation.min, params.activation.max));
}

}  // namespace

void FullyConnectedInt8(const FullyConnectedParams& params, QuantMultiplier quant,
                        int32_t batches, int32_t accum_depth, int32_t output_units,
                        const int8_t* input, const int8_t* filter, const int32_t* bias,
                        int8_t* output) {
  for (int32_t b = 0; b < batches; ++b) {
    for (int32_t o = 0; o < output_units; ++o) {
      int32_t acc = Dot(params, accum_depth, input + b * accum_depth, filter + o * accum_depth);
      if (bias != nullptr) acc += bias[o];
      output[b * output_units + o] = Finish(params, acc, quant.multiplier, quant.shift);
    }
  }
}

void FullyConnectedPerChannelInt8(const FullyConnectedParams& params,
                                  const PerChannelQuant& quant, int32_t batches,
                                  int32_t accum_depth, int32_t output_units,
                                  const int8_t* input, const int8_t* filter,
                                  const int32_t* bias, int8_t* output) {
  for (int32_t b = 0; b < batches; ++b) {
    for (int32_t o = 0; o < output_units; ++o) {
      int32_t acc = Dot(params, accum_depth, input + b * accum_depth, filter + o * accum_depth);
      if (bias != nullptr) acc += bias[o];
      output[b * output_units + o] = Finish(params, acc, quant.multiplier[o], quant.shift[o]);
    }
  }
}

}  // namespace tflm_train
