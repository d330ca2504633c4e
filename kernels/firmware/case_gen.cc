#include "kernels/firmware/case_gen.h"

#include <cmath>

namespace kernel_test {

uint32_t Rng::Next() {
  uint32_t x = state_;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  state_ = x;
  return x;
}

int32_t Rng::Uniform(int32_t lo, int32_t hi) {
  const uint32_t span = static_cast<uint32_t>(hi - lo) + 1u;
  return lo + static_cast<int32_t>(Next() % span);
}

float Rng::UniformF(float lo, float hi) {
  return lo + (hi - lo) * static_cast<float>(Next() >> 8) * (1.0f / 16777216.0f);
}

namespace {

// Output size along one axis, as the kernels' prepare computes it (only used to keep the
// generated output within the test's buffer).
int32_t OutSize(int32_t padding, int32_t in, int32_t filter, int32_t stride, int32_t dilation) {
  const int32_t eff = (filter - 1) * dilation + 1;
  return padding == 0 ? (in + stride - 1) / stride : (in + stride - eff) / stride;
}

void FillInt8(Rng& rng, bool extreme, int8_t* p, int32_t n) {
  for (int32_t i = 0; i < n; ++i) {
    p[i] = static_cast<int8_t>(extreme ? (rng.Chance(50) ? -128 : 127) : rng.Uniform(-128, 127));
  }
}

// Scales such that the typical accumulator (about sqrt(depth) * 74 * 74 for uniform int8 data)
// lands in a few tens of output steps: most outputs are then neither zero nor clamped, so a
// wrong sum shows up in the bytes.
void FillQuant(Rng& rng, int32_t depth, int32_t channels, bool per_channel, OpCase* c,
               float* scales) {
  c->input_scale = rng.UniformF(0.005f, 0.1f);
  const float base = rng.UniformF(0.002f, 0.05f);
  c->num_filter_scales = per_channel ? channels : 1;
  for (int32_t i = 0; i < c->num_filter_scales; ++i) scales[i] = base * rng.UniformF(0.5f, 2.0f);
  c->filter_scales = scales;
  const float typical = std::sqrt(static_cast<float>(depth)) * 5500.0f;
  c->output_scale = c->input_scale * base * typical / 40.0f * rng.UniformF(0.3f, 3.0f);
}

void Common(Rng& rng, bool extreme, OpCase* c) {
  c->activation = rng.Uniform(0, 3);
  c->input_zero_point = extreme ? (rng.Chance(50) ? -128 : 127) : rng.Uniform(-128, 127);
  c->output_zero_point = rng.Uniform(-100, 100);
  c->filter_zero_point = 0;
  c->stride_h = c->stride_w = 1;
  c->dilation_h = c->dilation_w = 1;
  c->padding = 0;
  c->depth_multiplier = 1;
}

// Stride/dilation/padding for a window of kh x kw on an h x w input.
void Geometry(Rng& rng, int32_t h, int32_t w, int32_t kh, int32_t kw, OpCase* c) {
  if (rng.Chance(25)) {
    c->dilation_h = rng.Uniform(1, 3);
    c->dilation_w = rng.Uniform(1, 3);
  } else {
    c->stride_h = rng.Uniform(1, 3);
    c->stride_w = rng.Uniform(1, 3);
  }
  c->padding = rng.Uniform(0, 1);
  if ((kh - 1) * c->dilation_h + 1 > h || (kw - 1) * c->dilation_w + 1 > w) c->padding = 0;
}

bool ConvCase(Rng& rng, CaseBuffers& buf, OpCase* c) {
  const bool extreme = rng.Chance(10);
  Common(rng, extreme, c);
  const int32_t n = rng.Chance(20) ? 2 : 1;
  const int32_t h = rng.Uniform(1, 10), w = rng.Uniform(1, 10);
  int32_t groups = 1, in_c, out_c;
  // Stems (3x3 over RGB and other windows over few channels) take the DSP path's gathered-window
  // kernel (conv_dsp.cc) at interior positions.
  const bool stem = rng.Chance(20);
  if (stem) {
    in_c = rng.Uniform(1, 7);
    out_c = rng.Uniform(1, 40);
  } else if (rng.Chance(15)) {
    groups = rng.Uniform(2, 3);
    in_c = groups * rng.Uniform(1, 9);
    out_c = groups * rng.Uniform(1, 7);
  } else {
    in_c = rng.Uniform(1, 48);
    out_c = rng.Uniform(1, 40);
  }
  // 1x1 convolutions are most of a MobileNet; give them a good share.
  const bool pointwise = !stem && rng.Chance(30);
  const int32_t kh = pointwise ? 1 : stem && rng.Chance(60) ? 3 : rng.Uniform(1, 5);
  const int32_t kw = pointwise ? 1 : stem && kh == 3 ? 3 : rng.Uniform(1, 5);
  Geometry(rng, h, w, kh, kw, c);
  const int32_t f_c = in_c / groups;
  const int32_t oh = OutSize(c->padding, h, kh, c->stride_h, c->dilation_h);
  const int32_t ow = OutSize(c->padding, w, kw, c->stride_w, c->dilation_w);
  if (n * h * w * in_c > CaseBuffers::kInputBytes) return false;
  if (out_c * kh * kw * f_c > CaseBuffers::kFilterBytes) return false;
  if (n * oh * ow * out_c > CaseBuffers::kInputBytes || oh <= 0 || ow <= 0) return false;
  const int32_t in_dims[4] = {n, h, w, in_c}, f_dims[4] = {out_c, kh, kw, f_c};
  for (int i = 0; i < 4; ++i) c->input_dims[i] = in_dims[i];
  for (int i = 0; i < 4; ++i) c->filter_dims[i] = f_dims[i];
  FillInt8(rng, extreme, buf.input, n * h * w * in_c);
  FillInt8(rng, extreme, buf.filter, out_c * kh * kw * f_c);
  FillQuant(rng, kh * kw * f_c, out_c, rng.Chance(75), c, buf.filter_scales);
  return true;
}

// 1x1 convolutions for the DSP pointwise kernel: inputs deeper than its 128-channel slice,
// channel counts with a tail of 1-3, strides (positions that are not the input's pixels in
// order), short last blocks, batches, split filters, and now and then an output scale small
// enough for a left shift (outside the kernels' doubled output stage).
bool PointwiseCase(Rng& rng, CaseBuffers& buf, OpCase* c) {
  const bool extreme = rng.Chance(10);
  Common(rng, extreme, c);
  if (rng.Chance(40)) c->activation = 0;
  const int32_t n = rng.Chance(20) ? 2 : 1;
  const int32_t kind = rng.Uniform(0, 9);
  const int32_t in_c = kind < 4 ? rng.Uniform(4, 48)
                       : kind < 7 ? 8 * rng.Uniform(2, 16)
                                  : rng.Uniform(129, 300);
  const int32_t max_out = CaseBuffers::kFilterBytes / in_c;
  const int32_t out_c = rng.Uniform(1, max_out < 40 ? max_out : 40);
  const int32_t max_pixels = CaseBuffers::kInputBytes / (n * in_c);
  const int32_t h = rng.Uniform(1, max_pixels < 10 ? max_pixels : 10);
  const int32_t w_max = max_pixels / h;
  const int32_t w = rng.Uniform(1, w_max < 10 ? w_max : 10);
  if (rng.Chance(30)) {
    c->stride_h = rng.Uniform(1, 3);
    c->stride_w = rng.Uniform(1, 3);
  }
  c->padding = rng.Uniform(0, 1);
  const int32_t oh = OutSize(c->padding, h, 1, c->stride_h, 1);
  const int32_t ow = OutSize(c->padding, w, 1, c->stride_w, 1);
  if (n * oh * ow * out_c > CaseBuffers::kInputBytes || oh <= 0 || ow <= 0) return false;
  const int32_t in_dims[4] = {n, h, w, in_c}, f_dims[4] = {out_c, 1, 1, in_c};
  for (int i = 0; i < 4; ++i) c->input_dims[i] = in_dims[i];
  for (int i = 0; i < 4; ++i) c->filter_dims[i] = f_dims[i];
  FillInt8(rng, extreme, buf.input, n * h * w * in_c);
  FillInt8(rng, extreme, buf.filter, out_c * in_c);
  FillQuant(rng, in_c, out_c, rng.Chance(75), c, buf.filter_scales);
  if (rng.Chance(5)) c->output_scale *= 1.0f / 4096.0f;
  c->filter_head_rows = rng.Chance(30) ? rng.Uniform(1, out_c) : 0;
  return true;
}

bool DepthwiseCase(Rng& rng, CaseBuffers& buf, OpCase* c) {
  const bool extreme = rng.Chance(10);
  Common(rng, extreme, c);
  const int32_t n = rng.Chance(20) ? 2 : 1;
  // Larger inputs with 3/5/7 windows at depth multiplier 1: the DSP path's interior kernel
  // (depthwise_conv_dsp.cc) then has interior positions, borders and odd channel tails.
  const bool wide = rng.Chance(35);
  const int32_t h = rng.Uniform(1, wide ? 18 : 12), w = rng.Uniform(1, wide ? 18 : 12);
  const int32_t dm = wide || rng.Chance(60) ? 1 : rng.Uniform(2, 4);
  const int32_t in_c = rng.Uniform(1, dm == 1 ? 70 : 16);
  const int32_t out_c = in_c * dm;
  const bool mobilenet = rng.Chance(40);
  const int32_t k_odd = 3 + 2 * rng.Uniform(0, 2);
  const int32_t kh = wide ? k_odd : mobilenet ? 3 : rng.Uniform(1, 5);
  const int32_t kw = wide ? (rng.Chance(80) ? k_odd : rng.Uniform(1, 7))
                          : mobilenet ? 3 : rng.Uniform(1, 5);
  Geometry(rng, h, w, kh, kw, c);
  c->depth_multiplier = dm;
  const int32_t oh = OutSize(c->padding, h, kh, c->stride_h, c->dilation_h);
  const int32_t ow = OutSize(c->padding, w, kw, c->stride_w, c->dilation_w);
  if (n * h * w * in_c > CaseBuffers::kInputBytes) return false;
  if (kh * kw * out_c > CaseBuffers::kFilterBytes || out_c > kMaxChannels) return false;
  if (n * oh * ow * out_c > CaseBuffers::kInputBytes || oh <= 0 || ow <= 0) return false;
  const int32_t in_dims[4] = {n, h, w, in_c}, f_dims[4] = {1, kh, kw, out_c};
  for (int i = 0; i < 4; ++i) c->input_dims[i] = in_dims[i];
  for (int i = 0; i < 4; ++i) c->filter_dims[i] = f_dims[i];
  FillInt8(rng, extreme, buf.input, n * h * w * in_c);
  FillInt8(rng, extreme, buf.filter, kh * kw * out_c);
  FillQuant(rng, kh * kw, out_c, rng.Chance(75), c, buf.filter_scales);
  // A filter split between two buffers as DepthwiseFilter allows: 4k leading channels.
  c->filter_head_rows = out_c > 4 && rng.Chance(30) ? 4 * rng.Uniform(1, (out_c - 1) / 4) : 0;
  return true;
}

bool FullyConnectedCase(Rng& rng, CaseBuffers& buf, OpCase* c) {
  const bool extreme = rng.Chance(10);
  Common(rng, extreme, c);
  const int32_t batches = rng.Uniform(1, 3);
  const int32_t depth = rng.Uniform(1, 400);
  const int32_t units = rng.Uniform(1, 40);
  if (batches * depth > CaseBuffers::kInputBytes) return false;
  if (units * depth > CaseBuffers::kFilterBytes) return false;
  const int32_t in_dims[4] = {batches, 1, 1, depth}, f_dims[4] = {units, 1, 1, depth};
  for (int i = 0; i < 4; ++i) c->input_dims[i] = in_dims[i];
  for (int i = 0; i < 4; ++i) c->filter_dims[i] = f_dims[i];
  // Asymmetric weights are legal for FC (filter_offset); |w - zp| must stay <= 255.
  if (rng.Chance(20)) c->filter_zero_point = rng.Uniform(-127, 127);
  FillInt8(rng, extreme, buf.input, batches * depth);
  FillInt8(rng, extreme, buf.filter, units * depth);
  FillQuant(rng, depth, units, rng.Chance(50), c, buf.filter_scales);
  return true;
}

}  // namespace

void RandomCase(Op op, Rng& rng, CaseBuffers& buf, OpCase* c) {
  c->op = op;
  c->filter_head_rows = 0;
  bool ok = false;
  while (!ok) {
    switch (op) {
      case Op::kConv:
        ok = ConvCase(rng, buf, c);
        break;
      case Op::kDepthwise:
        ok = DepthwiseCase(rng, buf, c);
        break;
      case Op::kFullyConnected:
        ok = FullyConnectedCase(rng, buf, c);
        break;
      case Op::kPointwise:
        ok = PointwiseCase(rng, buf, c);
        break;
      case Op::kAdd:  // kernels_test.cc enumerates ADD inputs exhaustively instead
        return;
    }
  }
  c->input = buf.input;
  c->filter = buf.filter;
  const int32_t channels = op == Op::kDepthwise ? c->filter_dims[3] : c->filter_dims[0];
  if (rng.Chance(80)) {
    for (int32_t i = 0; i < channels; ++i) buf.bias[i] = rng.Uniform(-20000, 20000);
    c->bias = buf.bias;
    // Biases near the int32 range: the pointwise kernel's general output stage (its doubled
    // one needs sums within +-2^30).
    if (op == Op::kPointwise && rng.Chance(10)) {
      const int32_t i = rng.Uniform(0, channels - 1);
      buf.bias[i] = rng.Chance(50) ? (1 << 30) - rng.Uniform(0, 3000000)
                                   : -(1 << 30) + rng.Uniform(0, 3000000);
    }
  } else {
    c->bias = nullptr;
  }
}

const char* OpName(Op op) {
  switch (op) {
    case Op::kConv:
      return "CONV_2D";
    case Op::kDepthwise:
      return "DEPTHWISE_CONV_2D";
    case Op::kFullyConnected:
      return "FULLY_CONNECTED";
    case Op::kPointwise:
      return "CONV_2D 1x1";
    case Op::kAdd:
      return "ADD";
  }
  return "?";
}

}  // namespace kernel_test
