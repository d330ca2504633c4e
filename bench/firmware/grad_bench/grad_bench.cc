// Instructions per call of the 1x1 / FC gradient kernels and the SGD update, on shapes of the
// MobileNetV2-w0.35 training step (head conv 16 positions x 1280 -> 112, project / expand convs
// of the last blocks, the 1280 -> 10 classifier).
#include <cstdint>

#include "kernels/training/activation_grad.h"
#include "kernels/training/conv_grad.h"
#include "kernels/training/fully_connected_grad.h"
#include "kernels/training/sgd_update.h"
#include "targets/board/board.h"

namespace {

using namespace tflm_train;

int8_t g_filter[640 * 112];
int8_t g_input[64 * 192];
float g_grad[64 * 192];
float g_scales[1280];
float g_out[4096];

uint32_t g_rng = 12345;
float RandF() { return static_cast<float>(static_cast<int32_t>(XorShift32(&g_rng) >> 8) - 8388608) * 1e-7f; }

void Report(const char* name, uint64_t ticks, int64_t macs) {
  const uint64_t insns = board_ticks_to_insns(ticks);
  board_printf("[grad_bench] %-40s insns %9lu  MACs %8lu  per MAC x100 %lu\n", name,
               static_cast<unsigned long>(insns), static_cast<unsigned long>(macs),
               static_cast<unsigned long>(macs > 0 ? 100 * insns / macs : 0));
}

}  // namespace

int main() {
  board_init();
  for (auto& w : g_filter) w = static_cast<int8_t>(XorShift32(&g_rng));
  for (auto& x : g_input) x = static_cast<int8_t>(XorShift32(&g_rng));
  for (auto& g : g_grad) g = RandF();
  for (auto& s : g_scales) s = 0.01f + RandF() * 1e-3f;
  const ConvParams conv{3, 0, {1, 1}, {0, 0}, {1, 1}, {-128, 127}};
  struct Shape { const char* name; int32_t h, w, in_c, out_c; };
  const Shape input_shapes[] = {
      {"conv1x1 input grad 4x4 640->112", 4, 4, 112, 640},
      {"conv1x1 input grad 4x4 336->56", 4, 4, 56, 336},
      {"conv1x1 input grad 8x8 192->32", 8, 8, 32, 192},
      {"conv1x1 input grad 4x4 96->56 (group)", 4, 4, 56, 96},
  };
  for (const Shape& s : input_shapes) {
    const uint64_t t0 = board_ticks();
    ConvInputGradRows(conv, Dims{1, s.h, s.w, s.out_c}, g_grad, Dims{s.out_c, 1, 1, s.in_c},
                      WholeFilter(g_filter, s.in_c), g_scales, Dims{1, s.h, s.w, s.in_c}, g_out);
    Report(s.name, board_ticks() - t0, int64_t{s.h} * s.w * s.in_c * s.out_c);
  }
  {
    const uint64_t t0 = board_ticks();
    PointwiseInputGradChannels(16, 112, g_grad, WholeFilter(g_filter, 336), g_scales, 48, 96, g_out);
    Report("pointwise channels 16 pos 112 -> 48", board_ticks() - t0, 16 * 112 * 48);
  }
  const Shape filter_shapes[] = {
      {"conv1x1 filter grad 4x4x112 (1 ch)", 4, 4, 112, 1},
      {"conv1x1 filter grad 8x8x32 (1 ch)", 8, 8, 32, 1},
      {"conv1x1 filter grad 8x8x32 (4 ch)", 8, 8, 32, 4},
      {"conv1x1 filter grad 8x8x32 (8 ch)", 8, 8, 32, 8},
      {"conv1x1 filter grad 4x4x56 (8 ch)", 4, 4, 56, 8},
      {"conv1x1 filter grad 4x4x56 (1 ch)", 4, 4, 56, 1},
  };
  for (const Shape& s : filter_shapes) {
    const uint64_t t0 = board_ticks();
    ConvFilterGrad(conv, Dims{1, s.h, s.w, s.in_c}, g_input, 0.02f, Dims{1, s.h, s.w, 64}, g_grad,
                   Dims{64, 1, 1, s.in_c}, 3, 3 + s.out_c, g_out);
    Report(s.name, board_ticks() - t0, int64_t{s.h} * s.w * s.in_c * s.out_c);
  }
  {
    // The classifier: one row's weight gradient + its SGD update, 10 rows.
    int8_t* weights = g_filter;
    const SgdParams sgd{0.01f, 0.0f, RoundingMode::kNearest};
    const uint64_t t0 = board_ticks();
    for (int32_t c = 0; c < 10; ++c) {
      FullyConnectedFilterGrad(1, 1280, g_input, 5, 0.02f, 10, g_grad, c, c + 1, g_out);
      SgdUpdateInt8(sgd, ChannelSlice{1, 10, 1280, c, c + 1}, g_out, g_scales, nullptr, &g_rng,
                    weights);
    }
    Report("fc 1280x10 filter grad + sgd nearest", board_ticks() - t0, 12800);
    const SgdParams sto{0.01f, 0.0f, RoundingMode::kStochastic};
    const uint64_t t1 = board_ticks();
    for (int32_t c = 0; c < 10; ++c) {
      SgdUpdateInt8(sto, ChannelSlice{1, 10, 1280, c, c + 1}, g_out, g_scales, nullptr, &g_rng,
                    weights);
    }
    Report("fc 1280x10 sgd stochastic only", board_ticks() - t1, 12800);
    const uint64_t t2 = board_ticks();
    for (int32_t c = 0; c < 10; ++c) {
      FullyConnectedFilterGrad(1, 1280, g_input, 5, 0.02f, 10, g_grad, c, c + 1, g_out);
    }
    Report("fc 1280x10 filter grad only", board_ticks() - t2, 12800);
  }
  {
    // Activation masks: the board's word-wise path against the bit-by-bit definition, for every
    // bound pair over all int8 values and random bytes, sizes not a multiple of 8.
    int8_t q[1027];
    for (int32_t i = 0; i < 1027; ++i) {
      q[i] = static_cast<int8_t>(i < 256 ? i - 128 : static_cast<int32_t>(XorShift32(&g_rng)));
    }
    uint8_t* mask = reinterpret_cast<uint8_t*>(g_out);
    int32_t bad = 0, cases = 0;
    for (int32_t lo = -129; lo <= 128; lo += 1) {
      for (int32_t hi = lo - 1; hi <= 129; hi += (hi < lo + 3 || hi > 124) ? 1 : 7) {
        const int32_t sizes[] = {1027, 1021, 8};
        for (int32_t size : sizes) {
          ActivationMaskSave(size, q + (1027 - size), lo, hi, mask);
          for (int32_t i = 0; i < (size + 7) / 8 * 8; ++i) {
            const int32_t v = i < size ? q[1027 - size + i] : 0;
            const bool want = i < size && v > lo && v < hi;
            bad += MaskBit(mask, i) != want;
          }
          ++cases;
        }
      }
    }
    board_printf("[grad_bench] mask save check: %ld cases, %ld wrong bits\n",
                 static_cast<long>(cases), static_cast<long>(bad));
    const uint64_t t0 = board_ticks();
    ActivationMaskSave(12288, g_input, -128, 127, mask);
    Report("mask save 12288 elements (per element)", board_ticks() - t0, 12288);
  }
  board_printf("[grad_bench] done\n");
  return 0;
}
