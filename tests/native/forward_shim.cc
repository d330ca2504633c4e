// C entry points over the forward kernels for the Python bit-exactness tests (ctypes). Each entry
// takes the raw float scales / zero points / options exactly as stored in the .tflite and runs the
// op's prepare + eval, so the tests cover both. Returns 0 on success.
#include <cstdint>

#include "kernels/add.h"
#include "kernels/average_pool.h"
#include "kernels/concatenation.h"
#include "kernels/conv_window.h"
#include "kernels/conv.h"
#include "kernels/depthwise_conv.h"
#include "kernels/dequantize.h"
#include "kernels/fully_connected.h"
#include "kernels/max_pool.h"
#include "kernels/mean.h"
#include "kernels/pad.h"
#include "kernels/quant_math.h"
#include "kernels/quantize.h"
#include "kernels/softmax.h"

using namespace tflm_train;

namespace {
constexpr int32_t kMaxChannels = 4096;
constexpr int32_t kMaxInputs = 16;
Dims ToDims(const int32_t* d) { return Dims{d[0], d[1], d[2], d[3]}; }
}  // namespace

extern "C" {

void fs_quantize_multiplier(double real, int32_t* multiplier, int32_t* shift) {
  const QuantMultiplier q = QuantizeMultiplier(real);
  *multiplier = q.multiplier;
  *shift = q.shift;
}

int32_t fs_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
  return MultiplyByQuantizedMultiplier(x, multiplier, shift);
}

// The output stage in both formulations over arrays (kernels/conv_window.h): the reference
// and the SMULL one the DSP path uses, the latter with its portable helpers (the host has no DSP
// instructions; the firmware test covers the Arm ones).
void fs_requantize_both(const int32_t* acc, const int32_t* multiplier, const int32_t* shift,
                        const int32_t* output_offset, const int32_t* act_min,
                        const int32_t* act_max, int32_t n, int32_t* mbqm_ref,
                        int32_t* mbqm_smull, int8_t* out_ref, int8_t* out_smull) {
  for (int32_t i = 0; i < n; ++i) {
    const ActivationRange act{act_min[i], act_max[i]};
    mbqm_ref[i] = MultiplyByQuantizedMultiplier(acc[i], multiplier[i], shift[i]);
    mbqm_smull[i] = MultiplyByQuantizedMultiplierSmull(acc[i], multiplier[i], shift[i]);
    out_ref[i] = RequantizeToInt8Reference(acc[i], multiplier[i], shift[i], output_offset[i], act);
    out_smull[i] = RequantizeToInt8Smull(acc[i], multiplier[i], shift[i], output_offset[i], act);
  }
}

// The DSP kernels' fast output stage (RequantizeDoubledInt32 / RequantizeDoubled, quant_math.h,
// with its portable helper) over arrays, for inputs in its domain (the caller checks): the
// value before the int8 saturation, to compare with the reference's requantised value plus
// output_offset, and the saturated one.
void fs_requantize_doubled(const int32_t* acc, const int32_t* multiplier, const int32_t* shift,
                           const int32_t* output_offset, int32_t n, int32_t* eligible,
                           int32_t* out, int32_t* out8) {
  for (int32_t i = 0; i < n; ++i) {
    eligible[i] = DoubledRequantEligible(multiplier[i], shift[i], output_offset[i]) ? 1 : 0;
    out[i] = 0;
    out8[i] = 0;
    DoubledRequant q;
    if (!PrepareDoubledRequant(multiplier[i], shift[i], output_offset[i], &q)) continue;
    const int32_t acc2 = static_cast<int32_t>(static_cast<uint32_t>(acc[i]) << 1);
    out[i] = RequantizeDoubledInt32(acc2, q);
    out8[i] = RequantizeDoubled(acc2, q);
  }
}

void fs_activation_range(int32_t act, float scale, int32_t zero_point, int32_t* lo, int32_t* hi) {
  const ActivationRange r = ActivationRangeInt8(static_cast<FusedActivation>(act), scale,
                                                zero_point);
  *lo = r.min;
  *hi = r.max;
}

