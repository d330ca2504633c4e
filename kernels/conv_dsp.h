// DSP-path specialisation of CONV_2D for stems: a window over few input channels (3x3 over RGB),
// where the reference structure spends most of its instructions on short, unaligned dot products
// (9 bytes per window row). Here each window is gathered once into widened 16-bit pairs and
// every output channel is then one run of SMLADs against its filter, widened once per call.
// Only built on the DSP path (kernel_path.h); ConvInt8Rows computes every shape this does not
// handle.
#ifndef TFLM_TRAIN_KERNELS_CONV_DSP_H_
#define TFLM_TRAIN_KERNELS_CONV_DSP_H_

#include <cstdint>

#include "kernels/kernel_path.h"
#include "kernels/types.h"

namespace tflm_train {

// Largest window handled, in bytes (kh * kw * in_c): 3x3x3 = 27, 5x5x2 = 50, 7x7x1 = 49.
constexpr int32_t kConvSmallDepthDspMaxWindowBytes = 64;
// Widened filter words held at once (1 KB at most); more output channels go in chunks, each
// re-gathering the windows.
constexpr int32_t kConvSmallDepthDspMaxWeightWords = 256;
// Output channels per chunk at most: their doubled biases and DoubledRequant constants are on
// the stack.
constexpr int32_t kConvSmallDepthDspMaxChunk = 16;

// Output channels per chunk for `words` widened words per filter row: multiples of 4 (four
// output bytes per store on the doubled path), >= 8 since words <= 32.
inline int32_t ConvSmallDepthDspChunk(int32_t words) {
  const int32_t chunk = (kConvSmallDepthDspMaxWeightWords / words) & ~3;
  return chunk < kConvSmallDepthDspMaxChunk ? chunk : kConvSmallDepthDspMaxChunk;
}

// Scratch bytes ConvSmallDepthDsp needs (0 when it never takes the shape): one chunk of filter
// rows widened to 16-bit pairs. Defined on every build, so that the host plans and checks what
// the board needs.
inline int32_t ConvSmallDepthDspGetBufferSize(const Dims& input_dims, const Dims& filter_dims,
                                              const Dims& output_dims) {
  const int32_t window = filter_dims.h * filter_dims.w * input_dims.c;
  if (filter_dims.c != input_dims.c || input_dims.c >= 8 || input_dims.c <= 0 ||
      filter_dims.h * filter_dims.w < 2 || window > kConvSmallDepthDspMaxWindowBytes ||
      output_dims.c <= 0) {
    return 0;
  }
  const int32_t words = 2 * ((window + 3) / 4);
  const int32_t chunk = ConvSmallDepthDspChunk(words);
  return 4 * words * (output_dims.c < chunk ? output_dims.c : chunk);
}

#if TFLM_TRAIN_KERNELS_DSP
// Computes the whole convolution and returns true, or returns false (nothing written) when the
// shape is not a small-depth window (groups, 8 or more input channels, a 1x1 window, a window
// of more than 64 bytes). Same bytes as the reference: the same exact int32 sums, only
// regrouped; a tap outside the input is gathered as the input zero point, whose product with
// the offset input is 0, as skipping it is in the reference.
// scratch: ConvSmallDepthDspGetBufferSize bytes, 4-byte aligned.
bool ConvSmallDepthDsp(const ConvParams& params, const PerChannelQuant& quant,
                       const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                       const FilterRows& filter, const int32_t* bias, const Dims& output_dims,
                       int8_t* output, void* scratch);
#endif

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_CONV_DSP_H_
