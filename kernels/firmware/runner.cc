// Compiled twice (see BUILD): with KERNEL_TEST_PATH=dsp against //kernels:forward, and with
// KERNEL_TEST_PATH=ref plus the reference-twin defines against //kernels:forward_reference_twin,
// where every `tflm_train` below reads `tflm_train_ref`.
#include "kernels/firmware/runner.h"

#include "kernels/add.h"
#include "kernels/conv_window.h"
#include "kernels/conv.h"
#include "kernels/depthwise_conv.h"
#include "kernels/fully_connected.h"
#include "kernels/kernel_path.h"
#include "targets/board/board.h"
#if TFLM_TRAIN_KERNELS_DSP
#include "kernels/add_dsp.h"
#endif

#ifndef KERNEL_TEST_PATH
#error "KERNEL_TEST_PATH must be dsp or ref"
#endif

namespace kernel_test {
namespace KERNEL_TEST_PATH {
namespace {

namespace tt = ::tflm_train;

int32_t g_multiplier[kMaxChannels];
int32_t g_shift[kMaxChannels];
// A split filter (OpCase::filter_head_rows): the rows (depthwise: channels) below it live in
// g_head, the rest in g_base, whose own head part is overwritten so that reading it would show.
constexpr int32_t kMaxFilterBytes = 8192;
int8_t g_head[kMaxFilterBytes];
int8_t g_base[kMaxFilterBytes];
// The conv kernels' scratch, as the runtime's arena region would hold it.
alignas(8) int8_t g_conv_scratch[tt::kConvInt8RowsMaxBufferSize];
alignas(8) int8_t g_depthwise_scratch[tt::kDepthwiseConvInt8MaxBufferSize];

tt::Dims ToDims(const int32_t* d) { return tt::Dims{d[0], d[1], d[2], d[3]}; }

bool RunConv(const OpCase& c, int32_t repeats, int8_t* output, int32_t capacity,
             int32_t* output_size, uint64_t* eval_ticks) {
  const tt::Dims in = ToDims(c.input_dims), f = ToDims(c.filter_dims);
  if (f.n > kMaxChannels) return false;
  tt::ConvParams p;
  int32_t oh = 0, ow = 0;
  if (!tt::ConvPrepare(c.input_scale, c.input_zero_point, c.filter_scales, c.num_filter_scales,
                       c.output_scale, c.output_zero_point, in, f,
                       tt::Tile{c.stride_h, c.stride_w}, tt::Tile{c.dilation_h, c.dilation_w},
                       static_cast<tt::Padding>(c.padding),
                       static_cast<tt::FusedActivation>(c.activation), &p, g_multiplier,
                       g_shift, &oh, &ow)) {
    return false;
  }
  const tt::Dims out{in.n, oh, ow, f.n};
  *output_size = tt::FlatSize(out);
  if (*output_size > capacity || *output_size <= 0) return false;
  const int32_t row_size = f.h * f.w * f.c;
  tt::FilterRows rows{c.filter, c.filter, 0, row_size};
  if (c.filter_head_rows > 0) {
    const int32_t head_bytes = c.filter_head_rows * row_size, bytes = f.n * row_size;
    if (bytes > kMaxFilterBytes || c.filter_head_rows > f.n) return false;
    for (int32_t i = 0; i < bytes; ++i) {
      g_head[i] = i < head_bytes ? c.filter[i] : 0;
      g_base[i] = i < head_bytes ? static_cast<int8_t>(~c.filter[i]) : c.filter[i];
    }
    rows = tt::FilterRows{g_base, g_head, c.filter_head_rows, row_size};
  }
  const uint64_t t0 = board_ticks();
  for (int32_t r = 0; r < repeats; ++r) {
    tt::ConvInt8Rows(p, tt::PerChannelQuant{g_multiplier, g_shift}, in, c.input, f, rows, c.bias,
                     out, output, g_conv_scratch);
  }
  if (eval_ticks != nullptr) *eval_ticks = board_ticks() - t0;
  return true;
}

bool RunDepthwise(const OpCase& c, int32_t repeats, int8_t* output, int32_t capacity,
                  int32_t* output_size, uint64_t* eval_ticks) {
  const tt::Dims in = ToDims(c.input_dims), f = ToDims(c.filter_dims);
  if (f.c > kMaxChannels) return false;
  tt::DepthwiseParams p;
  int32_t oh = 0, ow = 0;
  if (!tt::DepthwiseConvPrepare(
          c.input_scale, c.input_zero_point, c.filter_scales, c.num_filter_scales,
          c.output_scale, c.output_zero_point, in, f, c.depth_multiplier,
          tt::Tile{c.stride_h, c.stride_w}, tt::Tile{c.dilation_h, c.dilation_w},
          static_cast<tt::Padding>(c.padding), static_cast<tt::FusedActivation>(c.activation),
          &p, g_multiplier, g_shift, &oh, &ow)) {
    return false;
  }
  const tt::Dims out{in.n, oh, ow, f.c};
  *output_size = tt::FlatSize(out);
  if (*output_size > capacity || *output_size <= 0) return false;
  tt::DepthwiseFilter filter = tt::WholeDepthwiseFilter(c.filter, f.c);
  const int32_t head = c.filter_head_rows;
  if (head > 0) {
    const int32_t taps = f.h * f.w;
    if (taps * f.c > kMaxFilterBytes || head > f.c) return false;
    for (int32_t t = 0; t < taps; ++t) {
      for (int32_t k = 0; k < f.c; ++k) {
        const int8_t w = c.filter[t * f.c + k];
        if (k < head) g_head[t * head + k] = w;
        g_base[t * f.c + k] = k < head ? static_cast<int8_t>(~w) : w;
      }
    }
    filter = tt::DepthwiseFilter{g_base, f.c, g_head, head, head};
  }
  const uint64_t t0 = board_ticks();
  for (int32_t r = 0; r < repeats; ++r) {
    tt::DepthwiseConvInt8(p, tt::PerChannelQuant{g_multiplier, g_shift}, in, c.input, f, filter,
                          c.bias, out, output, g_depthwise_scratch);
  }
  if (eval_ticks != nullptr) *eval_ticks = board_ticks() - t0;
  return true;
}

bool RunFullyConnected(const OpCase& c, int32_t repeats, int8_t* output, int32_t capacity,
                       int32_t* output_size, uint64_t* eval_ticks) {
  const int32_t batches = c.input_dims[0], depth = c.input_dims[3];
  const int32_t units = c.filter_dims[0];
  if (units > kMaxChannels || c.filter_dims[3] != depth) return false;
  tt::FullyConnectedParams p;
  if (!tt::FullyConnectedPrepare(c.input_scale, c.input_zero_point, c.filter_scales,
                                 c.num_filter_scales, c.filter_zero_point, c.output_scale,
                                 c.output_zero_point, units,
                                 static_cast<tt::FusedActivation>(c.activation), &p,
                                 g_multiplier, g_shift)) {
    return false;
  }
  *output_size = batches * units;
  if (*output_size > capacity || *output_size <= 0) return false;
  const uint64_t t0 = board_ticks();
  for (int32_t r = 0; r < repeats; ++r) {
    if (c.num_filter_scales == 1) {
      tt::FullyConnectedInt8(p, tt::QuantMultiplier{g_multiplier[0], g_shift[0]}, batches,
                             depth, units, c.input, c.filter, c.bias, output);
    } else {
      tt::FullyConnectedPerChannelInt8(p, tt::PerChannelQuant{g_multiplier, g_shift}, batches,
                                       depth, units, c.input, c.filter, c.bias, output);
    }
  }
  if (eval_ticks != nullptr) *eval_ticks = board_ticks() - t0;
  return true;
}

bool RunAdd(const OpCase& c, int32_t repeats, int8_t* output, int32_t capacity,
            int32_t* output_size, uint64_t* eval_ticks) {
  tt::AddParams p;
  if (!tt::AddPrepare(c.input_scale, c.input_zero_point, c.input2_scale, c.input2_zero_point,
                      c.output_scale, c.output_zero_point,
                      static_cast<tt::FusedActivation>(c.activation), &p)) {
    return false;
  }
  *output_size = tt::FlatSize(ToDims(c.input_dims));
  if (*output_size > capacity || *output_size <= 0) return false;
  const uint64_t t0 = board_ticks();
  for (int32_t r = 0; r < repeats; ++r) {
    tt::AddInt8(p, *output_size, c.input, c.input2, output);
  }
  if (eval_ticks != nullptr) *eval_ticks = board_ticks() - t0;
  return true;
}

}  // namespace

bool AddTakesDspKernel(const OpCase& c) {
#if TFLM_TRAIN_KERNELS_DSP
  tt::AddParams p;
  int8_t scratch[4];
  return tt::AddPrepare(c.input_scale, c.input_zero_point, c.input2_scale, c.input2_zero_point,
                        c.output_scale, c.output_zero_point,
                        static_cast<tt::FusedActivation>(c.activation), &p) &&
         tt::AddInt8Dsp(p, 4, c.input, c.input2, scratch) == 4;
#else
  (void)c;
  return false;
#endif
}

bool AddDoubledSums(const OpCase& c, int32_t* sums2) {
  tt::AddParams p;
  if (!tt::AddPrepare(c.input_scale, c.input_zero_point, c.input2_scale, c.input2_zero_point,
                      c.output_scale, c.output_zero_point,
                      static_cast<tt::FusedActivation>(c.activation), &p)) {
    return false;
  }
  const int32_t n = tt::FlatSize(ToDims(c.input_dims));
#if TFLM_TRAIN_KERNELS_DSP
  return tt::AddDspDoubledSums(p, n, c.input, c.input2, sums2);
#else
  // TFLM's reference ADD up to the output rescaling.
  for (int32_t i = 0; i < n; ++i) {
    const int32_t r1 = tt::MultiplyByQuantizedMultiplier(
        tt::ShiftLeftWrap(c.input[i] + p.input1_offset, p.left_shift), p.input1.multiplier,
        p.input1.shift);
    const int32_t r2 = tt::MultiplyByQuantizedMultiplier(
        tt::ShiftLeftWrap(c.input2[i] + p.input2_offset, p.left_shift), p.input2.multiplier,
        p.input2.shift);
    sums2[i] = 2 * (r1 + r2);
  }
  return true;
#endif
}

const char* KernelPathName() { return tt::kKernelPathName; }

int8_t Requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t output_offset,
                  int32_t act_min, int32_t act_max) {
  return tt::RequantizeToInt8(acc, multiplier, shift, output_offset,
                              tt::ActivationRange{act_min, act_max});
}

int32_t RequantizeInt32(int32_t acc, int32_t multiplier, int32_t shift) {
#if TFLM_TRAIN_KERNELS_DSP
  return tt::MultiplyByQuantizedMultiplierSmull(acc, multiplier, shift);
#else
  return tt::MultiplyByQuantizedMultiplier(acc, multiplier, shift);
#endif
}

bool RequantizeDoubledForm(int32_t acc, int32_t multiplier, int32_t shift,
                           int32_t output_offset, int32_t* value, int8_t* saturated) {
  tt::DoubledRequant q;
  if (!tt::PrepareDoubledRequant(multiplier, shift, output_offset, &q)) return false;
  const int32_t acc2 = static_cast<int32_t>(static_cast<uint32_t>(acc) << 1);
  *value = tt::RequantizeDoubledInt32(acc2, q);
  *saturated = static_cast<int8_t>(tt::RequantizeDoubled(acc2, q));
  return true;
}

bool Run(const OpCase& c, int32_t repeats, int8_t* output, int32_t capacity,
         int32_t* output_size, uint64_t* eval_ticks) {
  switch (c.op) {
    case Op::kConv:
    case Op::kPointwise:
      return RunConv(c, repeats, output, capacity, output_size, eval_ticks);
    case Op::kDepthwise:
      return RunDepthwise(c, repeats, output, capacity, output_size, eval_ticks);
    case Op::kFullyConnected:
      return RunFullyConnected(c, repeats, output, capacity, output_size, eval_ticks);
    case Op::kAdd:
      return RunAdd(c, repeats, output, capacity, output_size, eval_ticks);
  }
  return false;
}

}  // namespace KERNEL_TEST_PATH
}  // namespace kernel_test
