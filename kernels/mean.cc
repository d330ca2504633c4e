#include "kernels/mean.h"

#include "kernels/quant_math.h"

namespace tflm_train {

namespace {

int32_t FloorLog2(uint32_t v) {
  int32_t r = -1;
  while (v != 0) {
    v >>= 1;
    ++r;
  }
  return r;
}

}  // namespace

MeanQuant MeanPrepare(float input_scale, int32_t input_zero_point, float output_scale,
                      int32_t output_zero_point, int32_t num_elements) {
  MeanQuant q;
  q.input_zero_point = input_zero_point;
  q.output_zero_point = output_zero_point;
  q.num_elements = num_elements;
  const QuantMultiplier m =
      QuantizeMultiplier(static_cast<double>(input_scale) / static_cast<double>(output_scale));
  // Fold 1/num_elements into the multiplier: pre-shift it left by floor(log2(n)) bits so the
  // truncating integer division keeps precision, bounded so the final shift stays >= -31.
  int32_t extra = num_elements > 0 ? FloorLog2(static_cast<uint32_t>(num_elements)) : 0;
  if (extra > 32) extra = 32;
  if (extra > 31 + m.shift) extra = 31 + m.shift;
  q.multiplier = num_elements > 0
                     ? static_cast<int32_t>((static_cast<int64_t>(m.multiplier) << extra) /
                                            num_elements)
                     : 0;
  q.shift = m.shift - extra;
  return q;
}

void MeanSpatialInt8(const MeanQuant& quant, const Dims& input_dims, const int8_t* input,
                     int8_t* output) {
  const int32_t count = quant.num_elements;
  const int32_t depth = input_dims.c;
  if (count <= 0) {
    for (int32_t i = 0; i < input_dims.n * depth; ++i) output[i] = 0;
    return;
  }
  // Hoisted so the per-output work is a sum and one requantisation.
  const int32_t zero_sum = quant.input_zero_point * count;
  for (int32_t b = 0; b < input_dims.n; ++b) {
    for (int32_t c = 0; c < depth; ++c) {
      int32_t sum = 0;
      const int8_t* p = input + b * count * depth + c;
      for (int32_t i = 0; i < count; ++i) sum += p[i * depth];
      const int32_t out = MultiplyByQuantizedMultiplier(sum - zero_sum, quant.multiplier,
                                                        quant.shift) +
                          quant.output_zero_point;
      output[b * depth + c] = static_cast<int8_t>(ClampToRange(out, -128, 127));
    }
  }
}

}  // namespace tflm_train
