#include "kernels/mean.h"

#include "kernels/quant_math.h"

namespace tflm_train {

MeanQuant MeanPrepare(float input_scale, int32_t input_zero_point, float output_scale,
                      int32_t output_zero_point) {
  MeanQuant q;
  q.input_zero_point = input_zero_point;
  q.output_zero_point = output_zero_point;
  const QuantMultiplier m =
      QuantizeMultiplier(static_cast<double>(input_scale) / static_cast<double>(output_scale));
  q.multiplier = m.multiplier;
  q.shift = m.shift;
  return q;
}

namespace {

int32_t FloorLog2(uint64_t v) {
  int32_t r = -1;
  while (v != 0) {
    v >>= 1;
    ++r;
  }
  return r;
}

}  // namespace

void MeanSpatialInt8(const MeanQuant& quant, const Dims& input_dims, const int8_t* input,
                     int8_t* output) {
  const int64_t count = static_cast<int64_t>(input_dims.h) * input_dims.w;
  const int32_t depth = input_dims.c;
  if (count == 0) {
    for (int32_t i = 0; i < input_dims.n * depth; ++i) output[i] = 0;
    return;
  }
  // Fold 1/count into the multiplier: pre-shift it left by up to floor(log2(count)) bits so the
  // integer division keeps precision, bounded so the shift stays within the MBQM range.
  int32_t mult = quant.multiplier;
  int32_t shift = quant.shift;
  int32_t extra = FloorLog2(static_cast<uint64_t>(count));
  if (extra > 32) extra = 32;
  if (extra > 31 + shift) extra = 31 + shift;
  mult = static_cast<int32_t>((static_cast<int64_t>(mult) << extra) / count);
  shift -= extra;
  for (int32_t b = 0; b < input_dims.n; ++b) {
    for (int32_t c = 0; c < depth; ++c) {
      int32_t sum = 0;
      const int8_t* p = input + static_cast<int64_t>(b) * count * depth + c;
      for (int64_t i = 0; i < count; ++i) sum += p[i * depth];
      const int32_t centred = static_cast<int32_t>(sum - quant.input_zero_point * count);
      int32_t out = MultiplyByQuantizedMultiplier(centred, mult, shift) + quant.output_zero_point;
      output[b * depth + c] = static_cast<int8_t>(ClampToRange(out, -128, 127));
    }
  }
}

}  // namespace tflm_train
