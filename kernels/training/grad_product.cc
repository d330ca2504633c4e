#include "kernels/training/grad_product.h"

#include "kernels/training/vfp_asm.h"

namespace tflm_train {
namespace {

// Register tile: 4 positions x 4 columns of accumulators, plus 4 + 4 operands, fits the 32
// single-precision registers without spills (checked in the Cortex-M4 assembly).
constexpr int32_t kTile = 4;
// Reduction-axis chunk and column chunk of the input gradient. The operands of one chunk are
// turned into floats once, on the stack: kDepthChunk x kColumnChunk converted weights and
// kDepthChunk x kTile scaled gradients of a position tile (4.6 KB; 16-deep chunks would halve it
// for ~0.2 more instructions per term); every tile then reads them with immediate offsets from
// two pointers, and a term is a multiply and an add.
constexpr int32_t kDepthChunk = 32;
constexpr int32_t kColumnChunk = 32;

// The PB x JB accumulators of a tile start from `from` (nullptr: 0.0f), add the terms
// gs[k * kTile + p] * wf[k * kColumnChunk + j] for k < depth, and go to `to`: stored as they are,
// or, with `add`, added to what `to` holds (to + sum, as GradAccumulate adds). Not inlined:
// inlined into the column loop, GCC keeps one strength-reduced pointer per accumulator and
// spills them.
template <int PB, int JB>
__attribute__((noinline)) void InputTile(int32_t depth, const float* gs, const float* wf,
                                         const float* from, int32_t from_stride, float* to,
                                         int32_t to_stride, bool add) {
  float acc[PB][JB];
  if (from != nullptr) {
#pragma GCC unroll 4
    for (int p = 0; p < PB; ++p) {
#pragma GCC unroll 4
      for (int j = 0; j < JB; ++j) acc[p][j] = from[p * from_stride + j];
    }
  } else {
#pragma GCC unroll 4
    for (int p = 0; p < PB; ++p) {
#pragma GCC unroll 4
      for (int j = 0; j < JB; ++j) acc[p][j] = 0.0f;
    }
  }
  const float* end = gs + depth * kTile;
  while (gs != end) {
    float g[PB], w[JB];
#if TFLM_TRAIN_VFP_ASM
    if constexpr (PB == 4) {  // VLDMs instead of VLDRs: the gradients advancing gs, 4 weights
      LoadS24x4Next(gs, g);
      if constexpr (JB == 4) {
        LoadS28x4(wf, w);
      } else {
#pragma GCC unroll 4
        for (int j = 0; j < JB; ++j) w[j] = wf[j];
      }
    } else  // NOLINT(readability/braces)
#endif
    {
#pragma GCC unroll 4
      for (int p = 0; p < PB; ++p) g[p] = gs[p];
#pragma GCC unroll 4
      for (int j = 0; j < JB; ++j) w[j] = wf[j];
      gs += kTile;
    }
    wf += kColumnChunk;
#pragma GCC unroll 4
    for (int p = 0; p < PB; ++p) {
#pragma GCC unroll 4
      for (int j = 0; j < JB; ++j) acc[p][j] = MulAdd(acc[p][j], g[p], w[j]);
    }
  }
  if (add) {
#if TFLM_TRAIN_VFP_ASM
    if constexpr (JB == 4) {  // a VLDM and a VSTM per row (the block backward's g_x shares)
#pragma GCC unroll 4
      for (int p = 0; p < PB; ++p) {
        AddToS24x4(to + p * to_stride, acc[p][0], acc[p][1], acc[p][2], acc[p][3]);
      }
      return;
    }
#endif
#pragma GCC unroll 4
    for (int p = 0; p < PB; ++p) {
#pragma GCC unroll 4
      for (int j = 0; j < JB; ++j) to[p * to_stride + j] = to[p * to_stride + j] + acc[p][j];
    }
  } else {
#pragma GCC unroll 4
    for (int p = 0; p < PB; ++p) {
#pragma GCC unroll 4
      for (int j = 0; j < JB; ++j) to[p * to_stride + j] = acc[p][j];
    }
  }
}

// All columns [0, columns) of PB positions.
template <int PB>
inline void InputTileRow(int32_t depth, const float* gs, const float* wf, int32_t columns,
                         const float* from, int32_t from_stride, float* to, int32_t to_stride,
                         bool add) {
  int32_t j = 0;
  for (; j + kTile <= columns; j += kTile) {
    InputTile<PB, kTile>(depth, gs, wf + j, from == nullptr ? nullptr : from + j, from_stride,
                         to + j, to_stride, add);
  }
  // The last 1 to 3 columns in one tile: a tile of 4 x 3 makes 12 terms per 7 loaded floats,
  // three of 4 x 1 make 12 per 15 and pay their loop and call three times (groups of 15
  // channels are common in the block backward).
  const int32_t rest = columns - j;
  if (PB == 4 && rest == 3) {
    InputTile<PB, 3>(depth, gs, wf + j, from == nullptr ? nullptr : from + j, from_stride,
                     to + j, to_stride, add);
  } else if (PB == 4 && rest == 2) {
    InputTile<PB, 2>(depth, gs, wf + j, from == nullptr ? nullptr : from + j, from_stride,
                     to + j, to_stride, add);
  } else {
    for (; j < columns; ++j) {
      InputTile<PB, 1>(depth, gs, wf + j, from == nullptr ? nullptr : from + j, from_stride,
                       to + j, to_stride, add);
    }
  }
}

// Columns of a chunk whose partial sums the adding form parks in the unused right half of the
// converted-weight rows (see InputColumns), and the positions that half holds.
constexpr int32_t kParkColumns = kColumnChunk / 2;
constexpr int32_t kParkPositions = kDepthChunk;

// Positions [p_begin, p_end) of columns [j0, j0 + jc) of the input gradient, over the whole
// reduction axis in chunks; with `add` the finished sums are added to what out holds. Partial
// sums between chunks are parked in out itself, or (`parked`: needed by `add` over several
// chunks) in columns [kParkColumns, kColumnChunk) of the converted-weight rows, which a chunk of
// jc <= kParkColumns columns leaves free: then p_end - p_begin <= kParkPositions. So the adding
// form needs no stack beyond the two operand buffers.
void InputColumns(int32_t p_begin, int32_t p_end, int32_t depth, const float* grad,
                  int32_t grad_stride, const float* scales, const FilterRows& rows, int32_t col,
                  int32_t j0, int32_t jc, float* out, int32_t out_stride, bool add,
                  bool parked) {
  float wf[kDepthChunk * kColumnChunk];
  float gs[kDepthChunk * kTile];
  float* park = parked ? wf + kParkColumns : nullptr;
  for (int32_t k0 = 0; k0 < depth; k0 += kDepthChunk) {
    const int32_t kc = depth - k0 < kDepthChunk ? depth - k0 : kDepthChunk;
    const bool first = k0 == 0, last = k0 + kc == depth;
    for (int32_t k = 0; k < kc; ++k) {
      const int8_t* w = rows.row(k0 + k) + col + j0;
      float* wk = wf + k * kColumnChunk;
      int32_t j = 0;
      for (; j + 4 <= jc; j += 4) {
        wk[j] = static_cast<float>(w[j]);
        wk[j + 1] = static_cast<float>(w[j + 1]);
        wk[j + 2] = static_cast<float>(w[j + 2]);
        wk[j + 3] = static_cast<float>(w[j + 3]);
      }
      for (; j < jc; ++j) wk[j] = static_cast<float>(w[j]);
    }
    // Where a tile of positions from p starts, continues and ends its sums.
    auto tile = [&](int32_t p, const float** from, int32_t* from_stride, float** to,
                    int32_t* to_stride) {
      float* o = out + p * out_stride + j0;
      float* k = park != nullptr ? park + (p - p_begin) * kColumnChunk : o;
      const int32_t k_stride = park != nullptr ? kColumnChunk : out_stride;
      *from = first ? nullptr : k;
      *from_stride = k_stride;
      *to = last ? o : k;
      *to_stride = last ? out_stride : k_stride;
    };
    const float* from;
    float* to;
    int32_t from_stride, to_stride;
    int32_t p0 = p_begin;
    for (; p0 + kTile <= p_end; p0 += kTile) {
      const float* g = grad + p0 * grad_stride + k0;
      for (int32_t k = 0; k < kc; ++k) {
        const float s = scales[k0 + k];
        gs[k * kTile + 0] = g[k] * s;
        gs[k * kTile + 1] = g[grad_stride + k] * s;
        gs[k * kTile + 2] = g[2 * grad_stride + k] * s;
        gs[k * kTile + 3] = g[3 * grad_stride + k] * s;
      }
      tile(p0, &from, &from_stride, &to, &to_stride);
      InputTileRow<kTile>(kc, gs, wf, jc, from, from_stride, to, to_stride, add && last);
    }
    for (; p0 < p_end; ++p0) {
      const float* g = grad + p0 * grad_stride + k0;
      for (int32_t k = 0; k < kc; ++k) gs[k * kTile] = g[k] * scales[k0 + k];
      tile(p0, &from, &from_stride, &to, &to_stride);
      InputTileRow<1>(kc, gs, wf, jc, from, from_stride, to, to_stride, add && last);
    }
  }
}

void Product(int32_t positions, int32_t depth, const float* grad, int32_t grad_stride,
             const float* scales, const FilterRows& rows, int32_t col, int32_t columns,
             float* out, int32_t out_stride, bool add) {
  if (depth <= 0) {  // empty sums: 0.0f (added, it still turns -0 into +0)
    for (int32_t p = 0; p < positions; ++p) {
      for (int32_t j = 0; j < columns; ++j) {
        float* o = out + p * out_stride + j;
        *o = add ? *o + 0.0f : 0.0f;
      }
    }
    return;
  }
  // One reduction chunk needs no parking: its sums go (or are added) to out directly.
  const bool parked = add && depth > kDepthChunk;
  const int32_t column_chunk = parked ? kParkColumns : kColumnChunk;
  const int32_t position_block = parked ? kParkPositions : positions;
  for (int32_t j0 = 0; j0 < columns; j0 += column_chunk) {
    const int32_t jc = columns - j0 < column_chunk ? columns - j0 : column_chunk;
    for (int32_t p0 = 0; p0 < positions; p0 += position_block) {
      const int32_t p1 = positions - p0 < position_block ? positions : p0 + position_block;
      InputColumns(p0, p1, depth, grad, grad_stride, scales, rows, col, j0, jc, out,
                   out_stride, add, parked);
    }
  }
}

}  // namespace

void GradTimesInt8Rows(int32_t positions, int32_t depth, const float* grad, int32_t grad_stride,
                       const float* scales, const FilterRows& rows, int32_t col,
                       int32_t columns, float* out, int32_t out_stride) {
  Product(positions, depth, grad, grad_stride, scales, rows, col, columns, out, out_stride,
          false);
}

void GradTimesInt8RowsAdd(int32_t positions, int32_t depth, const float* grad,
                          int32_t grad_stride, const float* scales, const FilterRows& rows,
                          int32_t col, int32_t columns, float* out, int32_t out_stride) {
  Product(positions, depth, grad, grad_stride, scales, rows, col, columns, out, out_stride,
          true);
}

namespace {

// out[c][j] (c < CB, j < JB) = (sum over p of g[p * g_stride + c] * float(x[p * x_stride + j] +
// offset)) * scale. One int8 -> float conversion per (p, j) serves CB channels: with one channel
// per call the conversion costs more than the multiply-add it feeds (about 7 instructions per
// term on the M4 against 3.6 for 4 channels), so callers should pass channel ranges.
template <int CB, int JB>
inline void FilterTile(int32_t positions, const float* g, int32_t g_stride, const int8_t* x,
                       int32_t x_stride, int32_t offset, float scale, float* out,
                       int32_t out_stride) {
  float acc[CB][JB];
#pragma GCC unroll 8
  for (int c = 0; c < CB; ++c) {
#pragma GCC unroll 8
    for (int j = 0; j < JB; ++j) acc[c][j] = 0.0f;
  }
  for (int32_t p = positions; p > 0; --p) {  // down: SUBS + BGT, no CMP
    float xf[JB];
#pragma GCC unroll 8
    for (int j = 0; j < JB; ++j) xf[j] = static_cast<float>(static_cast<int32_t>(x[j]) + offset);
    float gc[CB];
#if TFLM_TRAIN_VFP_ASM
    if constexpr (CB == 8) {  // one VLDM instead of CB VLDRs
      LoadS24x8(g, gc);
    } else if constexpr (CB == 4) {
      LoadS24x4(g, gc);
    } else  // NOLINT(readability/braces)
#endif
    {
#pragma GCC unroll 8
      for (int c = 0; c < CB; ++c) gc[c] = g[c];
    }
#pragma GCC unroll 8
    for (int c = 0; c < CB; ++c) {
#pragma GCC unroll 8
      for (int j = 0; j < JB; ++j) acc[c][j] = MulAdd(acc[c][j], gc[c], xf[j]);
    }
    g += g_stride;
    x += x_stride;
  }
#pragma GCC unroll 8
  for (int c = 0; c < CB; ++c) {
#pragma GCC unroll 8
    for (int j = 0; j < JB; ++j) out[c * out_stride + j] = acc[c][j] * scale;
  }
}

// CB channels, all columns.
template <int CB, int JB>
inline void FilterTileRow(int32_t positions, const float* g, int32_t g_stride, const int8_t* x,
                          int32_t x_stride, int32_t offset, int32_t columns, float scale,
                          float* out) {
  int32_t j = 0;
  for (; j + JB <= columns; j += JB) {
    FilterTile<CB, JB>(positions, g, g_stride, x + j, x_stride, offset, scale, out + j, columns);
  }
  for (; j < columns; ++j) {
    FilterTile<CB, 1>(positions, g, g_stride, x + j, x_stride, offset, scale, out + j, columns);
  }
}

}  // namespace

void GradTransposeTimesInt8(int32_t positions, const float* grad, int32_t grad_stride,
                            int32_t c_begin, int32_t c_end, const int8_t* x, int32_t x_stride,
                            int32_t offset, int32_t columns, float scale, float* out) {
  int32_t c = c_begin;
  for (; c + 8 <= c_end; c += 8) {
    FilterTileRow<8, 2>(positions, grad + c, grad_stride, x, x_stride, offset, columns, scale,
                        out + (c - c_begin) * columns);
  }
  for (; c + kTile <= c_end; c += kTile) {
    FilterTileRow<kTile, kTile>(positions, grad + c, grad_stride, x, x_stride, offset, columns,
                                scale, out + (c - c_begin) * columns);
  }
  for (; c < c_end; ++c) {
    FilterTileRow<1, 8>(positions, grad + c, grad_stride, x, x_stride, offset, columns, scale,
                        out + (c - c_begin) * columns);
  }
}

}  // namespace tflm_train
