// Parameter structs shared by the kernels. Kernels are pure functions in the CMSIS-NN style:
// every dimension and quantisation parameter is passed explicitly, nothing is allocated, and a
// kernel whose scratch grows with the layer has a sibling *GetBufferSize() function (the
// runtime plans that scratch in the arena; the converter asks the same function). Fixed-size
// tiles (the MVE kernels' per-chunk arrays, up to 256 B; grad_product's float tiles, 2.3 KB)
// stay in the kernel's frame, where the stack bound counts them: they are the same for every
// layer, and in the arena grad_product's would sit at the backward peak (NOTES, issue 18).
#ifndef TFLM_TRAIN_KERNELS_TYPES_H_
#define TFLM_TRAIN_KERNELS_TYPES_H_

#include <cstdint>

namespace tflm_train {

// NHWC shape. For filters: n = output channels, h/w = kernel size, c = input channels
// (depthwise filters are 1 x kh x kw x (in_channels * depth_multiplier), as in TFLite).
struct Dims {
  int32_t n;
  int32_t h;
  int32_t w;
  int32_t c;
};

inline int32_t FlatSize(const Dims& d) { return d.n * d.h * d.w * d.c; }

struct Tile {
  int32_t h;
  int32_t w;
};

// Quantised clamp bounds of a fused activation (NONE gives the full int8 range).
struct ActivationRange {
  int32_t min;
  int32_t max;
};

// Fixed-point requantisation multiplier: real = multiplier * 2^(shift - 31).
struct QuantMultiplier {
  int32_t multiplier;
  int32_t shift;
};

// The output-channel rows of a conv or fully-connected filter [Co, ...]. Rows below head_rows
// are read at `head` (the SRAM copy of the channels being trained), the others in the whole
// tensor at `base` (flash): a partial-channel update keeps only its own rows in SRAM.
struct FilterRows {
  const int8_t* base;
  const int8_t* head;
  int32_t head_rows;
  int32_t row_size;
  const int8_t* row(int32_t oc) const { return (oc < head_rows ? head : base) + oc * row_size; }
  // How many of rows [first, first + count) live at `head` (they come first).
  int32_t head_rows_in(int32_t first, int32_t count) const {
    const int32_t n = head_rows - first;
    return n < 0 ? 0 : n > count ? count : n;
  }
  // Rows first.. of the same filter, wherever each lives (a channel group's filter).
  FilterRows from(int32_t first) const {
    return FilterRows{base + first * row_size, head + first * row_size, head_rows - first,
                      row_size};
  }
};

inline FilterRows WholeFilter(const int8_t* filter, int32_t row_size) {
  return FilterRows{filter, filter, 0, row_size};
}

// A depthwise filter [1, kh, kw, C] (channels last): channel c of tap t is base[t * base_stride +
// c], but channels below head_channels are read at head[t * head_stride + c] (the SRAM copy of
// the channels a partial update trains, laid out [1, kh, kw, head_stride]; the frozen channels
// stay in the whole tensor at `base`, in flash). Kernels take the two as plain filters, per
// channel group: a forward filter's head_channels is a multiple of 4 or all of them, so four
// adjacent channels from a multiple of 4 always lie in one of the two.
struct DepthwiseFilter {
  const int8_t* base;
  int32_t base_stride;
  const int8_t* head;
  int32_t head_stride;
  int32_t head_channels;
  // The array channel c is read from (indexed by c) and the distance between its taps.
  const int8_t* taps_of(int32_t c) const { return c < head_channels ? head : base; }
  int32_t stride_of(int32_t c) const { return c < head_channels ? head_stride : base_stride; }
  int8_t at(int32_t tap, int32_t c) const { return taps_of(c)[tap * stride_of(c) + c]; }
  // Channels first.. of the same filter (a channel group's filter).
  DepthwiseFilter from(int32_t first) const {
    return DepthwiseFilter{base + first, base_stride, head + first, head_stride,
                           head_channels - first};
  }
};

// A filter read whole from one place, its channels `stride` apart.
inline DepthwiseFilter WholeDepthwiseFilter(const int8_t* filter, int32_t stride) {
  return DepthwiseFilter{filter, stride, filter, stride, 0};
}

// One multiplier per output channel (per-channel quantised weights).
struct PerChannelQuant {
  const int32_t* multiplier;
  const int32_t* shift;
};

struct ConvParams {
  int32_t input_offset;   // -input zero point
  int32_t output_offset;  // output zero point
  Tile stride;
  Tile padding;  // top/left padding, already resolved from SAME/VALID
  Tile dilation;
  ActivationRange activation;
};

struct DepthwiseParams {
  int32_t input_offset;
  int32_t output_offset;
  int32_t depth_multiplier;
  Tile stride;
  Tile padding;
  Tile dilation;
  ActivationRange activation;
};

struct FullyConnectedParams {
  int32_t input_offset;
  int32_t filter_offset;  // -filter zero point (0 for symmetric weights)
  int32_t output_offset;
  ActivationRange activation;
};

struct PoolParams {
  Tile stride;
  Tile padding;
  Tile filter;
  ActivationRange activation;
};

// In-bounds input rows (or columns) [begin, end) covered by the pooling window of output
// position `out`; padding positions are excluded (they are not counted by TFLM or TF).
struct Span {
  int32_t begin;
  int32_t end;
};

inline Span PoolWindow(int32_t out, int32_t stride, int32_t padding, int32_t filter,
                       int32_t in_size) {
  const int32_t start = out * stride - padding;
  return Span{start < 0 ? 0 : start, start + filter < in_size ? start + filter : in_size};
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TYPES_H_