int fs_conv(const int8_t* input, const int32_t* in_dims, float in_scale, int32_t in_zp,
            const int8_t* filter, const int32_t* f_dims, const float* f_scales, int32_t n_scales,
            const int32_t* bias, float out_scale, int32_t out_zp, int32_t stride_h,
            int32_t stride_w, int32_t dil_h, int32_t dil_w, int32_t padding, int32_t act,
            int8_t* output, int32_t* out_dims) {
  const Dims id = ToDims(in_dims), fd = ToDims(f_dims);
  if (fd.n > kMaxChannels) return 1;
  static int32_t mult[kMaxChannels], shift[kMaxChannels];
  ConvParams p;
  int32_t oh = 0, ow = 0;
  if (!ConvPrepare(in_scale, in_zp, f_scales, n_scales, out_scale, out_zp, id, fd,
                   Tile{stride_h, stride_w}, Tile{dil_h, dil_w}, static_cast<Padding>(padding),
                   static_cast<FusedActivation>(act), &p, mult, shift, &oh, &ow)) {
    return 2;
  }
  const Dims od{id.n, oh, ow, fd.n};
  out_dims[0] = od.n; out_dims[1] = od.h; out_dims[2] = od.w; out_dims[3] = od.c;
  ConvInt8(p, PerChannelQuant{mult, shift}, id, input, fd, filter, bias, od, output);
  return 0;
}

int fs_depthwise_conv(const int8_t* input, const int32_t* in_dims, float in_scale, int32_t in_zp,
                      const int8_t* filter, const int32_t* f_dims, const float* f_scales,
                      int32_t n_scales, const int32_t* bias, float out_scale, int32_t out_zp,
                      int32_t depth_multiplier, int32_t stride_h, int32_t stride_w, int32_t dil_h,
                      int32_t dil_w, int32_t padding, int32_t act, int8_t* output,
                      int32_t* out_dims) {
  const Dims id = ToDims(in_dims), fd = ToDims(f_dims);
  if (fd.c > kMaxChannels) return 1;
  static int32_t mult[kMaxChannels], shift[kMaxChannels];
  DepthwiseParams p;
  int32_t oh = 0, ow = 0;
  if (!DepthwiseConvPrepare(in_scale, in_zp, f_scales, n_scales, out_scale, out_zp, id, fd,
                            depth_multiplier, Tile{stride_h, stride_w}, Tile{dil_h, dil_w},
                            static_cast<Padding>(padding), static_cast<FusedActivation>(act), &p,
                            mult, shift, &oh, &ow)) {
    return 2;
  }
  const Dims od{id.n, oh, ow, fd.c};
  out_dims[0] = od.n; out_dims[1] = od.h; out_dims[2] = od.w; out_dims[3] = od.c;
  DepthwiseConvInt8(p, PerChannelQuant{mult, shift}, id, input, fd, filter, bias, od, output);
  return 0;
}

int fs_fully_connected(const int8_t* input, int32_t batches, int32_t depth, float in_scale,
                       int32_t in_zp, const int8_t* filter, int32_t units, const float* f_scales,
                       int32_t n_scales, int32_t f_zp, const int32_t* bias, float out_scale,
                       int32_t out_zp, int32_t act, int8_t* output) {
  if (units > kMaxChannels) return 1;
  static int32_t mult[kMaxChannels], shift[kMaxChannels];
  FullyConnectedParams p;
  if (!FullyConnectedPrepare(in_scale, in_zp, f_scales, n_scales, f_zp, out_scale, out_zp, units,
                             static_cast<FusedActivation>(act), &p, mult, shift)) {
    return 2;
  }
  if (n_scales == 1) {
    FullyConnectedInt8(p, QuantMultiplier{mult[0], shift[0]}, batches, depth, units, input,
                       filter, bias, output);
  } else {
    FullyConnectedPerChannelInt8(p, PerChannelQuant{mult, shift}, batches, depth, units, input,
                                 filter, bias, output);
  }
  return 0;
}

