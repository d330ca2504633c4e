#include "kernels/training/bias_grad.h"

namespace tflm_train {
namespace {

// B channels at once: their sums stay in registers and each position's B values are adjacent.
template <int B>
void BiasGradBlock(int32_t positions, int32_t channels, const float* grad_output,
                   float* grad_bias) {
  float acc[B];
#pragma GCC unroll 8
  for (int32_t j = 0; j < B; ++j) acc[j] = 0.0f;
  for (int32_t p = 0; p < positions; ++p, grad_output += channels) {
#pragma GCC unroll 8
    for (int32_t j = 0; j < B; ++j) acc[j] += grad_output[j];
  }
#pragma GCC unroll 8
  for (int32_t j = 0; j < B; ++j) grad_bias[j] = acc[j];
}

constexpr int32_t kMaxBlock = 8;
using BlockFn = void (*)(int32_t, int32_t, const float*, float*);
constexpr BlockFn kBlockFns[kMaxBlock] = {BiasGradBlock<1>, BiasGradBlock<2>, BiasGradBlock<3>,
                                          BiasGradBlock<4>, BiasGradBlock<5>, BiasGradBlock<6>,
                                          BiasGradBlock<7>, BiasGradBlock<8>};

}  // namespace

void BiasGrad(int32_t positions, int32_t channels, const float* grad_output, int32_t c_begin,
              int32_t c_end, float* grad_bias) {
  for (int32_t c = c_begin; c < c_end;) {
    const int32_t b = c_end - c < kMaxBlock ? c_end - c : kMaxBlock;
    kBlockFns[b - 1](positions, channels, grad_output + c, grad_bias + (c - c_begin));
    c += b;
  }
}

}  // namespace tflm_train
