#include "kernels/concatenation.h"

#include "kernels/quant_math.h"

namespace tflm_train {

bool ConcatenationOuterInner(const int32_t* dims, int32_t rank, int32_t axis, int32_t* outer,
                             int32_t* inner) {
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return false;
  *outer = 1;
  *inner = 1;
  for (int32_t i = 0; i < axis; ++i) *outer *= dims[i];
  for (int32_t i = axis + 1; i < rank; ++i) *inner *= dims[i];
  return true;
}

ConcatInputQuant ConcatenationPrepareInput(float input_scale, int32_t input_zero_point,
                                           float output_scale, int32_t output_zero_point) {
  ConcatInputQuant q;
  q.identity = input_scale == output_scale && input_zero_point == output_zero_point;
  q.input_zero_point = input_zero_point;
  q.output_zero_point = output_zero_point;
  q.multiplier =
      QuantizeMultiplier(static_cast<double>(input_scale) / static_cast<double>(output_scale));
  return q;
}

void ConcatenationInt8(int32_t num_inputs, const int8_t* const* inputs, const int32_t* axis_sizes,
                       const ConcatInputQuant* quant, int32_t outer_size, int32_t inner_size,
                       int8_t* output) {
  int8_t* out = output;
  for (int32_t o = 0; o < outer_size; ++o) {
    for (int32_t i = 0; i < num_inputs; ++i) {
      const int32_t block = axis_sizes[i] * inner_size;
      const int8_t* in = inputs[i] + o * block;
      if (quant == nullptr || quant[i].identity) {
        for (int32_t k = 0; k < block; ++k) out[k] = in[k];
      } else {
        const ConcatInputQuant& q = quant[i];
        for (int32_t k = 0; k < block; ++k) {
          const int32_t v = MultiplyByQuantizedMultiplier(in[k] - q.input_zero_point,
                                                          q.multiplier.multiplier,
                                                          q.multiplier.shift) +
                            q.output_zero_point;
          out[k] = static_cast<int8_t>(ClampToRange(v, -128, 127));
        }
      }
      out += block;
    }
  }
}

}  // namespace tflm_train
