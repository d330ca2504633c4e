#include "kernels/fully_connected.h"

#include "kernels/conv_window.h"
#include "kernels/dot_product.h"

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
  if (multiplier == nullptr) return true;
  PerChannelMultipliers(input_scale, filter_scales, num_filter_scales, output_scale, output_units,
                        multiplier, shift);
  return true;
}

namespace {

// Both public variants: output unit o uses multiplier[o * quant_step] / shift[o * quant_step]
// (quant_step 0: one per-tensor multiplier, 1: per channel). Units go in pairs so each input
// word is widened once for two filter rows; an odd last unit is paired with itself.
void FullyConnected(const FullyConnectedParams& params, const int32_t* multiplier,
                    const int32_t* shift, int32_t quant_step, int32_t batches,
                    int32_t accum_depth, int32_t output_units, const int8_t* input,
                    const FilterRows& filter, const int32_t* bias, int8_t* output) {
  // Locals, not reads through params: the int8 output stores may alias anything.
  const int32_t input_offset = params.input_offset, filter_offset = params.filter_offset;
  const int32_t output_offset = params.output_offset;
  const ActivationRange activation = params.activation;
  for (int32_t b = 0; b < batches; ++b) {
    const int8_t* in = input + b * accum_depth;
    int8_t* out = output + b * output_units;
    for (int32_t o = 0; o < output_units; o += 2) {
      const int32_t o1 = o + 1 < output_units ? o + 1 : o;
      int32_t acc0 = bias != nullptr ? bias[o] : 0;
      int32_t acc1 = bias != nullptr ? bias[o1] : 0;
      const int8_t* w0 = filter.row(o);
      const int8_t* w1 = filter.row(o1);
      // Symmetric weights (the usual case) get the DotPair specialised for offset 0.
      if (filter_offset == 0) {
        DotPair(in, w0, w1, accum_depth, input_offset, 0, &acc0, &acc1);
      } else {
        DotPair(in, w0, w1, accum_depth, input_offset, filter_offset, &acc0, &acc1);
      }
      out[o] = RequantizeToInt8(acc0, multiplier[o * quant_step], shift[o * quant_step],
                                output_offset, activation);
      out[o1] = RequantizeToInt8(acc1, multiplier[o1 * quant_step], shift[o1 * quant_step],
                                 output_offset, activation);
    }
  }
}

}  // namespace

void FullyConnectedInt8(const FullyConnectedParams& params, QuantMultiplier quant,
                        int32_t batches, int32_t accum_depth, int32_t output_units,
                        const int8_t* input, const int8_t* filter, const int32_t* bias,
                        int8_t* output) {
  FullyConnected(params, &quant.multiplier, &quant.shift, 0, batches, accum_depth, output_units,
                 input, WholeFilter(filter, accum_depth), bias, output);
}

void FullyConnectedPerChannelInt8(const FullyConnectedParams& params,
                                  const PerChannelQuant& quant, int32_t batches,
                                  int32_t accum_depth, int32_t output_units,
                                  const int8_t* input, const int8_t* filter,
                                  const int32_t* bias, int8_t* output) {
  FullyConnected(params, quant.multiplier, quant.shift, 1, batches, accum_depth, output_units,
                 input, WholeFilter(filter, accum_depth), bias, output);
}

void FullyConnectedRowsInt8(const FullyConnectedParams& params, const PerChannelQuant& quant,
                            int32_t quant_step, int32_t batches, int32_t accum_depth,
                            int32_t output_units, const int8_t* input, const FilterRows& filter,
                            const int32_t* bias, int8_t* output) {
  FullyConnected(params, quant.multiplier, quant.shift, quant_step, batches, accum_depth,
                 output_units, input, filter, bias, output);
}

}  // namespace tflm_train
