#include "kernels/row_stream.h"

#include <cstring>

#include "kernels/average_pool.h"
#include "kernels/conv.h"
#include "kernels/depthwise_conv.h"
#include "kernels/depthwise_conv_dsp.h"
#include "kernels/max_pool.h"
#include "kernels/pad.h"

namespace tflm_train {
namespace {

int32_t RowBytes(const Dims& d) { return d.w * d.c; }

bool SameDims(const Dims& a, const Dims& b) {
  return a.n == b.n && a.h == b.h && a.w == b.w && a.c == b.c;
}

// Rows [first, first + count) of one intermediate tensor, stored from data on.
struct Window {
  int8_t* data;
  int32_t first;
  int32_t count;
};

struct Run {
  const StreamStage* stages;
  const int8_t* input;
  const RowSource* source;  // null: the input is whole
  void* kernel_scratch;     // the conv / depthwise kernels' (RowStreamKernelBufferSize)
  Window windows[kMaxStreamStages];
  bool ok;
};

void ProduceRow(Run& run, int32_t k, int32_t r, int8_t* dest);

// Makes rows [lo, hi) of stage k's input available contiguously and returns row lo. Calls come
// with non-decreasing lo and hi (output rows are produced in order), so rows below lo are never
// needed again and are dropped.
const int8_t* InputRows(Run& run, int32_t k, int32_t lo, int32_t hi) {
  const int32_t row_bytes = RowBytes(run.stages[k].input_dims);
  if (k == 0 && run.source == nullptr) return run.input + lo * row_bytes;
  Window& w = run.windows[k];
  if (lo > w.first) {
    const int32_t held_end = w.first + w.count;
    if (held_end > lo) {
      memmove(w.data, w.data + (lo - w.first) * row_bytes,
              static_cast<size_t>((held_end - lo) * row_bytes));
      w.count = held_end - lo;
    } else {
      w.count = 0;  // rows in between are read by no output row: never computed
    }
    w.first = lo;
  }
  if (k == 0) {
    const int32_t from = w.first + w.count;
    if (hi > from) {
      int8_t* dest = w.data + (from - w.first) * row_bytes;
      if (!run.source->read(run.source->user, from, hi - from, dest)) run.ok = false;
      w.count = hi - w.first;
    }
    return w.data + (lo - w.first) * row_bytes;
  }
  for (int32_t q = w.first + w.count; q < hi; ++q) {
    ProduceRow(run, k - 1, q, w.data + (q - w.first) * row_bytes);
    ++w.count;
  }
  return w.data + (lo - w.first) * row_bytes;
}

// Stage s's kernel on one output row: `in` holds the input rows of in_view (top_pad rows of
// padding above them). Returns false where the whole kernel fails. Not inlined: the kernels'
// parameter copies then sit in this one frame at the top of the recursion instead of in every
// ProduceRow frame of it (one per stage below the running one).
__attribute__((noinline)) bool RunStage(const StreamStage& s, int32_t r, const int8_t* in,
                                        const Dims& in_view, int32_t top_pad,
                                        void* kernel_scratch, int8_t* dest) {
  const Dims out_view{1, 1, s.output_dims.w, s.output_dims.c};
  switch (s.op) {
    case StreamOp::kConv: {
      ConvParams p = *s.conv;
      p.padding.h = top_pad;
      const StreamWeights& w = s.weights;
      ConvInt8Rows(p, w.quant, in_view, in, w.filter_dims,
                   WholeFilter(w.filter, w.filter_dims.h * w.filter_dims.w * w.filter_dims.c),
                   w.bias, out_view, dest, kernel_scratch);
      return true;
    }
    case StreamOp::kDepthwise: {
      DepthwiseParams p = *s.depthwise;
      p.padding.h = top_pad;
      const StreamWeights& w = s.weights;
      DepthwiseConvInt8(p, w.quant, in_view, in, w.filter_dims, w.filter, w.bias, out_view, dest,
                        kernel_scratch);
      return true;
    }
    case StreamOp::kAveragePool: {
      PoolParams p = *s.pool;
      p.padding.h = top_pad;
      return AveragePoolInt8(p, in_view, in, out_view, dest);
    }
    case StreamOp::kMaxPool: {
      PoolParams p = *s.pool;
      p.padding.h = top_pad;
      MaxPoolInt8(p, in_view, in, out_view, dest);
      return true;
    }
    case StreamOp::kPad: {
      // A row inside the input is padded left/right/channels; a row in the top/bottom padding
      // is PAD of a zero-height input with one row of top padding (all fill values).
      const bool inside = in_view.h > 0;
      const int32_t before[4] = {0, inside ? 0 : 1, s.pad.before[2], s.pad.before[3]};
      const int32_t after[4] = {0, 0, s.pad.after[2], s.pad.after[3]};
      PadInt8(inside ? in_view : Dims{1, 0, s.input_dims.w, s.input_dims.c}, in, before, after,
              s.pad.value, dest);
      return true;
    }
    case StreamOp::kAdd: {
      const int8_t* other = s.operand.other + r * RowBytes(s.output_dims);
      AddInt8(*s.add, RowBytes(s.output_dims), s.operand.stream_is_input1 ? in : other,
              s.operand.stream_is_input1 ? other : in, dest);
      return true;
    }
  }
  return true;
}

// Output row r of stage k into dest: the stage's own kernel on a view of the input rows the row
// reads, with the top padding moved so that the kernel skips exactly the rows outside the
// tensor, as it does on the whole tensor.
void ProduceRow(Run& run, int32_t k, int32_t r, int8_t* dest) {
  const StreamStage& s = run.stages[k];
  const RowReach reach = StreamStageReach(s);
  const int32_t start = r * reach.stride - reach.offset;
  const int32_t lo = start < 0 ? 0 : (start < s.input_dims.h ? start : s.input_dims.h);
  int32_t hi = start + reach.span < s.input_dims.h ? start + reach.span : s.input_dims.h;
  if (hi < lo) hi = lo;
  const int8_t* in = hi > lo ? InputRows(run, k, lo, hi) : run.input;  // not read when empty
  const Dims in_view{1, hi - lo, s.input_dims.w, s.input_dims.c};
  if (!RunStage(s, r, in, in_view, lo - start, run.kernel_scratch, dest)) run.ok = false;
}

bool StageCheck(const StreamStage& s) {
  const Dims& i = s.input_dims;
  const Dims& o = s.output_dims;
  const StreamWeights& w = s.weights;  // read for kConv / kDepthwise only
  if (i.n != 1 || o.n != 1 || i.h <= 0 || i.w <= 0 || i.c <= 0 || o.h <= 0 || o.w <= 0 ||
      o.c <= 0) {
    return false;
  }
  switch (s.op) {
    case StreamOp::kConv:
      return s.conv != nullptr && w.filter != nullptr && w.quant.multiplier != nullptr &&
             w.quant.shift != nullptr && w.filter_dims.c > 0 && i.c % w.filter_dims.c == 0 &&
             w.filter_dims.n == o.c && s.conv->stride.h > 0 && s.conv->dilation.h > 0 &&
             w.filter_dims.h > 0;
    case StreamOp::kDepthwise:
      return s.depthwise != nullptr && w.filter != nullptr && w.quant.multiplier != nullptr &&
             w.quant.shift != nullptr && s.depthwise->depth_multiplier > 0 &&
             i.c * s.depthwise->depth_multiplier == o.c && w.filter_dims.c == o.c &&
             s.depthwise->stride.h > 0 && s.depthwise->dilation.h > 0 && w.filter_dims.h > 0;
    case StreamOp::kAveragePool:
    case StreamOp::kMaxPool:
      return s.pool != nullptr && i.c == o.c && s.pool->stride.h > 0 && s.pool->filter.h > 0;
    case StreamOp::kPad: {
      if (s.pad.before[0] != 0 || s.pad.after[0] != 0) return false;
      for (int32_t d = 1; d < 4; ++d) {
        if (s.pad.before[d] < 0 || s.pad.after[d] < 0) return false;
      }
      return o.h == i.h + s.pad.before[1] + s.pad.after[1] &&
             o.w == i.w + s.pad.before[2] + s.pad.after[2] &&
             o.c == i.c + s.pad.before[3] + s.pad.after[3];
    }
    case StreamOp::kAdd:
      return s.add != nullptr && s.operand.other != nullptr && SameDims(i, o);
  }
  return false;
}

int64_t WindowBytes(const StreamStage& s) {
  const RowReach reach = StreamStageReach(s);
  const int64_t rows = reach.span < s.input_dims.h ? reach.span : s.input_dims.h;
  return (rows * RowBytes(s.input_dims) + 3) / 4 * 4;
}

}  // namespace

RowReach StreamStageReach(const StreamStage& s) {
  switch (s.op) {
    case StreamOp::kConv:
      return RowReach{s.conv->stride.h, s.conv->padding.h,
                      (s.weights.filter_dims.h - 1) * s.conv->dilation.h + 1};
    case StreamOp::kDepthwise:
      return RowReach{s.depthwise->stride.h, s.depthwise->padding.h,
                      (s.weights.filter_dims.h - 1) * s.depthwise->dilation.h + 1};
    case StreamOp::kAveragePool:
    case StreamOp::kMaxPool:
      return RowReach{s.pool->stride.h, s.pool->padding.h, s.pool->filter.h};
    case StreamOp::kPad:
      return RowReach{1, s.pad.before[1], 1};
    case StreamOp::kAdd:
      return RowReach{1, 0, 1};
  }
  return RowReach{1, 0, 1};
}

bool RowStreamCheck(const StreamStage* stages, int32_t num_stages) {
  if (stages == nullptr || num_stages < 1 || num_stages > kMaxStreamStages) return false;
  int64_t total = 0;
  for (int32_t k = 0; k < num_stages; ++k) {
    if (!StageCheck(stages[k])) return false;
    if (k > 0) {
      if (!SameDims(stages[k].input_dims, stages[k - 1].output_dims)) return false;
      total += WindowBytes(stages[k]);
    }
  }
  return total < (int64_t{1} << 30);
}

int32_t RowStreamBufferSize(const StreamStage* stages, int32_t num_stages) {
  int64_t total = 0;
  for (int32_t k = 1; k < num_stages; ++k) total += WindowBytes(stages[k]);
  return static_cast<int32_t>(total);
}

int32_t RowStreamSourceWindowBytes(const StreamStage& first_stage) {
  return static_cast<int32_t>(WindowBytes(first_stage));
}

int32_t RowStreamKernelBufferSize(const StreamStage* stages, int32_t num_stages) {
  int32_t most = 0;
  for (int32_t k = 0; k < num_stages; ++k) {
    const StreamStage& s = stages[k];
    int32_t need = 0;
    if (s.op == StreamOp::kConv) {
      need = ConvInt8RowsGetBufferSize(s.input_dims, s.weights.filter_dims, s.output_dims);
    } else if (s.op == StreamOp::kDepthwise) {
      need = DepthwiseDm1DspGetBufferSize(s.input_dims, s.weights.filter_dims, s.output_dims);
    }
    if (need > most) most = need;
  }
  return most;
}

int32_t RowStreamScratchBytes(const StreamStage* stages, int32_t num_stages, bool source,
                              int32_t* kernel_offset) {
  const int32_t windows = RowStreamBufferSize(stages, num_stages) +
                          (source ? RowStreamSourceWindowBytes(stages[0]) : 0);
  const int32_t kernel = RowStreamKernelBufferSize(stages, num_stages);
  const int32_t offset = kernel > 0 ? (windows + 7) / 8 * 8 : windows;
  if (kernel_offset != nullptr) *kernel_offset = offset;
  return offset + kernel;
}

bool RowStreamInt8(const StreamStage* stages, int32_t num_stages, const int8_t* input,
                   int8_t* output, int8_t* scratch, const RowSource* source,
                   void* kernel_scratch) {
  Run run;
  run.stages = stages;
  run.input = input;
  run.source = source;
  run.kernel_scratch = kernel_scratch;
  run.ok = true;
  int8_t* next = scratch;
  for (int32_t k = 1; k < num_stages; ++k) {
    run.windows[k] = Window{next, 0, 0};
    next += WindowBytes(stages[k]);
  }
  run.windows[0] = Window{next, 0, 0};  // used with a source only
  if (source != nullptr) run.input = next;  // never null: an empty row view points here
  const StreamStage& last = stages[num_stages - 1];
  const int32_t row_bytes = RowBytes(last.output_dims);
  // A failed source read leaves its rows unfilled: stop before the next output row.
  for (int32_t r = 0; r < last.output_dims.h && run.ok; ++r) {
    ProduceRow(run, num_stages - 1, r, output + r * row_bytes);
  }
  return run.ok;
}

}  // namespace tflm_train
