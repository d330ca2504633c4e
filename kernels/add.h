// int8 elementwise ADD with requantisation and fused activation; same shape or 4-D broadcast.
#ifndef TFLM_TRAIN_KERNELS_ADD_H_
#define TFLM_TRAIN_KERNELS_ADD_H_

#include <cstdint>

#include "kernels/broadcast.h"
#include "kernels/conv_window.h"
#include "kernels/quant_math.h"
#include "kernels/types.h"

namespace tflm_train {

struct AddParams {
  int32_t input1_offset;  // -zero point
  int32_t input2_offset;
  int32_t output_offset;  // +zero point
  int32_t left_shift;     // headroom applied to both inputs before rescaling (20 for int8)
  QuantMultiplier input1;  // shifts are <= 0
  QuantMultiplier input2;
  QuantMultiplier output;
  ActivationRange activation;
};

// Returns false when a multiplier is not representable the way TFLM requires (shift > 0).
bool AddPrepare(float input1_scale, int32_t input1_zero_point, float input2_scale,
                int32_t input2_zero_point, float output_scale, int32_t output_zero_point,
                FusedActivation activation, AddParams* params);

// One element of ADD (kSign 1) or SUB (kSign -1, kernels/sub.h, same parameters): TFLM computes
// both alike, bringing each operand to the common scale before adding or subtracting them.
template <int32_t kSign>
inline int8_t AddSubOne(const AddParams& p, int32_t a, int32_t b) {
  const int32_t sa = ShiftLeftWrap(a + p.input1_offset, p.left_shift);
  const int32_t sb = ShiftLeftWrap(b + p.input2_offset, p.left_shift);
  // Three requantisations per element dominate ADD: the DSP path's SMLAL form halves them.
  const int32_t ra = MultiplyByQuantizedMultiplierForPath(sa, p.input1.multiplier, p.input1.shift);
  const int32_t rb = MultiplyByQuantizedMultiplierForPath(sb, p.input2.multiplier, p.input2.shift);
  const int32_t out =
      MultiplyByQuantizedMultiplierForPath(kSign > 0 ? ra + rb : ra - rb, p.output.multiplier,
                                           p.output.shift) +
      p.output_offset;
  return static_cast<int8_t>(ClampToRange(out, p.activation.min, p.activation.max));
}

void AddInt8(const AddParams& params, int32_t size, const int8_t* input1, const int8_t* input2,
             int8_t* output);

// Each input dimension equals the output's or is 1 (broadcast); shapes are NHWC-extended to 4-D.
void AddBroadcast4DInt8(const AddParams& params, const Dims& input1_dims, const int8_t* input1,
                        const Dims& input2_dims, const int8_t* input2, const Dims& output_dims,
                        int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_ADD_H_
