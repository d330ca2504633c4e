// Microbench: instructions per forward kernel, reference path vs DSP path, on MobileNet-style
// layers (1x1 convolutions and 3x3 depthwise at 16-64 channels, MCUNet's 5x5 and 7x7
// depthwise, a strided 3x3 stem, a classifier). Under QEMU -icount shift=0 one board tick is
// 40 instructions, so the counts are exact to 40 and identical from run to run. Also checks
// both paths give the same bytes.
#include <cstdint>
#include <cstring>

#include "kernels/firmware/case_gen.h"
#include "kernels/firmware/runner.h"
#include "targets/board/board.h"

namespace {

using kernel_test::Op;
using kernel_test::OpCase;

struct Layer {
  const char* name;
  Op op;
  int32_t h, w, in_c, out_c, k, stride;  // FC: in_c = depth, out_c = units, h = w = k = 1
  // MobileNetV2-w0.35's own layers: activation (3 ReLU6, 0 none) over the whole int8 output
  // range (output scale 6 / 255, as the converted models have it), which the pointwise kernel's
  // assembly finishes. The other layers: ReLU6 clamped to a narrower range.
  bool mobilenet = false;
  int32_t activation = 3;
};

constexpr Layer kLayers[] = {
    {"conv 1x1 16x16x16->16", Op::kConv, 16, 16, 16, 16, 1, 1},
    {"conv 1x1 16x16x16->96", Op::kConv, 16, 16, 16, 96, 1, 1},
    {"conv 1x1 8x8x32->32", Op::kConv, 8, 8, 32, 32, 1, 1},
    {"conv 1x1 8x8x64->64", Op::kConv, 8, 8, 64, 64, 1, 1},
    {"mnv2 1x1 16x16x8->48", Op::kConv, 16, 16, 8, 48, 1, 1, true, 3},
    {"mnv2 1x1 16x16x16->8", Op::kConv, 16, 16, 16, 8, 1, 1, true, 0},
    {"mnv2 1x1 16x16x48->8", Op::kConv, 16, 16, 48, 8, 1, 1, true, 0},
    {"mnv2 1x1 16x16x16->96", Op::kConv, 16, 16, 16, 96, 1, 1, true, 3},
    {"mnv2 1x1 8x8x24->144", Op::kConv, 8, 8, 24, 144, 1, 1, true, 3},
    {"mnv2 1x1 8x8x144->24", Op::kConv, 8, 8, 144, 24, 1, 1, true, 0},
    {"mnv2 1x1 4x4x112->256", Op::kConv, 4, 4, 112, 256, 1, 1, true, 3},
    {"mnv2 1x1 4x4x336->56", Op::kConv, 4, 4, 336, 56, 1, 1, true, 0},
    {"conv 3x3/2 32x32x3->16", Op::kConv, 32, 32, 3, 16, 3, 2},
    {"conv 3x3 8x8x16->16", Op::kConv, 8, 8, 16, 16, 3, 1},
    {"dw 3x3 16x16x16", Op::kDepthwise, 16, 16, 16, 16, 3, 1},
    {"dw 3x3 16x16x32", Op::kDepthwise, 16, 16, 32, 32, 3, 1},
    {"dw 3x3/2 16x16x32", Op::kDepthwise, 16, 16, 32, 32, 3, 2},
    {"dw 3x3 8x8x64", Op::kDepthwise, 8, 8, 64, 64, 3, 1},
    // MCUNet's big windows.
    {"dw 5x5 20x20x32", Op::kDepthwise, 20, 20, 32, 32, 5, 1},
    {"dw 5x5/2 20x20x32", Op::kDepthwise, 20, 20, 32, 32, 5, 2},
    {"dw 7x7 20x20x32", Op::kDepthwise, 20, 20, 32, 32, 7, 1},
    {"dw 7x7/2 20x20x32", Op::kDepthwise, 20, 20, 32, 32, 7, 2},
    {"fc 256->10", Op::kFullyConnected, 1, 1, 256, 10, 1, 1},
    {"fc 512->64", Op::kFullyConnected, 1, 1, 512, 64, 1, 1},
    // Residual ADDs: a whole tensor and one row of a streamed chain (kernels/row_stream.cc).
    {"add 16x16x16", Op::kAdd, 16, 16, 16, 16, 1, 1},
    {"add row 1x32x8", Op::kAdd, 1, 32, 8, 8, 1, 1},
};

// Largest input / filter / output among kLayers (the board has 256 KB of RAM).
constexpr int32_t kInputBytes = 16 * 1024;
constexpr int32_t kFilterBytes = 32 * 1024;
constexpr int32_t kMaxBytes = 24 * 1024;
int8_t g_input[kInputBytes];
int8_t g_filter[kFilterBytes];
int32_t g_bias[kernel_test::kMaxChannels];
float g_scales[kernel_test::kMaxChannels];
int8_t g_out_ref[kMaxBytes];
int8_t g_out_dsp[kMaxBytes];

// A SAME-padded, per-channel, ReLU6 layer as a converter emits for MobileNet.
OpCase MakeCase(const Layer& l, kernel_test::Rng& rng, int64_t* macs) {
  OpCase c{};
  c.op = l.op;
  c.stride_h = c.stride_w = l.stride;
  c.dilation_h = c.dilation_w = 1;
  c.padding = 0;
  c.activation = l.activation;
  c.depth_multiplier = 1;
  c.input_scale = 0.05f;
  c.input_zero_point = -20;
  c.output_scale = l.mobilenet ? 6.0f / 255.0f : 0.05f;
  c.output_zero_point = -128;
  const int32_t depth = l.op == Op::kDepthwise ? l.k * l.k : l.k * l.k * l.in_c;
  const int32_t in_bytes = l.h * l.w * l.in_c;
  const int32_t f_bytes = l.op == Op::kDepthwise ? l.k * l.k * l.out_c : depth * l.out_c;
  for (int32_t i = 0; i < in_bytes; ++i) g_input[i] = static_cast<int8_t>(rng.Uniform(-128, 127));
  for (int32_t i = 0; i < f_bytes; ++i) g_filter[i] = static_cast<int8_t>(rng.Uniform(-127, 127));
  for (int32_t i = 0; i < l.out_c; ++i) {
    g_bias[i] = rng.Uniform(-2000, 2000);
    g_scales[i] = 0.02f * rng.UniformF(0.5f, 2.0f) / static_cast<float>(depth);
  }
  if (l.op == Op::kAdd) {
    // Input scales of a MobileNetV2 residual: close, neither a power of two of the other.
    const int32_t bytes = l.h * l.w * l.in_c;
    for (int32_t i = 0; i < 2 * bytes; ++i) g_input[i] = static_cast<int8_t>(rng.Uniform(-128, 127));
    const int32_t d[4] = {1, l.h, l.w, l.in_c};
    std::memcpy(c.input_dims, d, sizeof(d));
    c.activation = 0;
    c.input_scale = 0.11f;
    c.input2_scale = 0.07f;
    c.input2_zero_point = 5;
    c.output_scale = 0.13f;
    c.output_zero_point = -3;
    c.input = g_input;
    c.input2 = g_input + bytes;
    *macs = bytes;  // "MACs" of an ADD: its output bytes
    return c;
  }
  const int32_t out_hw = ((l.h + l.stride - 1) / l.stride) * ((l.w + l.stride - 1) / l.stride);
  *macs = static_cast<int64_t>(out_hw) * l.out_c * depth;
  if (l.op == Op::kFullyConnected) {
    const int32_t in_d[4] = {1, 1, 1, l.in_c}, f_d[4] = {l.out_c, 1, 1, l.in_c};
    std::memcpy(c.input_dims, in_d, sizeof(in_d));
    std::memcpy(c.filter_dims, f_d, sizeof(f_d));
    c.num_filter_scales = 1;
  } else {
    const int32_t in_d[4] = {1, l.h, l.w, l.in_c};
    const int32_t conv_f[4] = {l.out_c, l.k, l.k, l.in_c}, dw_f[4] = {1, l.k, l.k, l.out_c};
    std::memcpy(c.input_dims, in_d, sizeof(in_d));
    std::memcpy(c.filter_dims, l.op == Op::kConv ? conv_f : dw_f, sizeof(conv_f));
    c.num_filter_scales = l.out_c;
  }
  c.filter_scales = g_scales;
  c.input = g_input;
  c.filter = g_filter;
  c.bias = g_bias;
  return c;
}

// Instructions of one eval of `c` on one path (both paths also write their output).
bool Measure(bool dsp, const OpCase& c, int8_t* out, unsigned long* insns) {
  int32_t n = 0;
  uint64_t ticks = 0;
  const bool ok = dsp ? kernel_test::dsp::Run(c, 1, out, kMaxBytes, &n, &ticks)
                      : kernel_test::ref::Run(c, 1, out, kMaxBytes, &n, &ticks);
  *insns = static_cast<unsigned long>(board_ticks_to_insns(ticks));
  return ok;
}

// 100 * num / den rounded, in 64 bits (the products overflow 32-bit counters on big layers).
unsigned long Times100(uint64_t num, uint64_t den) {
  return den > 0 ? static_cast<unsigned long>((100 * num + den / 2) / den) : 0;
}

int32_t OutputBytes(const OpCase& c, const Layer& l) {
  if (c.op == Op::kFullyConnected) return l.out_c;
  if (c.op == Op::kAdd) return l.h * l.w * l.in_c;
  return ((l.h + l.stride - 1) / l.stride) * ((l.w + l.stride - 1) / l.stride) * l.out_c;
}

}  // namespace