int fs_pool(int32_t is_max, const int8_t* input, const int32_t* in_dims, float out_scale,
            int32_t out_zp, int32_t filter_h, int32_t filter_w, int32_t stride_h,
            int32_t stride_w, int32_t padding, int32_t act, int8_t* output, int32_t* out_dims) {
  const Dims id = ToDims(in_dims);
  PoolParams p;
  int32_t oh = 0, ow = 0;
  PoolPrepare(out_scale, out_zp, id.h, id.w, Tile{filter_h, filter_w}, Tile{stride_h, stride_w},
              static_cast<Padding>(padding), static_cast<FusedActivation>(act), &p, &oh, &ow);
  const Dims od{id.n, oh, ow, id.c};
  out_dims[0] = od.n; out_dims[1] = od.h; out_dims[2] = od.w; out_dims[3] = od.c;
  if (is_max) {
    MaxPoolInt8(p, id, input, od, output);
    return 0;
  }
  return AveragePoolInt8(p, id, input, od, output) ? 0 : 3;
}

int fs_mean(const int8_t* input, const int32_t* in_dims, float in_scale, int32_t in_zp,
            float out_scale, int32_t out_zp, int8_t* output) {
  const Dims d = ToDims(in_dims);
  const MeanQuant q = MeanPrepare(in_scale, in_zp, out_scale, out_zp, d.h * d.w);
  MeanSpatialInt8(q, d, input, output);
  return 0;
}

int fs_softmax(const int8_t* input, int32_t outer, int32_t depth, float beta, float in_scale,
               int8_t* output) {
  SoftmaxQuant q;
  if (!SoftmaxPrepare(beta, in_scale, &q)) return 2;
  SoftmaxInt8(q, outer, depth, input, output);
  return 0;
}

int fs_add(const int8_t* in1, const int32_t* dims1, float s1, int32_t z1, const int8_t* in2,
           const int32_t* dims2, float s2, int32_t z2, float out_scale, int32_t out_zp,
           int32_t act, const int32_t* out_dims, int8_t* output) {
  AddParams p;
  if (!AddPrepare(s1, z1, s2, z2, out_scale, out_zp, static_cast<FusedActivation>(act), &p)) {
    return 2;
  }
  const Dims d1 = ToDims(dims1), d2 = ToDims(dims2), od = ToDims(out_dims);
  const bool same = d1.n == d2.n && d1.h == d2.h && d1.w == d2.w && d1.c == d2.c;
  if (same) {
    AddInt8(p, FlatSize(od), in1, in2, output);
  } else {
    AddBroadcast4DInt8(p, d1, in1, d2, in2, od, output);
  }
  return 0;
}

int fs_pad(const int8_t* input, const int32_t* in_dims, const int32_t* before,
           const int32_t* after, int32_t has_constant, int32_t constant, int32_t out_zp,
           int8_t* output) {
  PadInt8(ToDims(in_dims), input, before, after,
          PadValue(has_constant != 0, static_cast<int8_t>(constant), out_zp), output);
  return 0;
}

int fs_concatenation(int32_t num_inputs, const int8_t* const* inputs, const int32_t* axis_sizes,
                     const float* scales, const int32_t* zps, float out_scale, int32_t out_zp,
                     int32_t requantize, int32_t outer, int32_t inner, int8_t* output) {
  if (num_inputs > kMaxInputs) return 1;
  ConcatInputQuant q[kMaxInputs];
  for (int32_t i = 0; i < num_inputs; ++i) {
    q[i] = ConcatenationPrepareInput(scales[i], zps[i], out_scale, out_zp);
  }
  ConcatenationInt8(num_inputs, inputs, axis_sizes, requantize ? q : nullptr, outer, inner,
                    output);
  return 0;
}

int fs_quantize(const float* input, int32_t size, float scale, int32_t zp, int8_t* output) {
  QuantizeFloatToInt8(size, input, scale, zp, output);
  return 0;
}

int fs_requantize(const int8_t* input, int32_t size, float in_scale, int32_t in_zp,
                  float out_scale, int32_t out_zp, int8_t* output) {
  const RequantizeParams p = RequantizePrepare(in_scale, in_zp, out_scale, out_zp);
  RequantizeInt8(p, size, input, output);
  return 0;
}

int fs_dequantize(const int8_t* input, int32_t size, float scale, int32_t zp, float* output) {
  DequantizeInt8(size, input, scale, zp, output);
  return 0;
}

}  // extern "C"
