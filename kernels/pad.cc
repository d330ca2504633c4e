#include "kernels/pad.h"

namespace tflm_train {

void PadInt8(const Dims& input_dims, const int8_t* input, const int32_t before[4],
             const int32_t after[4], int8_t pad_value, int8_t* output) {
  const int32_t in[4] = {input_dims.n, input_dims.h, input_dims.w, input_dims.c};
  int32_t out[4];
  for (int32_t i = 0; i < 4; ++i) out[i] = before[i] + in[i] + after[i];
  int32_t o = 0;
  for (int32_t n = 0; n < out[0]; ++n) {
    const int32_t in_n = n - before[0];
    const bool n_in = in_n >= 0 && in_n < in[0];
    for (int32_t h = 0; h < out[1]; ++h) {
      const int32_t in_h = h - before[1];
      const bool h_in = n_in && in_h >= 0 && in_h < in[1];
      for (int32_t w = 0; w < out[2]; ++w) {
        const int32_t in_w = w - before[2];
        const bool w_in = h_in && in_w >= 0 && in_w < in[2];
        for (int32_t c = 0; c < out[3]; ++c) {
          const int32_t in_c = c - before[3];
          if (w_in && in_c >= 0 && in_c < in[3]) {
            output[o++] = input[((in_n * in[1] + in_h) * in[2] + in_w) * in[3] + in_c];
          } else {
            output[o++] = pad_value;
          }
        }
      }
    }
  }
}

}  // namespace tflm_train