int main() {
  board_init();
  board_printf("[bench] board %s, '%s' vs '%s' path, instructions per eval (+-40)\n",
               board_name(), kernel_test::ref::KernelPathName(),
               kernel_test::dsp::KernelPathName());
  kernel_test::Rng rng(0xBE7C4u);
  bool ok = true;
  unsigned long total_ref = 0, total_dsp = 0;
  for (const Layer& l : kLayers) {
    int64_t macs = 0;
    const OpCase c = MakeCase(l, rng, &macs);
    unsigned long ref = 0, dsp = 0;
    const bool ran = Measure(false, c, g_out_ref, &ref) && Measure(true, c, g_out_dsp, &dsp);
    const bool same = ran && std::memcmp(g_out_ref, g_out_dsp, OutputBytes(c, l)) == 0;
    // Two decimals with integer printf (newlib-nano's printf has no %f unless linked in).
    const unsigned long ratio100 = Times100(ref, dsp);
    const unsigned long ref_per_mac100 = Times100(ref, static_cast<uint64_t>(macs));
    const unsigned long dsp_per_mac100 = Times100(dsp, static_cast<uint64_t>(macs));
    board_printf("[bench] %-24s MACs %7lu  ref %8lu (%lu.%02lu/MAC)  dsp %8lu (%lu.%02lu/MAC)  "
                 "ref/dsp %lu.%02lu  %s\n",
                 l.name, static_cast<unsigned long>(macs), ref, ref_per_mac100 / 100,
                 ref_per_mac100 % 100, dsp, dsp_per_mac100 / 100, dsp_per_mac100 % 100,
                 ratio100 / 100, ratio100 % 100, same ? "same bytes" : "OUTPUT DIFFERS");
    total_ref += ref;
    total_dsp += dsp;
    ok = ok && same && dsp < ref;
  }
  const unsigned long ratio100 = Times100(total_ref, total_dsp);
  board_printf("[bench] all layers: ref %lu dsp %lu ref/dsp %lu.%02lu\n", total_ref, total_dsp,
               ratio100 / 100, ratio100 % 100);
  board_printf("[bench] %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
