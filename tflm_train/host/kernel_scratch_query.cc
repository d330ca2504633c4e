// Host-only export for the converter: the scratch bytes a conv or depthwise kernel takes, from
// the kernels' own *_GetBufferSize(). The planner sizes a streamed chain's scratch by asking
// here, so the sizes are defined once, in the kernels, and the runtime's check of a plan
// (row_stream.cc) can never disagree with the plan. Not linked into firmware.
#include <cstdint>

#include "kernels/conv.h"
#include "kernels/depthwise_conv.h"
#include "kernels/types.h"

namespace {

tflm_train::Dims DimsOf(const int32_t* nhwc) { return {nhwc[0], nhwc[1], nhwc[2], nhwc[3]}; }

}  // namespace

// kind: 0 = CONV_2D (filter OHWI), 1 = DEPTHWISE_CONV_2D (filter 1HWC). Shapes are 4 entries
// each, as in the model. Returns -1 for another kind.
extern "C" int32_t tt_host_kernel_scratch_bytes(int32_t kind, const int32_t* input_nhwc,
                                                const int32_t* filter, const int32_t* output_nhwc) {
  const tflm_train::Dims input = DimsOf(input_nhwc);
  const tflm_train::Dims weights = DimsOf(filter);
  const tflm_train::Dims output = DimsOf(output_nhwc);
  switch (kind) {
    case 0:
      return tflm_train::ConvInt8RowsGetBufferSize(input, weights, output);
    case 1:
      return tflm_train::DepthwiseConvInt8GetBufferSize(input, weights, output);
    default:
      return -1;
  }
}
